"""Chapter 6: the deep network of chapters 6-9 and the flagship explorer over it.

Chapters 6 (vanishing and exploding gradients), 7 (initialization), 8 (normalization)
and 9 (residual connections) all study ONE network, so that each fix is seen on the
network that failed without it: :func:`deep_network`, an MLP of ``depth`` Linear
layers of width 32 on standardised 8x8 digits (64 inputs, 10 classes, the batch of
:func:`digits_batch`). The diagnostics of ``tests/test_diagnostics.py`` are measured
on exactly this network (depth 20).

:func:`layer_profile` runs one forward and one backward pass of it for a choice of
depth, initialization, activation, normalization and residual connections, and
returns the per-layer statistics of the chapter: activation standard deviations and
the gradient norm of every Linear weight. :func:`draw_profile` draws them in two
panels; :func:`diagnose` reads the norms as the chapter does (vanishing, exploding
or healthy). See chapter 6.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np

from nnlab import init as nn_init
from nnlab._checks import check_positive_int
from nnlab.data import Standardizer
from nnlab.datasets import load_digits
from nnlab.diagnostics import activation_stats, gradient_norms
from nnlab.layers import Sequential, mlp
from nnlab.losses import CrossEntropyLoss

__all__ = [
    "ACTIVATIONS",
    "EXPLODE_RATIO",
    "HUGE_NORM",
    "INITS",
    "NORMS",
    "TINY_NORM",
    "VANISH_RATIO",
    "LayerProfile",
    "deep_network",
    "diagnose",
    "digits_batch",
    "draw_layer_panels",
    "draw_profile",
    "layer_profile",
]

#: The initializations the chapter compares, by the name the explorer shows.
INITS: dict[str, Callable[..., np.ndarray] | str] = {
    "zeros": "zeros",
    "N(0, 1)": partial(nn_init.normal, std=1.0),
    "N(0, 0.01^2)": partial(nn_init.normal, std=0.01),
    "Xavier": "xavier_normal",
    "He": "he_normal",
}
ACTIVATIONS = ("sigmoid", "tanh", "relu")
#: ``"none"`` stands for no normalization (``norm=None`` of :func:`nnlab.mlp`).
NORMS = ("none", "batch", "layer")

#: Rules of thumb of chapter 6 (see :func:`diagnose`).
VANISH_RATIO = 1e-3
EXPLODE_RATIO = 1e3
TINY_NORM = 1e-8
HUGE_NORM = 1e4

WIDTH = 32
N_INPUTS = 64
N_CLASSES = 10


def _choice(value: Any, options: Sequence[str], what: str, who: str) -> str:
    if value not in options:
        raise ValueError(f"{who} expected {what} in {list(options)}; got {value!r}")
    return value


@lru_cache(maxsize=4)
def _digits_batch(n: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits()
    X = Standardizer().fit_transform(X)[:n]
    X.flags.writeable = False
    y = y[:n].copy()
    y.flags.writeable = False
    return X, y


def digits_batch(n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The fixed batch the chapter measures on: the first ``n`` digits, standardised.

    Returns
    -------
    X : np.ndarray, shape (n, 64)
        Pixels standardised to mean 0 and variance 1 per pixel (over all 1797 digits).
    y : np.ndarray, shape (n,)
        Labels 0..9.

    The same batch as ``tests/test_diagnostics.py`` (``n=256``). The arrays are
    read-only copies shared between calls. See chapter 6.
    """
    n = check_positive_int(n, "n", "digits_batch")
    if n > 1797:
        raise ValueError(f"digits_batch expected n <= 1797 (the size of the data set); got {n}")
    return _digits_batch(n)


def deep_network(
    depth: int = 20,
    activation: str = "sigmoid",
    init: str = "Xavier",
    norm: str | None = None,
    residual: bool = False,
    *,
    width: int = WIDTH,
    rng: Any = 0,
) -> Sequential:
    """The deep MLP of chapters 6-9: ``depth`` Linear layers, 64 -> width x (depth-1) -> 10.

    Built with :func:`nnlab.mlp` (sizes ``[64] + [width] * (depth - 1) + [10]``): every
    hidden layer is ``Linear -> [norm] -> activation``, or with ``residual=True`` a
    pre-norm block ``x + activation(Linear(norm(x)))``.

    Parameters
    ----------
    depth : int
        Number of Linear layers (at least 2); chapter 6 uses 20, the tests also 30.
    activation : {"sigmoid", "tanh", "relu"}
    init : str
        A key of :data:`INITS` ("zeros", "N(0, 1)", "N(0, 0.01^2)", "Xavier", "He").
    norm : {None, "none", "batch", "layer"}
    residual : bool
    width : int
        Width of the hidden layers.
    rng : Generator, int or None
        Seed of the weights (0 by default, so the network is the same every time).

    Returns
    -------
    Sequential
        Input ``(batch, 64)``, output ``(batch, 10)`` logits. See chapter 6.
    """
    who = "deep_network"
    depth = check_positive_int(depth, "depth", who, minimum=2)
    width = check_positive_int(width, "width", who)
    _choice(activation, ACTIVATIONS, "activation", who)
    _choice(init, list(INITS), "init", who)
    norm = None if norm is None else _choice(norm, NORMS, "norm", who)
    sizes = [N_INPUTS] + [width] * (depth - 1) + [N_CLASSES]
    return mlp(sizes, activation, init=INITS[init], norm=None if norm == "none" else norm,
               residual=bool(residual), rng=rng)


