"""Chapter 8: the running-statistics explorer and the normalization comparison over a grid,
and the facts the lesson states about chapter 6's deep network with batch and layer norm."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.explore.ch06 import ACTIVATIONS, INITS, NORMS, layer_profile
from nnlab.explore.ch08 import (
    QUANTITIES,
    STREAM_MEAN,
    STREAM_VAR,
    draw_batchnorm_graph,
    draw_norm_comparison,
    draw_running_statistics,
    example_spread,
    norm_profiles,
    running_statistics,
)


@pytest.mark.parametrize("batch_size, momentum", itertools.product([2, 8, 64, 256], [0.01, 0.1, 0.5, 1.0]))
def test_running_statistics_follow_the_batchnorm_update(batch_size, momentum):
    t = running_statistics(batch_size, momentum, steps=30, seed=1)
    assert t.running_mean.shape == t.running_var.shape == t.biased_var.shape == (31,)
    assert t.batch_mean.shape == t.batch_var.shape == (30,)
    assert t.running_mean[0] == 0.0 and t.running_var[0] == 1.0
    n, m = batch_size, momentum
    # The recursion, step by step: the same as BatchNorm1d's (and torch's) update.
    np.testing.assert_allclose(t.running_mean[1:], (1 - m) * t.running_mean[:-1] + m * t.batch_mean)
    np.testing.assert_allclose(t.running_var[1:],
                               (1 - m) * t.running_var[:-1] + m * t.batch_var * n / (n - 1))
    np.testing.assert_allclose(t.biased_var[1:], (1 - m) * t.biased_var[:-1] + m * t.batch_var)
    if momentum == 1.0:  # only the last batch counts
        np.testing.assert_allclose(t.running_mean[-1], t.batch_mean[-1])


def test_running_statistics_converge_to_the_true_ones_and_the_unbiased_factor_matters():
    t = running_statistics(64, 0.1, steps=300, seed=0)
    assert abs(t.running_mean[100:].mean() - STREAM_MEAN) < 0.1
    assert abs(t.running_var[100:].mean() / STREAM_VAR - 1) < 0.05
    small = running_statistics(4, 0.1, steps=3000, seed=0)
    # With N = 4 the biased variances average to 3/4 of the truth; the running variance does not.
    assert abs(small.running_var[100:].mean() / STREAM_VAR - 1) < 0.05
    assert abs(small.biased_var[100:].mean() / STREAM_VAR - 0.75) < 0.05


def test_running_statistics_are_reproducible_and_validate():
    a, b = running_statistics(8, 0.2, 20), running_statistics(8, 0.2, 20)
    np.testing.assert_array_equal(a.running_var, b.running_var)
    with pytest.raises(ValueError, match="batch_size"):
        running_statistics(1)
    with pytest.raises(ValueError, match="momentum"):
        running_statistics(8, 0.0)


@pytest.mark.parametrize("batch_size, momentum, steps", [(2, 0.01, 10), (32, 0.1, 100), (256, 1.0, 300)])
def test_draw_running_statistics(batch_size, momentum, steps):
    fig, ax = plt.subplots()
    trace = draw_running_statistics(ax, batch_size, momentum, steps)
    assert len(fig.axes) == 2
    assert "running mean" in fig.axes[0].get_title() and "running variance" in fig.axes[1].get_title()
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), trace.running_var)
    plt.close(fig)


@pytest.mark.parametrize("activation, init, quantity",
                         itertools.product(ACTIVATIONS, INITS, QUANTITIES))
def test_draw_norm_comparison_over_the_grid(activation, init, quantity):
    fig, ax = plt.subplots()
    with np.errstate(all="ignore"):
        drawn = draw_norm_comparison(ax, activation, init, 4, quantity)
    assert list(drawn) == list(NORMS)
    expected = 4 if quantity == "gradient norm" else 3
    assert all(v.shape == (expected,) for v in drawn.values())
    assert len(ax.lines) == 3
    plt.close(fig)


def test_norm_profiles_are_chapter_6s_profiles():
    profiles = norm_profiles("tanh", "Xavier", 5)
    for norm in NORMS:
        np.testing.assert_array_equal(profiles[norm].grad_norms,
                                      layer_profile(5, "tanh", "Xavier", norm).grad_norms)
    with pytest.raises(ValueError, match="activation"):
        norm_profiles("softplus")


# --- the facts the lesson states (depth 20, seed 0, the 256 digits of chapter 6) ---------


def test_batch_norm_rescues_sigmoid_and_layer_norm_does_not():
    """Measured ratios: none ~2e-12, batch ~0.5, layer ~1e-8 (tests/test_diagnostics.py has seeds 0-2)."""
    p = norm_profiles("sigmoid", "Xavier", 20)
    assert p["none"].ratio < 1e-9
    assert 0.1 < p["batch"].ratio < 10
    assert p["layer"].ratio < 1e-6


def test_either_norm_tames_tanh_with_naive_init():
    """N(0, 1) weights: none explodes (ratio ~4e4); batch ~1.8 and layer ~1.2."""
    p = norm_profiles("tanh", "N(0, 1)", 20)
    assert p["none"].verdict == "exploding"
    assert p["batch"].verdict == p["layer"].verdict == "healthy"


def test_layer_norm_with_sigmoid_makes_every_example_look_the_same():
    """Between-example spread of the last hidden layer: BatchNorm ~0.21, LayerNorm ~4e-9,
    while LayerNorm keeps the within-example spread at ~0.2."""
    batch = example_spread("sigmoid", "Xavier", "batch", 20)
    layer = example_spread("sigmoid", "Xavier", "layer", 20)
    assert batch.between[-1] > 0.1
    assert layer.between[-1] < 1e-4
    assert layer.within[-1] > 0.1
    assert layer.between[0] > 0.1  # the first layer still tells the digits apart


def test_normalised_deep_networks_train_and_the_unnormalised_sigmoid_one_does_not():
    """A short run of the lesson's training (3 epochs, 600 digits) keeps its ordering."""
    X, y = nnlab.datasets.load_digits()
    X = nnlab.data.Standardizer().fit_transform(X)[:600]
    y = y[:600]
    losses = {}
    for norm in NORMS:
        from nnlab.explore.ch06 import deep_network

        net = deep_network(20, "sigmoid", "Xavier", norm, rng=0)
        opt = nnlab.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        h = nnlab.fit(net, nnlab.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=64,
                      rng=0, progress=False)
        losses[norm] = h.train_loss[-1]
    assert losses["batch"] < 1.5
    assert losses["none"] > 2.2
    assert losses["layer"] > 2.2


