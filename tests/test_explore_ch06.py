"""Chapter 6: the deep network of chapters 6-9, layer_profile over a grid, diagnose, the drawing."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.diagnostics import activation_stats, gradient_norms
from nnlab.explore.ch06 import (
    ACTIVATIONS,
    INITS,
    NORMS,
    deep_network,
    diagnose,
    digits_batch,
    draw_profile,
    layer_profile,
)

GRID = list(itertools.product(ACTIVATIONS, INITS, NORMS, [False, True]))


def test_the_deep_network_is_the_one_the_diagnostics_tests_measure():
    """depth 20 = the 64 -> 32 x 19 -> 10 MLP of tests/test_diagnostics.py, seed 0."""
    net = deep_network(20, "tanh", "Xavier")
    ref = nnlab.mlp([64] + [32] * 19 + [10], "tanh", init="xavier_normal", rng=0)
    linears = [m for m in net if isinstance(m, nnlab.Linear)]
    assert len(linears) == 20
    for a, b in zip(net.parameters(), ref.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    X, y = digits_batch()
    assert X.shape == (256, 64) and y.shape == (256,)
    np.testing.assert_allclose(X.mean(), 0.0, atol=0.1)
    assert not X.flags.writeable


@pytest.mark.parametrize("activation, init, norm, residual", GRID)
def test_layer_profile_over_the_whole_grid_at_small_depth(activation, init, norm, residual):
    depth = 5
    p = layer_profile(depth, activation, init, norm, residual, n=64)
    assert p.act_std.shape == p.act_mean.shape == p.saturated.shape == (depth - 1,)
    assert p.grad_norms.shape == (depth,)
    assert np.all(p.act_std >= 0) and np.all(p.grad_norms >= 0)
    assert np.all((0 <= p.saturated) & (p.saturated <= 1))
    assert (p.ratio, p.verdict) == diagnose(p.grad_norms) or np.isnan(p.ratio)
    # The numbers are those of nnlab.diagnostics on the same network and batch.
    net = deep_network(depth, activation, init, norm, residual)
    X, y = digits_batch(64)
    with np.errstate(all="ignore"):
        norms = [v for _, v in gradient_norms(net, nnlab.CrossEntropyLoss(), X, y)]
        stds = [s.std for s in activation_stats(net, X)]
    np.testing.assert_array_equal(p.grad_norms, norms)
    np.testing.assert_array_equal(p.act_std, stds)
    if init == "zeros":
        # Zero weights: no signal reaches the hidden layers, and the first layer learns nothing.
        assert p.grad_norms[0] == 0.0 and p.verdict == "vanishing"
        if not residual:
            assert np.all(p.act_std == 0.0) or activation == "sigmoid"


def test_layer_profile_is_pure():
    a = layer_profile(10, "tanh", "N(0, 1)", "none", False)
    b = layer_profile(10, "tanh", "N(0, 1)", "none", False)
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)
    np.testing.assert_array_equal(a.act_std, b.act_std)


@pytest.mark.parametrize(
    "activation, init, norm, residual, verdict",
    [
        ("sigmoid", "Xavier", "none", False, "vanishing"),      # ratio ~1e-18
        ("sigmoid", "N(0, 0.01^2)", "none", False, "vanishing"),
        ("sigmoid", "Xavier", "layer", False, "vanishing"),     # LayerNorm does not rescue sigmoid
        ("tanh", "N(0, 1)", "none", False, "exploding"),        # ratio ~5e6
        ("tanh", "N(0, 0.01^2)", "none", False, "vanishing"),   # ratio ~1 but every norm tiny
        ("relu", "N(0, 1)", "none", False, "exploding"),        # ratio ~0.5 but norms ~1e16
        ("tanh", "Xavier", "layer", False, "healthy"),
        ("tanh", "Xavier", "none", True, "healthy"),
        ("sigmoid", "Xavier", "batch", False, "healthy"),
    ],
)
def test_the_facts_of_chapter_6_at_depth_30(activation, init, norm, residual, verdict):
    assert layer_profile(30, activation, init, norm, residual).verdict == verdict


def test_sigmoid_gradient_shrinks_geometrically_towards_the_input():
    norms = layer_profile(30, "sigmoid", "Xavier").grad_norms
    # Each layer back multiplies by at most ||W||_2 / 4; the measured norms fall
    # monotonically over the first 25 layers.
    assert np.all(np.diff(np.log(norms[:25])) > 0)


@pytest.mark.parametrize(
    "norms, ratio, verdict",
    [
        ([1e-6, 1e-3, 1.0], 1e-6, "vanishing"),
        ([1e-20, 1e-20, 2e-20], 0.5, "vanishing"),
        ([1e4, 10.0, 1.0], 1e4, "exploding"),
        ([1e12, 1e12, 2e12], 0.5, "exploding"),
        ([0.5, 0.7, 1.0], 0.5, "healthy"),
        ([1.0, 1e6, 1e5], 1e-5, "vanishing"),  # both rules apply: vanishing comes first
        ([0.0, 1.0], 0.0, "vanishing"),
        ([3.0], 1.0, "healthy"),
    ],
)
def test_diagnose(norms, ratio, verdict):
    got_ratio, got_verdict = diagnose(norms)
    assert got_ratio == pytest.approx(ratio) and got_verdict == verdict


def test_diagnose_edge_cases():
    ratio, verdict = diagnose([0.0, 0.0])
    assert np.isnan(ratio) and verdict == "vanishing"
    assert diagnose([1.0, 0.0]) == (float("inf"), "exploding")
    with pytest.raises(ValueError, match="non-empty 1-D"):
        diagnose([])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"activation": "gelu"}, "activation in"),
        ({"init": "he_normal"}, "init in"),
        ({"norm": "group"}, "norm in"),
        ({"depth": 1}, "depth must be >= 2"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        deep_network(**kwargs)


@pytest.mark.parametrize("activation, init", [("sigmoid", "Xavier"), ("relu", "zeros"), ("tanh", "He")])
def test_draw_profile_draws_the_profile(activation, init):
    fig, ax = plt.subplots()
    try:
        p = draw_profile(ax, activation, init, "none", False, 12)
        left, right = fig.axes
        assert left.get_yscale() == right.get_yscale() == "log"
        std = left.get_lines()[0].get_ydata()
        grads = right.get_lines()[0].get_ydata()
        np.testing.assert_array_equal(np.nan_to_num(std), p.act_std)
        np.testing.assert_array_equal(np.nan_to_num(grads), p.grad_norms)
        assert p.verdict in right.get_title()
        if init == "zeros":
            assert any("exactly 0" in t.get_text() for t in left.texts + right.texts)
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    "norm, residual, words",
    [("none", False, "(sigmoid, Xavier)"), ("batch", False, "(sigmoid, Xavier, batch norm)"),
     ("layer", True, "(sigmoid, Xavier, layer norm, residual)")],
)
def test_draw_profile_titles_name_normalization_and_residuals(norm, residual, words):
    fig, ax = plt.subplots()
    try:
        draw_profile(ax, "sigmoid", "Xavier", norm, residual, 6)
        assert fig.axes[0].get_title().endswith(words)
    finally:
        plt.close(fig)


def test_works_inside_the_widget_explorer():
    import ipywidgets

    from nnlab.widgets import explorer

    widget = explorer(
        draw_profile, alt="test figure", figsize=(8, 3),
        activation=list(ACTIVATIONS), init=list(INITS), norm=list(NORMS),
        residual=False, depth=ipywidgets.IntSlider(value=10, min=2, max=30),
    )
    first = bytes(widget.image.value)
    widget.controls["activation"].value = "relu"
    assert bytes(widget.image.value) != first
