"""Chapter 8: what normalization does to the deep network, and how batch norm keeps its statistics.

Two explorers, each a pure function that returns numbers and a ``draw_*`` that plots them:

- :func:`running_statistics` feeds a stream of batches of one feature, drawn from a
  fixed distribution (mean :data:`STREAM_MEAN`, variance :data:`STREAM_VAR`), through an
  :class:`nnlab.BatchNorm1d` in training mode and records its running mean and running
  variance after every batch, next to the batch's own estimates. Batch size and momentum
  decide how fast and how noisily the running statistics, which eval mode uses, settle
  on the true ones; :func:`draw_running_statistics` plots them.
- :func:`norm_profiles` measures chapter 6's deep network
  (:func:`nnlab.explore.ch06.deep_network`) with no normalization, batch norm and layer
  norm: the gradient norm of every Linear weight (:func:`nnlab.explore.ch06.layer_profile`),
  and how much the hidden representations still differ from example to example
  (:func:`example_spread`). :func:`draw_norm_comparison` plots either.

:func:`draw_batchnorm_graph` draws the computational graph of batch normalization on
which the chapter derives the backward pass. See chapter 8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from nnlab._checks import check_positive_int, check_real
from nnlab.diagnostics import activation_stats
from nnlab.explore.ch06 import (
    ACTIVATIONS,
    INITS,
    NORMS,
    LayerProfile,
    deep_network,
    digits_batch,
    layer_profile,
)
from nnlab.normalization import BatchNorm1d

__all__ = [
    "STREAM_MEAN",
    "STREAM_VAR",
    "QUANTITIES",
    "RunningTrace",
    "Spread",
    "running_statistics",
    "draw_running_statistics",
    "example_spread",
    "norm_profiles",
    "draw_norm_comparison",
    "draw_batchnorm_graph",
]

#: The distribution of the feature that :func:`running_statistics` streams: N(2, 3^2).
STREAM_MEAN = 2.0
STREAM_VAR = 9.0

#: What :func:`draw_norm_comparison` can plot against the layer index.
QUANTITIES = ("gradient norm", "spread between examples")


def _choice(value: Any, options: Sequence[str], what: str, who: str) -> str:
    if value not in options:
        raise ValueError(f"{who} expected {what} in {list(options)}; got {value!r}")
    return value


@dataclass(frozen=True)
class RunningTrace:
    """What :func:`running_statistics` recorded; index t is "after t batches".

    Attributes
    ----------
    running_mean, running_var : np.ndarray, shape (steps + 1,)
        ``BatchNorm1d.running_mean`` and ``running_var`` (unbiased), starting at 0 and 1.
    biased_var : np.ndarray, shape (steps + 1,)
        The same moving average fed with the *biased* batch variances: what the running
        variance would be without PyTorch's factor N / (N - 1).
    batch_mean, batch_var : np.ndarray, shape (steps,)
        Each batch's own mean and biased variance (what train mode normalises with).
    true_mean, true_var : float
        The distribution's, :data:`STREAM_MEAN` and :data:`STREAM_VAR`.
    """

    batch_size: int
    momentum: float
    running_mean: np.ndarray
    running_var: np.ndarray
    biased_var: np.ndarray
    batch_mean: np.ndarray
    batch_var: np.ndarray
    true_mean: float = STREAM_MEAN
    true_var: float = STREAM_VAR


def running_statistics(
    batch_size: int = 32, momentum: float = 0.1, steps: int = 100, *, seed: int = 0
) -> RunningTrace:
    """Stream ``steps`` batches of N(2, 3^2) through ``BatchNorm1d(1, momentum=momentum)``.

    After each training-mode forward pass the layer has updated

        running_mean <- (1 - m) running_mean + m mu_B
        running_var  <- (1 - m) running_var  + m s_B^2 N / (N - 1)

    (m is the momentum, rho in the book) and the trace records both, with the batch
    statistics mu_B, s_B^2. Pure: the
    same arguments give the same trace. A few milliseconds for 300 steps.

    Parameters
    ----------
    batch_size : int
        N >= 2 (a batch of one has no variance; ``BatchNorm1d`` refuses it in train mode).
    momentum : float
        m in (0, 1].
    steps : int
        Number of batches.
    seed : int
        Seed of the stream.

    Returns
    -------
    RunningTrace
        See chapter 8.
    """
    who = "running_statistics"
    n = check_positive_int(batch_size, "batch_size", who, minimum=2)
    m = check_real(momentum, "momentum", who, low=0.0, high=1.0, low_inclusive=False)
    steps = check_positive_int(steps, "steps", who)
    rng = np.random.default_rng(seed)
    bn = BatchNorm1d(1, momentum=m)
    running_mean, running_var, biased_var = [0.0], [1.0], [1.0]
    batch_mean, batch_var = [], []
    for _ in range(steps):
        x = rng.normal(STREAM_MEAN, np.sqrt(STREAM_VAR), size=(n, 1))
        bn(x)
        batch_mean.append(float(x.mean()))
        batch_var.append(float(x.var()))
        running_mean.append(float(bn.running_mean[0]))
        running_var.append(float(bn.running_var[0]))
        biased_var.append((1.0 - m) * biased_var[-1] + m * batch_var[-1])
    return RunningTrace(
        batch_size=n, momentum=m,
        running_mean=np.array(running_mean), running_var=np.array(running_var),
        biased_var=np.array(biased_var),
        batch_mean=np.array(batch_mean), batch_var=np.array(batch_var),
    )


def draw_running_statistics(
    ax: Any, batch_size: int = 32, momentum: float = 0.1, steps: int = 100
) -> RunningTrace:
    """Two panels in the place of ``ax``: running mean and running variance against the step.

    Dots: each batch's estimate; solid line: the running statistic; dashed: the true
    value; dotted (right panel): the moving average of biased batch variances. Returns
    the :class:`RunningTrace` that was drawn. See chapter 8.
    """
    trace = running_statistics(batch_size, momentum, steps)
    fig = ax.figure
    grid = ax.get_subplotspec().subgridspec(1, 2, wspace=0.3)
    ax.remove()
    left, right = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    t = np.arange(trace.running_mean.size)
    panels = [
        (left, trace.batch_mean, trace.running_mean, trace.true_mean, "mean"),
        (right, trace.batch_var, trace.running_var, trace.true_var, "variance"),
    ]
    for panel, batch, running, true, what in panels:
        panel.plot(t[1:], batch, ".", color="0.6", markersize=3, label=f"batch {what}")
        panel.plot(t, running, color="C0", linestyle="-", label=f"running {what}")
        panel.axhline(true, color="k", linestyle="--", linewidth=1, label="true")
        panel.set_xlabel("batches seen")
        panel.set_title(f"running {what}: {running[-1]:.2f} (true {true:g})", fontsize="medium")
    right.plot(t, trace.biased_var, color="C1", linestyle=":", label="average of biased var")
    left.legend(fontsize="x-small", loc="lower right")
    right.legend(fontsize="x-small", loc="lower right")
    return trace


@dataclass(frozen=True)
class Spread:
    """How the hidden representations h^(l) vary, per hidden layer (input to output).

    Attributes
    ----------
    between : np.ndarray, shape (depth - 1,)
        Between examples: the standard deviation of each unit over the batch, averaged
        over the units. Near 0, every example has the same h^(l): the network can no
        longer tell its inputs apart.
    within : np.ndarray, shape (depth - 1,)
        Within an example: the standard deviation over the units of one example,
        averaged over the batch.
    mean : np.ndarray, shape (depth - 1,)
        The mean of h^(l) over the batch and the units: the part every example shares.
        Zero for a zero-centred activation such as tanh, about 1/2 for sigmoid.
    """

    between: np.ndarray
    within: np.ndarray
    mean: np.ndarray


@lru_cache(maxsize=64)
def example_spread(
    activation: str = "sigmoid", init: str = "Xavier", norm: str = "none", depth: int = 20
) -> Spread:
    """:class:`Spread` of the deep network's hidden layers on the 256 digits, in train mode.

    Built by :func:`nnlab.explore.ch06.deep_network` (seed 0); pure, and cached. See chapter 8.
    """
    model = deep_network(depth, activation, init, norm)
    X, _ = digits_batch()
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        stats = activation_stats(model, X)
    return Spread(
        between=np.array([s.values.std(axis=0).mean() for s in stats]),
        within=np.array([s.values.std(axis=1).mean() for s in stats]),
        mean=np.array([s.values.mean() for s in stats]),
    )


@lru_cache(maxsize=64)
def _profile(activation: str, init: str, norm: str, depth: int) -> LayerProfile:
    return layer_profile(depth, activation, init, norm)


def norm_profiles(
    activation: str = "sigmoid", init: str = "Xavier", depth: int = 20
) -> dict[str, LayerProfile]:
    """Chapter 6's :class:`~nnlab.explore.ch06.LayerProfile` for each of "none", "batch", "layer".

    The same network (seed 0) and batch as chapter 6; only the normalization differs.
    Cached, so the explorer redraws a setting it has seen at once. See chapter 8.
    """
    who = "norm_profiles"
    _choice(activation, ACTIVATIONS, "activation", who)
    _choice(init, list(INITS), "init", who)
    depth = check_positive_int(depth, "depth", who, minimum=2)
    return {norm: _profile(activation, init, norm, depth) for norm in NORMS}


_LABELS = {"none": "no normalization", "batch": "BatchNorm1d", "layer": "LayerNorm"}
# Each normalization has its own colour (Okabe-Ito, as in nnlab.book), line style and marker,
# so the three lines stay apart without colour.
_STYLES = {
    "none": {"color": "#D55E00", "linestyle": "--", "marker": "o"},
    "batch": {"color": "#0072B2", "linestyle": "-", "marker": "s"},
    "layer": {"color": "#009E73", "linestyle": "-.", "marker": "^"},
}


def draw_norm_comparison(
    ax: Any,
    activation: str = "sigmoid",
    init: str = "Xavier",
    depth: int = 20,
    quantity: str = "gradient norm",
) -> dict[str, np.ndarray]:
    """One line per normalization (none, batch, layer) against the layer index, log scale.

    ``quantity`` is "gradient norm" (||dL/dW_l||_F of every Linear layer; the legend
    gives the ratio first/last) or "spread between examples" (:attr:`Spread.between`
    of every hidden layer). Returns the plotted values by normalization. See chapter 8.
    """
    _choice(quantity, QUANTITIES, "quantity", "draw_norm_comparison")
    profiles = norm_profiles(activation, init, depth)
    drawn: dict[str, np.ndarray] = {}
    for norm, profile in profiles.items():
        if quantity == "gradient norm":
            values = profile.grad_norms
            label = f"{_LABELS[norm]} (ratio {profile.ratio:.1e})"
        else:
            values = example_spread(activation, init, norm, depth).between
            label = _LABELS[norm]
        drawn[norm] = values
        layers = np.arange(1, values.size + 1)
        ax.plot(layers, np.where(values > 0, values, np.nan), markersize=3, label=label,
                **_STYLES[norm])
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    if quantity == "gradient norm":
        ax.set_xlabel("Linear layer l")
        ax.set_ylabel(r"$\|\partial \mathcal{L} / \partial W^{(l)}\|_F$")
    else:
        ax.set_xlabel("hidden layer l")
        ax.set_ylabel("std of a unit over the batch")
    ax.set_title(f"{activation}, {init} init, depth {depth}", fontsize="medium")
    ax.legend(fontsize="x-small")
    return drawn


# Nodes of batch normalization's graph for one feature: (x, y) position and label.
_GRAPH_NODES = {
    "x": (0.0, 1.0, r"$x_i$"),
    "mu": (1.3, 2.0, r"$\mu$"),
    "xc": (2.6, 1.0, r"$x_i - \mu$"),
    "var": (3.9, 2.0, r"$s^2$"),
    "s": (5.2, 2.0, r"$\tau$"),
    "xhat": (6.5, 1.0, r"$\hat x_i$"),
    "y": (7.8, 1.0, r"$y_i$"),
    "gamma": (7.8, 2.0, r"$\gamma, \beta$"),
}
# Edges (from, to) with the local derivative d(to)/d(from) that the backward pass uses.
_GRAPH_EDGES = [
    ("x", "mu", r"$\frac{1}{N}$"),
    ("x", "xc", r"$1$"),
    ("mu", "xc", r"$-1$"),
    ("xc", "var", r"$\frac{2(x_i - \mu)}{N}$"),
    ("var", "s", r"$-\frac{1}{2}\tau^3$"),
    ("xc", "xhat", r"$\tau$"),
    ("s", "xhat", r"$x_i - \mu$"),
    ("xhat", "y", r"$\gamma$"),
    ("gamma", "y", ""),
]


def draw_batchnorm_graph(ax: Any) -> list[tuple[str, str]]:
    """Batch normalization of one feature as a computational graph, forward left to right.

    Each arrow carries (in italic, above it) the local derivative of its head with
    respect to its tail, the factor the backward pass multiplies by along it; tau is
    (s^2 + eps)^(-1/2). x_i reaches x_hat_i along three paths: directly, through mu, and
    through s^2 (which also depends on mu through x_i - mu). Returns the edges drawn.
    See chapter 8.
    """
    for name, (px, py, label) in _GRAPH_NODES.items():
        ax.text(px, py, label, ha="center", va="center", fontsize=11,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "0.3"})
    for tail, head, derivative in _GRAPH_EDGES:
        (x0, y0, _), (x1, y1, _) = _GRAPH_NODES[tail], _GRAPH_NODES[head]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "0.35", "shrinkA": 16, "shrinkB": 16})
        if derivative:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.17, derivative, color="#D55E00", ha="center",
                    va="bottom", fontsize=10)
    ax.set_xlim(-0.5, 8.4)
    ax.set_ylim(0.5, 2.6)
    ax.axis("off")
    return [(tail, head) for tail, head, _ in _GRAPH_EDGES]
