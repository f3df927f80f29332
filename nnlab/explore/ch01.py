"""Chapter 1 explorer: one hidden layer of ReLUs approximating a 1-D function.

A network with one hidden layer of ``width`` ReLU units and a linear output computes

    f(x) = b2 + sum_i w2_i * relu(w1_i * x + b1_i),

a continuous piecewise-linear function whose kinks sit where a unit switches on
(x = -b1_i / w1_i). :func:`fit_relu_network` places the kinks evenly over the interval
(hidden layer fixed; the first at the left end, where that unit is a straight line on the
whole interval and bends nothing) and fits the output layer by least squares, which is exact, fast
enough for a slider and deterministic. It shows what the universal approximation
theorem promises, that more units approximate better, without training by gradient
descent, which chapter 5 introduces. See chapter 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab._checks import check_positive_int
from nnlab.activations import ReLU
from nnlab.layers import Linear, Sequential

__all__ = ["TARGETS", "FitResult", "fit_relu_network", "draw_fit"]

#: The 1-D functions the explorer can approximate, on the interval [-1, 1].
TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": lambda x: np.sin(np.pi * x),
    "bump": lambda x: np.exp(-((x / 0.3) ** 2)),
    "step": lambda x: (x > 0.2).astype(float),
    "wiggle": lambda x: np.sin(3 * np.pi * x) * (1 - x**2),
}


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit_relu_network` returns.

    Attributes
    ----------
    net : Sequential
        ``Linear(1, width) -> ReLU -> Linear(width, 1)``, the fitted network.
    x : np.ndarray
        The grid the fit was made on, shape ``(n_points, 1)``.
    target : np.ndarray
        The function's values on the grid, shape ``(n_points, 1)``.
    prediction : np.ndarray
        ``net(x)``, shape ``(n_points, 1)``.
    kinks : np.ndarray
        Where each hidden unit switches on, shape ``(width,)``.
    mse : float
        Mean squared error of the prediction on the grid.
    """

    net: Sequential
    x: np.ndarray
    target: np.ndarray
    prediction: np.ndarray
    kinks: np.ndarray
    mse: float


def fit_relu_network(width: int, target: str = "sine", *, n_points: int = 400) -> FitResult:
    """Fit a one-hidden-layer ReLU network of ``width`` units to ``TARGETS[target]``.

    Hidden unit i computes relu(x - c_i) with kinks c_i = -1 + 2 i / width, i = 0, ..., width - 1.
    The first kink is at the left end x = -1, so on [-1, 1] the first unit is the straight
    line x + 1: it gives the fit its slope, and the network bends at the width - 1 interior
    kinks only. Doubling the width keeps every old kink. The output layer (weights and bias)
    is the least-squares solution of  min ||H w + b - y||^2,  H = relu(x W1^T + b1).

    Parameters
    ----------
    width : int
        Number of hidden units, at least 1.
    target : str
        A key of :data:`TARGETS`.
    n_points : int
        Size of the evenly spaced grid on [-1, 1] the fit is made on (at least 2).

    Returns
    -------
    FitResult
        The network, the grid, the target, the prediction, the kinks and the MSE.
    """
    width = check_positive_int(width, "width", "fit_relu_network")
    n_points = check_positive_int(n_points, "n_points", "fit_relu_network", minimum=2)
    if target not in TARGETS:
        raise ValueError(f"fit_relu_network: target must be one of {sorted(TARGETS)}; got {target!r}")
    x = np.linspace(-1.0, 1.0, n_points).reshape(-1, 1)
    y = TARGETS[target](x)

    kinks = -1.0 + 2.0 * np.arange(width) / width
    hidden = Linear(1, width)
    hidden.weight.value = np.ones((width, 1))
    hidden.bias.value = -kinks
    output = Linear(width, 1)
    net = Sequential(hidden, ReLU(), output)

    features = net[:2](x)  # H, shape (n_points, width)
    design = np.hstack([features, np.ones((n_points, 1))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    output.weight.value = coef[:-1].T.copy()
    output.bias.value = coef[-1].copy()

    prediction = net(x)
    mse = float(np.mean((prediction - y) ** 2))
    return FitResult(net=net, x=x, target=y, prediction=prediction, kinks=kinks, mse=mse)


def draw_fit(ax: Any, width: int, target: str = "sine") -> FitResult:
    """Draw the target, the fitted network and its interior kinks on a matplotlib Axes.

    The target is a thick light line, the network a thin dashed one on top of it, and
    each interior kink (where the fit bends) a round marker: they differ in width, line
    style and marker, not only in colour (Okabe-Ito colours of ``nnlab/book.mplstyle``).
    The first unit's kink at the left end, where nothing bends, is not marked.
    Returns the :class:`FitResult` that was drawn, so a caller (or a test) can read
    the numbers behind the picture.
    """
    fit = fit_relu_network(width, target)
    x = fit.x[:, 0]
    ax.plot(x, fit.target[:, 0], color="#56B4E9", ls="-", lw=4, label=f"target: {target}")
    ax.plot(x, fit.prediction[:, 0], color="#D55E00", ls="--", lw=1.6,
            label=f"network, {width} ReLU units")
    interior = fit.kinks[fit.kinks > x[0]]
    kink_values = fit.net(interior.reshape(-1, 1))[:, 0]
    ax.plot(interior, kink_values, "o", color="#000000", ls="none", ms=3.5,
            label="kinks (the fit bends)")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(f"width {width}: mean squared error {fit.mse:.2e}")
    ax.legend(loc="lower left", fontsize="small")
    return fit
