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


@pytest.fixture(scope="session")
def built_book():
    """The book built into _build/html exactly as `make book` builds it; returns that path.

    Runs `jupyter-book build . -W -n --keep-going` (fast when nothing changed) after making
    sure the site's own JavaScript is in _vendor/ (`npm ci` + scripts/vendor_assets.py, as
    `make assets` does). Fails if the build fails or prints any warning.
    """
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    if not (root / "_vendor" / "mathjax" / "tex-mml-chtml.js").exists():
        if not (root / "node_modules").is_dir():
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("the book needs its JavaScript assets: install Node.js/npm, then `make assets`")
            subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=root, check=True)
        subprocess.run([sys.executable, "scripts/vendor_assets.py"], cwd=root, check=True)
    build = subprocess.run(
        [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
         "build", ".", "-W", "-n", "--keep-going"],
        cwd=root, capture_output=True, text=True, timeout=900,
    )
    output = build.stdout + build.stderr
    assert build.returncode == 0, f"jupyter-book build failed:\n{output[-5000:]}"
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert not warnings, "the book build printed warnings:\n" + "\n".join(warnings)
    return root / "_build" / "html"