def diagnose(norms: Sequence[float]) -> tuple[float, str]:
    """Read per-layer gradient norms (input to output) as chapter 6 does.

    ratio = norms[0] / norms[-1]; then, in this order,

    - ``"vanishing"`` if ratio < VANISH_RATIO (1e-3) or max(norms) < TINY_NORM (1e-8):
      the first layer hears a thousand times less than the last, or no layer hears
      anything (a signal that died on the way forward makes every norm tiny, while the
      ratio stays near 1);
    - ``"exploding"`` if ratio > EXPLODE_RATIO (1e3) or max(norms) > HUGE_NORM (1e4);
    - ``"healthy"`` otherwise.

    Parameters
    ----------
    norms : sequence of float, length >= 1
        E.g. the values of :func:`nnlab.diagnostics.gradient_norms`.

    Returns
    -------
    (float, str)
        The ratio (0 if the first norm is 0, inf if only the last one is, nan if both)
        and the verdict. See chapter 6.
    """
    values = np.asarray(norms, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"diagnose expected a non-empty 1-D list of norms; got shape {values.shape}")
    first, last = values[0], values[-1]
    if last == 0.0:
        ratio = float("nan") if first == 0.0 else float("inf")
    else:
        ratio = float(first / last)
    largest = float(values.max())
    if ratio < VANISH_RATIO or largest < TINY_NORM or (np.isnan(ratio) and largest == 0.0):
        return ratio, "vanishing"
    if ratio > EXPLODE_RATIO or largest > HUGE_NORM:
        return ratio, "exploding"
    return ratio, "healthy"


@dataclass(frozen=True)
class LayerProfile:
    """What :func:`layer_profile` measured, one entry per layer.

    Attributes
    ----------
    act_std, act_mean : np.ndarray, shape (depth - 1,)
        Standard deviation and mean of each hidden representation h^(l) over the batch
        (the output of each activation, or of each residual block).
    saturated : np.ndarray, shape (depth - 1,)
        Fraction of saturated units (sigmoid, tanh; see :mod:`nnlab.diagnostics`), or
        the fraction of zeros for ReLU.
    grad_norms : np.ndarray, shape (depth,)
        ||dL/dW_l||_F of each Linear layer, input to output.
    ratio : float
        grad_norms[0] / grad_norms[-1].
    verdict : str
        :func:`diagnose` of ``grad_norms``.
    loss : float
        The cross-entropy of the batch (ln 10 = 2.303 for a network that guesses).
    """

    depth: int
    activation: str
    init: str
    norm: str
    residual: bool
    act_std: np.ndarray
    act_mean: np.ndarray
    saturated: np.ndarray
    grad_norms: np.ndarray
    ratio: float
    verdict: str
    loss: float


def layer_profile(
    depth: int = 20,
    activation: str = "sigmoid",
    init: str = "Xavier",
    norm: str | None = "none",
    residual: bool = False,
    *,
    n: int = 256,
    seed: int = 0,
) -> LayerProfile:
    """One forward and one backward pass of :func:`deep_network` on :func:`digits_batch`.

    Pure: the same arguments give the same numbers. Takes about 0.1 s at depth 20.

    Parameters
    ----------
    depth, activation, init, norm, residual
        As :func:`deep_network`.
    n : int
        Batch size.
    seed : int
        Seed of the weights.

    Returns
    -------
    LayerProfile
        Per-layer activation statistics and gradient norms. See chapter 6.
    """
    norm = "none" if norm is None else norm
    model = deep_network(depth, activation, init, norm, residual, rng=seed)
    X, y = digits_batch(n)
    loss_fn = CrossEntropyLoss()
    # Saturating and exploding settings overflow exp() or multiply infinities on purpose;
    # the picture shows what becomes of them.
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        stats = activation_stats(model, X)
        names_norms = gradient_norms(model, loss_fn, X, y)
        loss = loss_fn(model(X), y)
    kind_sat = [s.zero_fraction if s.saturated_fraction is None else s.saturated_fraction
                for s in stats]
    norms = np.array([v for _, v in names_norms])
    ratio, verdict = diagnose(norms)
    return LayerProfile(
        depth=depth, activation=activation, init=init, norm=norm, residual=bool(residual),
        act_std=np.array([s.std for s in stats]),
        act_mean=np.array([s.mean for s in stats]),
        saturated=np.array(kind_sat, dtype=float),
        grad_norms=norms, ratio=ratio, verdict=verdict, loss=float(loss),
    )


