"""Fixtures shared by the tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator, so every test is reproducible on its own."""
    return np.random.default_rng(0)


@pytest.fixture
def torch():
    """PyTorch, or a skip with the reason; CI installs torch==2.13.0 so these run there."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")
    torch.set_default_dtype(torch.float64)
    return torch
