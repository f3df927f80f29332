"""One gradient check over every layer, activation and loss of nnlab (chapter 4).

Each backward pass is compared with central differences in float64; a relative error
above 1e-7 fails. A last test makes sure that no Module exported by nnlab is missing
from the list, so a new layer cannot skip the check.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pytest

import nnlab
from nnlab import activations as act
from nnlab.gradcheck import check_function, check_loss, check_module

TOL = 1e-7


def away_from_kink(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """|x| in [0.1, 2]: central differences across ReLU's kink at 0 would be meaningless."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


def normal(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return scale * rng.standard_normal(shape)


def with_random_affine(module: nnlab.Module, rng: np.random.Generator) -> nnlab.Module:
    """Normalization layers start at gamma = 1, beta = 0; random values test more of backward."""
    module.weight.value[...] = rng.uniform(0.5, 1.5, module.weight.shape)
    module.bias.value[...] = rng.standard_normal(module.bias.shape)
    return module


def batchnorm(training: bool, rng: np.random.Generator) -> nnlab.BatchNorm1d:
    bn = with_random_affine(nnlab.BatchNorm1d(4), rng)
    bn.running_mean[...] = rng.standard_normal(4)
    bn.running_var[...] = rng.uniform(0.5, 2.0, 4)
    return bn.train(training)


@dataclass
class ModuleCase:
    build: Callable[[np.random.Generator], nnlab.Module]
    make_input: Callable[[np.random.Generator], np.ndarray]


@dataclass
class LossCase:
    build: Callable[[], Any]
    make_pred: Callable[[np.random.Generator], np.ndarray]
    make_target: Callable[[np.random.Generator], np.ndarray]


MODULES: dict[str, ModuleCase] = {
    "Linear": ModuleCase(lambda r: nnlab.Linear(4, 3, rng=r), lambda r: normal(r, (5, 4))),
    "Linear-no-bias": ModuleCase(
        lambda r: nnlab.Linear(4, 3, bias=False, rng=r), lambda r: normal(r, (5, 4))
    ),
    "Sequential-MLP": ModuleCase(
        lambda r: nnlab.Sequential(
            nnlab.Linear(4, 6, rng=r),
            nnlab.Tanh(),
            nnlab.Linear(6, 5, rng=r),
            nnlab.Sigmoid(),
            nnlab.Linear(5, 2, rng=r),
        ),
        lambda r: normal(r, (5, 4)),
    ),
    "mlp-batchnorm-residual-dropout": ModuleCase(
        lambda r: nnlab.mlp(
            [4, 6, 6, 3], activation="tanh", norm="batch", residual=True, dropout=0.2, rng=r
        ),
        lambda r: normal(r, (6, 4)),
    ),
    "Identity": ModuleCase(lambda r: nnlab.Identity(), lambda r: normal(r, (3, 4))),
    "Residual": ModuleCase(
        lambda r: nnlab.Residual(nnlab.Sequential(nnlab.Linear(4, 4, rng=r), nnlab.Tanh())),
        lambda r: normal(r, (5, 4)),
    ),
    "Residual-projection": ModuleCase(
        lambda r: nnlab.Residual(
            nnlab.Sequential(nnlab.Linear(4, 3, rng=r), nnlab.Tanh()),
            shortcut=nnlab.Linear(4, 3, bias=False, rng=r),
        ),
        lambda r: normal(r, (5, 4)),
    ),
    "Dropout-train": ModuleCase(lambda r: nnlab.Dropout(0.4, rng=r), lambda r: normal(r, (5, 4))),
    "Dropout-eval": ModuleCase(
        lambda r: nnlab.Dropout(0.4, rng=r).eval(), lambda r: normal(r, (5, 4))
    ),
    "ReLU": ModuleCase(lambda r: nnlab.ReLU(), lambda r: away_from_kink(r, (5, 4))),
    "LeakyReLU": ModuleCase(lambda r: nnlab.LeakyReLU(0.1), lambda r: away_from_kink(r, (5, 4))),
    "Sigmoid": ModuleCase(lambda r: nnlab.Sigmoid(), lambda r: normal(r, (5, 4), 3.0)),
    "Tanh": ModuleCase(lambda r: nnlab.Tanh(), lambda r: normal(r, (5, 4), 2.0)),
    "GELU-exact": ModuleCase(lambda r: nnlab.GELU(), lambda r: normal(r, (5, 4), 2.0)),
    "GELU-tanh": ModuleCase(
        lambda r: nnlab.GELU(approximate="tanh"), lambda r: normal(r, (5, 4), 2.0)
    ),
    "Softmax": ModuleCase(lambda r: nnlab.Softmax(), lambda r: normal(r, (5, 4), 2.0)),
    "Softmax-dim0": ModuleCase(lambda r: nnlab.Softmax(dim=0), lambda r: normal(r, (5, 4), 2.0)),
    "BatchNorm1d-train": ModuleCase(partial(batchnorm, True), lambda r: normal(r, (6, 4), 2.0)),
    "BatchNorm1d-eval": ModuleCase(partial(batchnorm, False), lambda r: normal(r, (6, 4), 2.0)),
    "LayerNorm": ModuleCase(
        lambda r: with_random_affine(nnlab.LayerNorm(4), r), lambda r: normal(r, (5, 4), 2.0)
    ),
}

LOSSES: dict[str, LossCase] = {
    "MSELoss": LossCase(nnlab.MSELoss, lambda r: normal(r, (5, 3)), lambda r: normal(r, (5, 3))),
    "CrossEntropyLoss": LossCase(
        nnlab.CrossEntropyLoss, lambda r: normal(r, (6, 4), 2.0), lambda r: r.integers(0, 4, 6)
    ),
    "BCEWithLogitsLoss-labels": LossCase(
        nnlab.BCEWithLogitsLoss,
        lambda r: normal(r, (5, 3), 2.0),
        lambda r: r.integers(0, 2, (5, 3)).astype(float),
    ),
    "BCEWithLogitsLoss-probabilities": LossCase(
        nnlab.BCEWithLogitsLoss, lambda r: normal(r, (5, 3), 2.0), lambda r: r.uniform(0, 1, (5, 3))
    ),
}

FUNCTIONS: dict[str, tuple[Callable, Callable, Callable]] = {
    "relu": (act.relu, act.relu_grad, away_from_kink),
    "leaky_relu": (act.leaky_relu, act.leaky_relu_grad, away_from_kink),
    "sigmoid": (act.sigmoid, act.sigmoid_grad, partial(normal, scale=3.0)),
    "tanh": (act.tanh, act.tanh_grad, partial(normal, scale=2.0)),
    "gelu-exact": (act.gelu, act.gelu_grad, partial(normal, scale=2.0)),
    "gelu-tanh": (
        partial(act.gelu, approximate="tanh"),
        partial(act.gelu_grad, approximate="tanh"),
        partial(normal, scale=2.0),
    ),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_module_backward_matches_central_differences(name: str) -> None:
    rng = np.random.default_rng(0)
    case = MODULES[name]
    report = check_module(case.build(rng), case.make_input(rng), rng=rng)
    report.assert_ok(TOL)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_backward_matches_central_differences(name: str) -> None:
    rng = np.random.default_rng(0)
    case = LOSSES[name]
    report = check_loss(case.build(), case.make_pred(rng), case.make_target(rng))
    report.assert_ok(TOL)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_activation_derivative_matches_central_differences(name: str) -> None:
    f, df, draw = FUNCTIONS[name]
    check_function(f, df, draw(np.random.default_rng(0), (50,))).assert_ok(TOL)


def test_every_exported_module_is_gradient_checked() -> None:
    exported = {
        obj
        for name, obj in vars(nnlab).items()
        if not name.startswith("_")
        and inspect.isclass(obj)
        and issubclass(obj, nnlab.Module)
        and obj is not nnlab.Module
    }
    rng = np.random.default_rng(0)
    covered = {type(case.build(rng)) for case in MODULES.values()}
    covered |= {type(case.build()) for case in LOSSES.values()}
    missing = sorted(cls.__name__ for cls in exported - covered)
    assert not missing, f"add a gradient check to tests/test_gradients.py for {missing}"