def _positive(values: np.ndarray) -> np.ndarray:
    # A log axis cannot show 0 (zero init) or inf (an overflow): those points are left
    # out and said in words.
    return np.where((values > 0) & np.isfinite(values), values, np.nan)


def draw_layer_panels(
    ax: Any,
    act_std: np.ndarray,
    grad_norms: np.ndarray,
    *,
    left_title: str,
    right_title: str,
) -> tuple[Any, Any]:
    """Replace ``ax`` by two log-scale panels: std of h^(l) and ||dL/dW^(l)||_F per layer.

    ``act_std`` has one entry per hidden layer (depth - 1), ``grad_norms`` one per Linear
    layer (depth). Exact zeros cannot sit on a log axis: they are left out and said in
    words. Returns the two Axes (left, right), so a caller may add to them (chapter 7
    draws its prediction on the left). Used by the explorers of chapters 6 and 7.
    """
    fig = ax.figure
    grid = ax.get_subplotspec().subgridspec(1, 2, wspace=0.35)
    ax.remove()
    left, right = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])

    hidden = np.arange(1, len(act_std) + 1)
    std = _positive(np.asarray(act_std))
    left.plot(hidden, std, marker="o", markersize=3, color="C0", label="measured")
    left.set_yscale("log")
    left.set_xlabel("hidden layer l")
    left.set_ylabel(r"std of $h^{(l)}$")
    left.set_title(left_title, fontsize="medium")
    if np.all(np.isnan(std)):
        left.text(0.5, 0.5, "exactly 0 in every layer", transform=left.transAxes, ha="center")

    layers = np.arange(1, len(grad_norms) + 1)
    grads = _positive(np.asarray(grad_norms))
    right.plot(layers, grads, marker="o", markersize=3, color="C3")
    right.set_yscale("log")
    right.set_xlabel("Linear layer l")
    right.set_ylabel(r"$\|\partial \mathcal{L} / \partial W^{(l)}\|_F$")
    right.set_title(right_title, fontsize="medium")
    if np.all(np.isnan(grads)):
        right.text(0.5, 0.5, "exactly 0 in every layer", transform=right.transAxes, ha="center")
    elif np.any(np.isnan(grads)):
        zero = ", ".join(str(i) for i in layers[np.isnan(grads)][:6])
        more = ", ..." if np.isnan(grads).sum() > 6 else ""
        right.text(0.03, 0.05, f"exactly 0 in layer(s) {zero}{more}", transform=right.transAxes,
                   fontsize="small")
    return left, right


def _setting_words(activation: str, init: str, norm: str | None, residual: bool) -> list[str]:
    # The title names every setting that differs from the plain network, so a panel of a
    # normalized or residual network says so.
    words = [activation, init]
    if norm not in (None, "none"):
        words.append(f"{norm} norm")
    if residual:
        words.append("residual")
    return words


def draw_profile(
    ax: Any,
    activation: str = "sigmoid",
    init: str = "Xavier",
    norm: str | None = "none",
    residual: bool = False,
    depth: int = 20,
) -> LayerProfile:
    """Two panels in the place of ``ax``: activation std per layer, gradient norm per layer.

    Both on a log scale, against the layer index (input to output); the title of the
    right panel gives the ratio first/last and the verdict of :func:`diagnose`. ``ax``
    is replaced by two Axes of the same area, so the function fits
    :func:`nnlab.widgets.explorer`. Returns the :class:`LayerProfile` that was drawn.
    See chapter 6.
    """
    profile = layer_profile(depth, activation, init, norm, residual)
    draw_layer_panels(
        ax,
        profile.act_std,
        profile.grad_norms,
        left_title=f"activations ({', '.join(_setting_words(activation, init, norm, residual))})",
        right_title=f"gradients: ratio {profile.ratio:.1e}, {profile.verdict}",
    )
    return profile
