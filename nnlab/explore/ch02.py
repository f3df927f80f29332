"""Chapter 2 explorer: one activation function, its derivative, and what it can fit.

Pick an activation phi. The explorer shows phi and phi' side by side, and fits a
one-hidden-layer network

    f(x) = b2 + sum_j a_j * phi(w_j * x + b_j)

to a 1-D target on [-1, 1]. The hidden layer is the SAME for every activation (unit j
switches at the point c_j of an even grid, w_j = +-min(width/2, 12) so that neighbouring units
overlap, and b_j = -w_j c_j); only phi changes. The output layer is then fitted by least
squares, which is exact, deterministic and takes a millisecond, so what the picture
shows is what the activation itself contributes: kinks for ReLU, smooth steps for
sigmoid and tanh, and nothing but a straight line for the identity, because a network
without a non-linearity is linear (equation ch2-collapse). See chapter 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab._checks import check_positive_int
from nnlab.activations import (
    GELU,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Tanh,
    gelu,
    gelu_grad,
    leaky_relu,
    leaky_relu_grad,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    tanh,
    tanh_grad,
)
from nnlab.explore.ch01 import TARGETS
from nnlab.layers import Identity, Linear, Sequential
from nnlab.module import Module

__all__ = ["ACTIVATIONS", "TARGETS", "Activation", "ActivationFit", "draw_activation", "fit_activation"]

#: Cap on |w_j|: pre-activations stay within +-2 MAX_WEIGHT, where GELU's output is still a
#: normal float (beyond |z| ~ 37 it is subnormal, and least squares on subnormal numbers
#: is a hundred times slower).
MAX_WEIGHT = 12.0

#: The explorer's leaky-ReLU slope: PyTorch's default 0.01 would be invisible in a plot.
LEAKY_SLOPE = 0.1


@dataclass(frozen=True)
class Activation:
    """An activation as the explorer uses it: phi, phi' and a Module factory."""

    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]
    module: Callable[[], Module]
    label: str


#: The activations the explorer offers, by name.
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(relu, relu_grad, ReLU, "ReLU"),
    "leaky_relu": Activation(
        lambda z: leaky_relu(z, LEAKY_SLOPE),
        lambda z: leaky_relu_grad(z, LEAKY_SLOPE),
        lambda: LeakyReLU(LEAKY_SLOPE),
        f"leaky ReLU (slope {LEAKY_SLOPE})",
    ),
    "sigmoid": Activation(sigmoid, sigmoid_grad, Sigmoid, "sigmoid"),
    "tanh": Activation(tanh, tanh_grad, Tanh, "tanh"),
    "gelu": Activation(gelu, gelu_grad, GELU, "GELU"),
    "identity": Activation(lambda z: z, np.ones_like, Identity, "identity (no activation)"),
}


@dataclass(frozen=True)
class ActivationFit:
    """What :func:`fit_activation` returns.

    Attributes
    ----------
    net : Sequential
        ``Linear(1, width) -> activation -> Linear(width, 1)``, the fitted network.
    x, target, prediction : np.ndarray
        The grid on [-1, 1], the target and ``net(x)``, each of shape ``(n_points, 1)``.
    centres : np.ndarray
        Where each hidden unit switches (its pre-activation is 0), shape ``(width,)``.
    mse : float
        Mean squared error of the prediction on the grid.
    """

    net: Sequential
    x: np.ndarray
    target: np.ndarray
    prediction: np.ndarray
    centres: np.ndarray
    mse: float


def _check_choice(value: Any, options: dict[str, Any], what: str) -> str:
    if value not in options:
        raise ValueError(f"fit_activation: {what} must be one of {sorted(options)}; got {value!r}")
    return value


