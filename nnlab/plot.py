"""The book's figures: loss curves, decision boundaries, per-layer histograms, gradient norms.

Each function draws on a matplotlib ``Axes`` (a new figure when ``ax`` is None) and
returns what it drew on, so a notebook can add titles or combine panels. None of them
calls ``plt.show()``: notebooks display figures themselves, and scripts decide when.
The numbers come from the pure functions of :mod:`nnlab.train` and
:mod:`nnlab.diagnostics`; this module only draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgba

from nnlab._checks import as_array, check_positive_int
from nnlab.diagnostics import LayerStats
from nnlab.module import Module
from nnlab.train import History

__all__ = ["CLASS_MARKERS", "plot_history", "plot_decision_boundary", "plot_layer_histograms", "plot_gradient_norms"]


# One marker per class, so that classes differ in shape as well as colour.
CLASS_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _class_colors(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` colours from the current style's cycle (the book's Okabe-Ito palette), repeated."""
    cycle = [to_rgba(c) for c in plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])]
    return [cycle[k % len(cycle)] for k in range(n)]


def plot_history(history: History, ax: Axes | Sequence[Axes] | None = None) -> Axes | np.ndarray:
    """Loss curves (train and validation) and, when recorded, accuracy curves.

    Parameters
    ----------
    history : History
        As returned by :func:`nnlab.train.fit`.
    ax : Axes, pair of Axes, or None
        Where to draw. None: a new figure with one panel (loss), or two side by side
        (loss, accuracy) when the history has accuracies. A single Axes: the losses
        only. Two Axes: losses on the first, accuracies on the second.

    Returns
    -------
    Axes or np.ndarray of two Axes
        The loss panel, or both panels. The best epoch (lowest validation loss) is
        marked with a dotted vertical line on the loss panel.

    See chapter 5 (reading learning curves) and chapter 10 (the over-fitting gap).
    """
    if not isinstance(history, History):
        raise TypeError(f"plot_history expected a History (from fit); got {type(history).__name__}")
    has_accuracy = bool(history.train_accuracy or history.val_accuracy)
    if ax is None:
        n_panels = 2 if has_accuracy else 1
        _, axes = plt.subplots(1, n_panels, figsize=(5 * n_panels, 3.5), squeeze=False)
        axes = axes[0]
    elif isinstance(ax, Axes):
        axes = np.array([ax])
    else:
        axes = np.asarray(ax, dtype=object).ravel()
        if len(axes) != 2:
            raise ValueError(f"plot_history expected one Axes or two; got {len(axes)}")

    epochs = np.arange(1, history.epochs + 1)
    loss_ax = axes[0]
    loss_ax.plot(epochs, history.train_loss, label="train")
    if history.val_loss:
        loss_ax.plot(epochs[: len(history.val_loss)], history.val_loss, label="validation")
    if history.best_epoch is not None:
        loss_ax.axvline(history.best_epoch + 1, color="grey", linestyle=":", label="best epoch")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("Loss")
    loss_ax.legend()

    if len(axes) == 2:
        acc_ax = axes[1]
        for values, label in ((history.train_accuracy, "train"), (history.val_accuracy, "validation")):
            if values:
                acc_ax.plot(epochs[: len(values)], values, label=label)
        acc_ax.set_xlabel("epoch")
        acc_ax.set_ylabel("accuracy")
        acc_ax.set_title("Accuracy")
        if has_accuracy:
            acc_ax.legend()
        return axes
    return loss_ax


