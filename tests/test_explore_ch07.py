"""Chapter 7's explorer: init_profile over a grid, the variance recursion against measurement, the drawing."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.diagnostics import activation_stats, gradient_norms
from nnlab.explore.ch06 import deep_network, digits_batch
from nnlab.explore.ch07 import (
    ACTIVATIONS,
    RELU_STD_FACTOR,
    SCHEMES,
    draw_init,
    init_profile,
    predicted_preactivation_std,
    relu_output_std,
    torch_default_,
    weight_variance,
)
from nnlab.explore.ch07 import TORCH_DEFAULT

GRID = list(itertools.product(SCHEMES, ACTIVATIONS, [0.5, 1.0, 2.0]))


@pytest.mark.parametrize("scheme, activation, gain", GRID)
def test_init_profile_is_chapter_6s_network_scaled_by_the_gain(scheme, activation, gain):
    depth = 6
    p = init_profile(scheme, activation, depth, gain, n=64)
    assert p.act_std.shape == p.predicted_std.shape == (depth - 1,)
    assert p.grad_norms.shape == (depth,)
    assert np.all(p.act_std >= 0) and np.all(p.grad_norms >= 0)
    if scheme == TORCH_DEFAULT:
        net = torch_default_(deep_network(depth, activation, "He"), 0)
    else:
        net = deep_network(depth, activation, scheme)
    for layer in net:
        if isinstance(layer, nnlab.Linear):
            layer.weight.value *= gain
    X, y = digits_batch(64)
    with np.errstate(all="ignore"):
        stds = [s.std for s in activation_stats(net, X)]
        norms = [v for _, v in gradient_norms(net, nnlab.CrossEntropyLoss(), X, y)]
    np.testing.assert_array_equal(p.act_std, stds)
    np.testing.assert_array_equal(p.grad_norms, norms)
    assert np.isnan(p.predicted_std).all() == (activation != "relu")


def test_gain_one_is_exactly_chapter_6s_network():
    a = init_profile("Xavier", "tanh", 20)
    from nnlab.explore.ch06 import layer_profile

    b = layer_profile(20, "tanh", "Xavier")
    np.testing.assert_array_equal(a.act_std, b.act_std)
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)


def test_weight_variance_is_what_nnlab_init_draws():
    shape = (300, 700)  # (fan_out, fan_in)
    for scheme, name in [("Xavier", "xavier_normal"), ("He", "he_normal")]:
        w = getattr(nnlab.init, name)(shape, rng=0)
        assert w.var() == pytest.approx(weight_variance(scheme, 700, 300), rel=0.02)
    assert weight_variance("He", 700, 300, gain=3.0) == pytest.approx(9 * 2 / 700)
    assert weight_variance("zeros", 5, 5) == 0.0
    assert weight_variance(TORCH_DEFAULT, 700, 300) == pytest.approx(1 / 2100)


def test_torch_default_redraws_weights_and_biases_like_torch_linear():
    net = torch_default_(nnlab.mlp([400, 300, 10], rng=0), rng=1)
    w, b = net[0].weight.value, net[0].bias.value
    bound = 1 / np.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    assert w.var() == pytest.approx(1 / 1200, rel=0.02)
    assert np.abs(b).max() <= bound and b.var() == pytest.approx(1 / 1200, rel=0.25)
    assert "PyTorch default" in SCHEMES


@pytest.mark.torch
def test_torch_default_matches_torch_linears_distribution(torch):
    torch.manual_seed(0)
    theirs = torch.nn.Linear(400, 300, dtype=torch.float64)
    ours = torch_default_(nnlab.mlp([400, 300], rng=0), rng=0)[0]
    for name in ("weight", "bias"):
        a = getattr(ours, name).value
        t = getattr(theirs, name).detach().numpy()
        assert np.abs(a).max() == pytest.approx(np.abs(t).max(), rel=0.01)
        assert a.var() == pytest.approx(t.var(), rel=0.2 if name == "bias" else 0.02)


def test_prediction_with_random_biases_adds_their_variance():
    pre = predicted_preactivation_std([4, 4], [0.25, 0.25], 1.0, "relu", bias_vars=[0.5, 0.5])
    # Var z1 = 4 * 0.25 * 1 + 0.5 = 1.5; Var z2 = 4 * 0.25 * 1.5 / 2 + 0.5 = 1.25
    np.testing.assert_allclose(pre**2, [1.5, 1.25])
    with pytest.raises(ValueError, match="as many bias_vars"):
        predicted_preactivation_std([4, 4], [0.25, 0.25], 1.0, "relu", bias_vars=[0.5])


def test_the_recursion_by_hand():
    # Layer 1: 64 * (2/64) * 0.8 = 1.6; layer 2: 32 * (2/32) * 1.6 / 2 = 1.6; linear halves nothing.
    np.testing.assert_allclose(predicted_preactivation_std([64, 32], [2 / 64, 2 / 32], 0.8, "relu"),
                               np.sqrt([1.6, 1.6]))
    np.testing.assert_allclose(predicted_preactivation_std([10, 10, 10], [0.2, 0.1, 0.1], 1.0, "linear"),
                               np.sqrt([2.0, 2.0, 2.0]))
    assert RELU_STD_FACTOR == pytest.approx(np.sqrt(0.5 - 0.5 / np.pi))


def test_relu_output_std_matches_sampling():
    z = np.random.default_rng(0).normal(scale=3.0, size=1_000_000)
    assert np.maximum(z, 0).std() == pytest.approx(float(relu_output_std(3.0)), rel=0.005)


@pytest.mark.parametrize("gain", [0.8, 1.2])
def test_prediction_is_right_on_average_over_weight_draws(gain):
    # A single network wanders around the prediction (finite-width noise, larger at
    # width 32); the second moment averaged over networks is what the recursion predicts.
    # Measured: within 4.3% at width 256 with 20 networks.
    depth, width, seeds = 10, 256, 20
    X, _ = digits_batch(256)
    q = np.mean([[np.mean(s.values**2) for s in activation_stats(
        _scaled(deep_network(depth, "relu", "He", width=width, rng=seed), gain), X)]
        for seed in range(seeds)], axis=0)
    predicted = init_profile("He", "relu", depth, gain, width=width).predicted_std
    # E[relu(z)^2] = Var z / 2, and predicted_std = RELU_STD_FACTOR * std(z).
    expected_q = predicted**2 / (2 * RELU_STD_FACTOR**2)
    np.testing.assert_allclose(q, expected_q, rtol=0.1)


def _scaled(net, gain):
    for layer in net:
        if isinstance(layer, nnlab.Linear):
            layer.weight.value *= gain
    return net


def test_the_chapters_claims_at_depth_50():
    he = init_profile("He", "relu", 50)
    assert he.verdict == "healthy"
    assert 1e-2 < he.act_std.min() and he.act_std.max() < 1e1
    big = init_profile("N(0, 1)", "relu", 50)
    assert big.act_std[-1] > 1e20 and big.verdict == "exploding"
    small = init_profile("N(0, 0.01^2)", "relu", 50)
    assert small.act_std[-1] < 1e-50
    xavier_relu = init_profile("Xavier", "relu", 50)
    assert xavier_relu.act_std[-1] < 1e-6 * xavier_relu.act_std[0]
    tanh = init_profile("Xavier", "tanh", 50)
    assert tanh.verdict == "healthy" and 0.01 < tanh.act_std[-1] < tanh.act_std[0]
    tanh_gain = init_profile("Xavier", "tanh", 50, gain=5 / 3)
    assert tanh_gain.act_std[-20:].min() > 0.5 * tanh_gain.act_std[0]
    assert init_profile("zeros", "relu", 50).act_std.max() == 0.0


def test_init_profile_is_pure():
    a, b = init_profile("He", "tanh", 12, 1.3), init_profile("He", "tanh", 12, 1.3)
    np.testing.assert_array_equal(a.act_std, b.act_std)
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)


@pytest.mark.parametrize("scheme, activation, gain", [("He", "relu", 1.0), ("zeros", "tanh", 1.0),
                                                      ("N(0, 1)", "relu", 2.0), ("Xavier", "sigmoid", 0.5)])
def test_draw_init_draws_two_log_panels(scheme, activation, gain):
    fig, ax = plt.subplots()
    p = draw_init(ax, scheme, activation, 12, gain)
    left, right = fig.axes
    assert left.get_yscale() == right.get_yscale() == "log"
    assert len(left.lines) == (2 if activation == "relu" else 1)
    assert p.verdict in right.get_title()
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scheme": "kaiming"}, "scheme in"),
        ({"activation": "gelu"}, "activation in"),
        ({"depth": 1}, "depth"),
        ({"gain": -1.0}, "gain"),
    ],
)
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        init_profile(**kwargs)


def test_bad_recursion_inputs_raise():
    with pytest.raises(ValueError, match="as many weight_vars as fan_ins"):
        predicted_preactivation_std([3, 4], [0.1], 1.0)
    with pytest.raises(ValueError, match="activation in"):
        predicted_preactivation_std([3], [0.1], 1.0, "tanh")