def fit_activation(
    activation: str, target: str = "wiggle", width: int = 8, *, n_points: int = 200
) -> ActivationFit:
    """Fit ``Linear(1, width) -> activation -> Linear(width, 1)`` to ``TARGETS[target]``.

    The hidden layer is fixed: unit j has weight w_j = (-1)^j min(width / 2, MAX_WEIGHT) and bias
    b_j = -w_j c_j, with centres c_j = -1 + (2j + 1) / width evenly inside [-1, 1]. The
    output layer solves  min ||H a + c 1 - y||^2  with H = phi(x W1^T + b1).

    Parameters
    ----------
    activation : str
        A key of :data:`ACTIVATIONS`.
    target : str
        A key of :data:`TARGETS` (the functions of chapter 1's explorer).
    width : int
        Number of hidden units, at least 1.
    n_points : int
        Size of the evenly spaced grid on [-1, 1] (at least 2).

    Returns
    -------
    ActivationFit
    """
    activation = _check_choice(activation, ACTIVATIONS, "activation")
    target = _check_choice(target, TARGETS, "target")
    width = check_positive_int(width, "width", "fit_activation")
    n_points = check_positive_int(n_points, "n_points", "fit_activation", minimum=2)
    x = np.linspace(-1.0, 1.0, n_points).reshape(-1, 1)
    y = TARGETS[target](x)

    centres = -1.0 + (2.0 * np.arange(width) + 1.0) / width
    # Alternating signs: half the units rise to the right, half to the left, so a
    # bounded activation can build bumps; |w| = width / 2 makes a unit's transition
    # about as wide as the spacing 2 / width of the centres (up to MAX_WEIGHT).
    weights = np.where(np.arange(width) % 2 == 0, 1.0, -1.0) * min(width / 2.0, MAX_WEIGHT)
    hidden = Linear(1, width)
    hidden.weight.value = weights.reshape(-1, 1)
    hidden.bias.value = -weights * centres
    output = Linear(width, 1)
    net = Sequential(hidden, ACTIVATIONS[activation].module(), output)

    features = net[:2](x)
    design = np.hstack([features, np.ones((n_points, 1))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    output.weight.value = coef[:-1].T.copy()
    output.bias.value = coef[-1].copy()

    prediction = net(x)
    mse = float(np.mean((prediction - y) ** 2))
    return ActivationFit(net=net, x=x, target=y, prediction=prediction, centres=centres, mse=mse)


def draw_activation(ax: Any, activation: str, target: str = "wiggle", width: int = 8) -> ActivationFit:
    """Two panels in the place of ``ax``: phi and phi' on the left, the fit on the right.

    phi is solid and phi' dashed; the target is a thick light line and the fit a thin
    dashed one on top (Okabe-Ito colours, never colour alone).

    ``ax`` is replaced by two Axes of the same subplot area (so the function fits
    :func:`nnlab.widgets.explorer`, which hands over a single Axes). Returns the
    :class:`ActivationFit` that was drawn.
    """
    fit = fit_activation(activation, target, width)
    act = ACTIVATIONS[activation]
    fig = ax.figure
    grid = ax.get_subplotspec().subgridspec(1, 2, width_ratios=[1, 1.5], wspace=0.3)
    ax.remove()
    left, right = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])

    z = np.linspace(-4, 4, 401)
    left.axhline(0, color="0.8", lw=0.8)
    left.plot(z, act.f(z), color="#0072B2", ls="-", label=r"$\phi(z)$")
    left.plot(z, act.df(z), color="#D55E00", ls="--", label=r"$\phi'(z)$")
    left.set_ylim(-1.5, 2.5)
    left.set_xlabel("z")
    left.set_title(act.label, fontsize="medium")
    left.legend(loc="upper left", fontsize="small")

    xs = fit.x[:, 0]
    right.plot(xs, fit.target[:, 0], color="#56B4E9", ls="-", lw=4, label=f"target: {target}")
    right.plot(xs, fit.prediction[:, 0], color="#D55E00", ls="--", lw=1.6, label=f"{width} units")
    right.set_ylim(-1.6, 1.6)
    right.set_xlabel("x")
    right.set_title(f"fit: mean squared error {fit.mse:.1e}", fontsize="medium")
    right.legend(loc="lower left", fontsize="small")
    return fit