def test_draw_batchnorm_graph_has_the_three_paths_from_x():
    fig, ax = plt.subplots()
    edges = draw_batchnorm_graph(ax)
    assert ("x", "mu") in edges and ("x", "xc") in edges and ("xc", "var") in edges
    assert ("mu", "xc") in edges and ("s", "xhat") in edges
    assert len(ax.patches) + len(ax.texts) > len(edges)
    plt.close(fig)


def test_layer_norm_needs_spread_between_examples_not_a_zero_mean():
    """ReLU is not zero-centred (mean ~0.4), yet with LayerNorm its spread between examples
    stays a steady fraction (~0.3) of its mean; sigmoid's ratio falls ~3x per layer to ~1e-8."""
    relu = example_spread("relu", "He", "layer", 20)
    sigmoid = example_spread("sigmoid", "Xavier", "layer", 20)
    tanh = example_spread("tanh", "Xavier", "layer", 20)
    assert relu.mean.shape == relu.between.shape == (19,)
    assert relu.mean[-1] > 0.2
    assert (relu.between / relu.mean)[-5:].min() > 0.1
    assert (sigmoid.between / sigmoid.mean)[-1] < 1e-6
    assert np.all(np.abs(tanh.mean) < 0.1 * tanh.between)
    assert norm_profiles("relu", "He", 20)["layer"].verdict == "healthy"


def test_draw_norm_comparison_tells_lines_apart_without_colour():
    fig, ax = plt.subplots()
    draw_norm_comparison(ax, "tanh", "Xavier", 4)
    styles = {(line.get_linestyle(), line.get_marker()) for line in ax.lines}
    assert len(styles) == 3
    plt.close(fig)