def plot_decision_boundary(
    model: Module,
    X: Any,
    y: Any,
    ax: Axes | None = None,
    resolution: int = 200,
    padding: float = 0.5,
) -> Axes:
    """Colour the plane by the class the model predicts, and plot the data on top.

    The model is evaluated (in eval mode; its mode is restored) on a
    ``resolution x resolution`` grid spanning the data plus ``padding``. The predicted
    class is argmax of the outputs when the model has several, and [output > 0] when it
    has one (a logit, as for ``BCEWithLogitsLoss``).

    Parameters
    ----------
    model : Module
        Maps ``(n, 2)`` to ``(n, k)``.
    X : array_like, shape (n, 2)
    y : array_like, shape (n,) or (n, 1)
        Integer class labels, used to colour the points.
    ax : Axes or None
    resolution : int
        Grid points per axis.
    padding : float
        Margin around the data, in input units.

    Returns
    -------
    Axes
        With one filled contour set (the regions), the boundaries between them as black
        lines, and one scatter collection per class, each with its own marker
        (:data:`CLASS_MARKERS`) and colour, and a legend.

    See chapter 1 (what one hidden layer can draw) and chapter 10 (over-fitting).
    """
    X = as_array(X, "plot_decision_boundary")
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary expected X of shape (n, 2); got {X.shape}")
    resolution = check_positive_int(resolution, "resolution", "plot_decision_boundary", minimum=2)
    y = np.asarray(y).ravel()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(X.dtype, copy=False)
    was_training = model.training
    model.eval()
    try:
        out = np.asarray(model(grid))
    finally:
        model.train(was_training)
    out = out.reshape(len(grid), -1)
    predicted = out.argmax(axis=1) if out.shape[1] > 1 else (out[:, 0] > 0).astype(np.int64)
    n_classes = int(max(out.shape[1], 2, y.max() + 1 if y.size else 0))
    levels = np.arange(n_classes + 1) - 0.5  # one band per class, centred on its label
    colors = _class_colors(n_classes)
    cmap = ListedColormap(colors)
    ax.contourf(xx, yy, predicted.reshape(xx.shape), levels=levels, cmap=cmap, alpha=0.25,
                vmin=-0.5, vmax=n_classes - 0.5)
    # The boundaries as lines and one marker per class: colour is never the only cue.
    ax.contour(xx, yy, predicted.reshape(xx.shape), levels=levels[1:-1], colors="black",
               linewidths=0.8)
    for label in np.unique(y).astype(int):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], color=colors[label % len(colors)],
                   marker=CLASS_MARKERS[label % len(CLASS_MARKERS)], s=14, edgecolors="black",
                   linewidths=0.3, label=f"class {label}")
    ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def plot_layer_histograms(
    stats: Sequence[LayerStats],
    axes: Sequence[Axes] | None = None,
    bins: int = 50,
    sharex: bool = True,
) -> np.ndarray:
    """One histogram of activation values per layer, left to right, input to output.

    Parameters
    ----------
    stats : sequence of LayerStats
        From :func:`nnlab.diagnostics.activation_stats`.
    axes : sequence of Axes or None
        One per layer; None makes a new row of panels.
    bins : int
        Histogram bins per layer.
    sharex : bool
        Use one x range for all panels (with new axes), so spreads can be compared.

    Returns
    -------
    np.ndarray of Axes
        One per layer; each panel is titled with the layer and its mean and std, and
        holds ``bins`` bars.

    See chapter 6: with a poor initialization the histograms collapse to a spike at 0
    (vanishing) or pile up at +-1 (saturated tanh) as depth grows.
    """
    stats = list(stats)
    if not stats or not all(isinstance(s, LayerStats) for s in stats):
        raise TypeError("plot_layer_histograms expected a non-empty list of LayerStats "
                        "(from nnlab.diagnostics.activation_stats)")
    bins = check_positive_int(bins, "bins", "plot_layer_histograms")
    if axes is None:
        _, axes = plt.subplots(1, len(stats), figsize=(2.2 * len(stats), 2.4), sharex=sharex,
                               squeeze=False)
        axes = axes[0]
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) != len(stats):
        raise ValueError(
            f"plot_layer_histograms expected one Axes per layer ({len(stats)}); got {len(axes)}"
        )
    if sharex:
        low = min(float(s.values.min()) for s in stats)
        high = max(float(s.values.max()) for s in stats)
        hist_range = (low, high) if high > low else (low - 0.5, high + 0.5)
    for ax, s in zip(axes, stats):
        values = s.values.ravel()
        ax.hist(values, bins=bins, range=hist_range if sharex else None, color="C0")
        ax.set_title(f"{s.name}\nmean {s.mean:.2g}, std {s.std:.2g}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    return axes


def plot_gradient_norms(
    norms: Sequence[tuple[str, float]] | Mapping[str, Sequence[tuple[str, float]]],
    ax: Axes | None = None,
    log: bool = True,
) -> Axes:
    """Gradient norm of each Linear layer's weight against depth, on a log scale.

    Parameters
    ----------
    norms : list of (name, norm), or a mapping label -> such a list
        From :func:`nnlab.diagnostics.gradient_norms`. A mapping draws one line per
        network, to compare e.g. initializations on one plot.
    ax : Axes or None
    log : bool
        Logarithmic y axis: vanishing gradients are geometric, so they show as lines.

    Returns
    -------
    Axes
        With one line per network.

    See chapter 6.
    """
    series = dict(norms) if isinstance(norms, Mapping) else {"": norms}
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for label, values in series.items():
        values = list(values)
        depth = np.arange(1, len(values) + 1)
        ax.plot(depth, [v for _, v in values], marker="o", markersize=3, label=label or None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("layer (input to output)")
    ax.set_ylabel(r"$\|\partial L / \partial W\|_F$")
    ax.set_title("Gradient norm per layer")
    if len(series) > 1 or "" not in series:
        ax.legend()
    return ax
