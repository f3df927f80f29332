"""Tests of nnlab.plot: each function returns its Axes, draws what it says, never shows."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import nnlab  # noqa: E402
from nnlab.datasets import moons, spirals  # noqa: E402
from nnlab.diagnostics import activation_stats, gradient_norms  # noqa: E402
from nnlab.plot import (  # noqa: E402
    plot_decision_boundary,
    plot_gradient_norms,
    plot_history,
    plot_layer_histograms,
)
from nnlab.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    def show(*args, **kwargs):
        raise AssertionError("nnlab.plot must never call plt.show()")

    monkeypatch.setattr(plt, "show", show)
    yield
    plt.close("all")


def _history(accuracy: bool = True, val: bool = True) -> History:
    h = History(train_loss=[1.0, 0.6, 0.4], best_epoch=1 if val else None)
    if val:
        h.val_loss = [1.1, 0.8, 0.9]
    if accuracy:
        h.train_accuracy = [0.5, 0.7, 0.8]
        if val:
            h.val_accuracy = [0.45, 0.65, 0.6]
    return h


def test_plot_history_with_accuracy_gives_two_panels():
    axes = plot_history(_history())
    assert isinstance(axes, np.ndarray) and len(axes) == 2
    loss_ax, acc_ax = axes
    assert all(isinstance(ax, Axes) for ax in axes)
    assert len(loss_ax.lines) == 3  # train, validation, best-epoch marker
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), [1.1, 0.8, 0.9])
    np.testing.assert_array_equal(loss_ax.lines[2].get_xdata(), [2, 2])  # epoch index 1 -> 2
    assert len(acc_ax.lines) == 2
    assert acc_ax.get_ylabel() == "accuracy"


def test_plot_history_regression_on_a_given_axes():
    fig, ax = plt.subplots()
    out = plot_history(_history(accuracy=False, val=False), ax=ax)
    assert out is ax
    assert len(ax.lines) == 1
    assert len(fig.axes) == 1


def test_plot_history_without_accuracy_gives_one_panel():
    ax = plot_history(_history(accuracy=False))
    assert isinstance(ax, Axes) and len(ax.lines) == 3


def test_plot_history_on_two_given_axes_and_bad_input():
    _, axes = plt.subplots(1, 2)
    out = plot_history(_history(), ax=axes)
    assert list(out) == list(axes)
    with pytest.raises(ValueError, match="one Axes or two"):
        plot_history(_history(), ax=list(plt.subplots(1, 3)[1]))
    with pytest.raises(TypeError, match="expected a History"):
        plot_history({"train_loss": [1.0]})


def test_plot_decision_boundary_multiclass():
    X, y = spirals(n_samples=90, rng=0)
    model = nnlab.mlp([2, 16, 3], rng=0)
    ax = plot_decision_boundary(model, X, y, resolution=50)
    assert isinstance(ax, Axes)
    assert len(ax.collections) >= 2  # the filled regions and the points
    points = [c for c in ax.collections if c.get_label().startswith("class ")]
    assert len(points) == 3, "one scatter per class"
    markers = {tuple(map(tuple, c.get_paths()[0].vertices.round(6))) for c in points}
    assert len(markers) == 3, "each class has its own marker: colour is never the only cue"
    shown = np.concatenate([c.get_offsets() for c in points])
    np.testing.assert_allclose(np.sort(shown, axis=0), np.sort(X, axis=0))
    assert ax.get_xlim()[0] < X[:, 0].min() and ax.get_xlim()[1] > X[:, 0].max()
    assert model.training, "the model's mode is restored"


def test_plot_decision_boundary_binary_logit_matches_the_model():
    X, y = moons(n_samples=40, rng=0)
    model = nnlab.mlp([2, 8, 1], rng=0)
    fig, ax = plt.subplots()
    assert plot_decision_boundary(model, X, y, ax=ax, resolution=20) is ax
    contour = [c for c in ax.collections if len(c.get_offsets()) != len(X)]
    assert contour, "a filled contour was drawn"
    with pytest.raises(ValueError, match=r"X of shape \(n, 2\)"):
        plot_decision_boundary(model, np.ones((4, 3)), np.zeros(4))


def test_plot_layer_histograms_one_panel_per_layer_with_bins_bars():
    X, _ = spirals(n_samples=60, rng=0)
    stats = activation_stats(nnlab.mlp([2, 8, 8, 8, 3], "tanh", rng=0), X)
    axes = plot_layer_histograms(stats, bins=20)
    assert len(axes) == 3
    for ax, s in zip(axes, stats):
        assert isinstance(ax, Axes)
        assert len(ax.patches) == 20
        assert sum(p.get_height() for p in ax.patches) == s.values.size
        assert s.name in ax.get_title()
    with pytest.raises(ValueError, match="one Axes per layer"):
        plot_layer_histograms(stats, axes=[plt.subplots()[1]])


def test_plot_gradient_norms_single_and_compared():
    X, y = spirals(n_samples=60, rng=0)
    sigmoid_net = nnlab.mlp([2, 8, 8, 3], "sigmoid", rng=0)
    norms = gradient_norms(sigmoid_net, nnlab.CrossEntropyLoss(), X, y)
    ax = plot_gradient_norms(norms)
    assert isinstance(ax, Axes) and len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [n for _, n in norms])
    assert ax.get_yscale() == "log"
    other = gradient_norms(nnlab.mlp([2, 8, 8, 3], "relu", rng=0), nnlab.CrossEntropyLoss(), X, y)
    ax = plot_gradient_norms({"sigmoid": norms, "relu": other}, log=False)
    assert len(ax.lines) == 2 and ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sigmoid", "relu"]
