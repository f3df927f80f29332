"""Tests of nnlab.diagnostics, including the facts chapter 6 shows about deep networks.

The "facts" tests build 20-Linear-layer MLPs (64 -> 32 x 19 -> 10, i.e. 19 hidden
layers of width 32) on 256 standardised digits, with CrossEntropyLoss, seeds 0, 1, 2,
and compare ||dL/dW_1|| with ||dL/dW_20|| (gradient_ratio). Each docstring names the
configuration; the measured values are quoted so that a reader can see the margins.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

import nnlab
from nnlab.data import Standardizer
from nnlab.datasets import load_digits
from nnlab.diagnostics import LayerStats, activation_stats, cached_bytes, gradient_norms, gradient_ratio

SIZES = [64] + [32] * 19 + [10]
SEEDS = [0, 1, 2]
NAIVE = partial(nnlab.init.normal, std=1.0)
SMALL = partial(nnlab.init.normal, std=0.01)


@pytest.fixture(scope="module")
def batch():
    X, y = load_digits()
    return Standardizer().fit_transform(X)[:256], y[:256]


def _ratio(batch, activation, init, norm=None, residual=False, seed=0):
    model = nnlab.mlp(SIZES, activation, init=init, norm=norm, residual=residual, rng=seed)
    return gradient_ratio(model, nnlab.CrossEntropyLoss(), *batch)


# --- the facts of chapter 6 -----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_sigmoid_with_small_normal_init_vanishes(batch, seed):
    """Sigmoid, N(0, 0.01^2) weights, no normalization: ratio < 1e-3 (measured ~4e-34).

    Each layer multiplies the gradient by sigmoid' <= 1/4 and by a tiny W.
    """
    assert _ratio(batch, "sigmoid", SMALL, seed=seed) < 1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_sigmoid_vanishes_even_with_xavier_init(batch, seed):
    """Sigmoid, Xavier-normal weights, no normalization: ratio < 1e-3 (measured ~3e-12).

    Xavier keeps the variance of a zero-centred, unit-slope activation; sigmoid is
    neither (mean 1/2, slope <= 1/4), so at depth 20 its gradient still vanishes.
    """
    assert _ratio(batch, "sigmoid", "xavier_normal", seed=seed) < 1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_tanh_with_naive_standard_normal_init_explodes(batch, seed):
    """Tanh, N(0, 1) weights (Var W = 1, i.e. 32x Xavier's): ratio > 1e3 (measured ~4e4).

    The naive init does not vanish with tanh: it is in the chaotic regime, where the
    gradient grows layer after layer towards the input.
    """
    assert _ratio(batch, "tanh", NAIVE, seed=seed) > 1e3


def test_tanh_with_small_init_vanishes_everywhere_so_the_ratio_looks_fine(batch):
    """Tanh, N(0, 0.01^2): the ratio is about 1, yet every layer's norm is below 1e-20.

    The signal dies on the way forward as well as backward, so each weight gradient
    (g^T h) is tiny at both ends: the ratio alone does not reveal it, the norms do.
    """
    model = nnlab.mlp(SIZES, "tanh", init=SMALL, rng=0)
    norms = [n for _, n in gradient_norms(model, nnlab.CrossEntropyLoss(), *batch)]
    assert 0.1 < norms[0] / norms[-1] < 10
    assert max(norms) < 1e-20


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "activation, init, norm, residual",
    [
        ("tanh", "xavier_normal", "layer", False),   # measured 2.4 - 4.4
        ("tanh", "xavier_normal", None, True),       # measured 1.4 - 1.8
        ("relu", "he_normal", None, True),           # measured 0.15 - 0.28
        ("sigmoid", "xavier_normal", "batch", False),  # measured 0.50 - 1.2
        ("sigmoid", "he_normal", "batch", False),      # measured 0.41 - 0.99
    ],
)
def test_good_init_with_normalization_or_residuals_keeps_the_gradient(
    batch, activation, init, norm, residual, seed
):
    """Ratio within [0.1, 10] for He/Xavier init plus LayerNorm or BatchNorm, or residuals.

    These are the configurations for which the statement holds at depth 20 on every
    seed; see the next test for the ones for which it does not.
    """
    assert 0.1 < _ratio(batch, activation, init, norm, residual, seed) < 10


@pytest.mark.parametrize("seed", SEEDS)
def test_what_does_not_rescue_sigmoid(batch, seed):
    """Sigmoid at depth 20: LayerNorm does not fix it, residual connections only partly.

    - Xavier + LayerNorm: ratio < 1e-3 (measured ~1e-8). LayerNorm normalises each
      example across units and leaves sigmoid's slope (<= 1/4) and its mean of 1/2 in
      the way; BatchNorm, which centres each unit over the batch, does fix it (above).
    - Xavier + residual connections: ratio in (1e-3, 0.1) (measured 0.01 - 0.012):
      ten orders of magnitude better than without them, but below 0.1.
    """
    assert _ratio(batch, "sigmoid", "xavier_normal", "layer", seed=seed) < 1e-3
    assert 1e-3 < _ratio(batch, "sigmoid", "xavier_normal", None, True, seed) < 0.1


# --- activation_stats -----------------------------------------------------------------


def test_activation_stats_records_activation_layers_by_default(batch):
    X, _ = batch
    model = nnlab.mlp([64, 32, 32, 32, 10], "relu", norm="batch", rng=0)
    stats = activation_stats(model, X)
    assert [s.kind for s in stats] == ["ReLU"] * 3
    assert [s.index for s in stats] == [2, 5, 8]
    assert stats[0].name == "2: ReLU"
    all_stats = activation_stats(model, X, every_layer=True)
    assert len(all_stats) == len(model)
    assert all_stats[-1].values.shape == (256, 10)


def test_activation_stats_values_match_a_forward_pass(batch):
    X, _ = batch
    model = nnlab.mlp([64, 16, 16, 10], "tanh", rng=0)
    stats = activation_stats(model, X, every_layer=True)
    np.testing.assert_array_equal(stats[-1].values, model(X))
    h = model[1](model[0](X))
    np.testing.assert_array_equal(stats[1].values, h)
    s = stats[1]
    assert s.mean == pytest.approx(h.mean()) and s.std == pytest.approx(h.std())
    assert s.saturated_fraction == pytest.approx(np.mean(np.abs(h) > 0.99))
    assert stats[0].saturated_fraction is None  # a Linear layer
    s.values[...] = 0  # a copy: the network is untouched
    np.testing.assert_array_equal(stats[-1].values, model(X))


def test_activation_stats_sees_saturation_and_collapse(batch):
    """Depth 20, width 32 (as above). Measured saturated fractions: tanh with N(0, 1)
    about 0.6 in every layer, with Xavier 0.0 beyond the first; sigmoid with N(0, 1)
    0.1 - 0.5, with Xavier ~0. Tanh with N(0, 0.01^2) collapses to 0 (std < 1e-15)."""
    X, _ = batch
    naive = activation_stats(nnlab.mlp(SIZES, "tanh", init=NAIVE, rng=0), X)
    xavier = activation_stats(nnlab.mlp(SIZES, "tanh", init="xavier_normal", rng=0), X)
    assert all(s.saturated_fraction > 0.5 for s in naive)
    assert all(s.saturated_fraction < 0.05 for s in xavier)
    small = activation_stats(nnlab.mlp(SIZES, "tanh", init=SMALL, rng=0), X)
    assert small[-1].std < 1e-15 < small[0].std
    sigmoid = activation_stats(nnlab.mlp(SIZES, "sigmoid", init=NAIVE, rng=0), X)
    sigmoid_xavier = activation_stats(nnlab.mlp(SIZES, "sigmoid", init="xavier_normal", rng=0), X)
    assert min(s.saturated_fraction for s in sigmoid) > 0.05
    assert max(s.saturated_fraction for s in sigmoid_xavier) < 0.01


def test_activation_stats_counts_dead_relus(batch):
    X, _ = batch
    model = nnlab.mlp([64, 32, 10], "relu", rng=0)
    model[0].bias.value[:8] = -1e3  # these 8 units are never active
    (stats,) = activation_stats(model, X)
    assert stats.dead_fraction == pytest.approx(8 / 32)
    assert stats.zero_fraction >= 8 / 32
    assert stats.saturated_fraction is None


def test_activation_stats_records_residual_blocks_and_restores_state(batch):
    X, _ = batch
    model = nnlab.mlp([64, 32, 32, 32, 10], "relu", norm="batch", residual=True, rng=0).eval()
    before = model.state_dict()
    stats = activation_stats(model, X)
    assert [s.kind for s in stats] == ["ReLU", "Residual", "Residual"]
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before), "running stats restored"
    assert not any(m.training for m in model.modules()), "eval mode restored"


def test_activation_stats_needs_a_sequential():
    with pytest.raises(TypeError, match="expected a Sequential"):
        activation_stats(nnlab.Linear(2, 2), np.ones((1, 2)))


def test_layer_stats_repr():
    s = activation_stats(nnlab.mlp([2, 3, 1], "sigmoid", rng=0), np.ones((4, 2)))[0]
    assert isinstance(s, LayerStats)
    assert repr(s).startswith("LayerStats(1: Sigmoid, shape=(4, 3), mean=")


# --- gradient_norms ------------------------------------------------------------------


def test_gradient_norms_match_one_backward_pass_and_restore_grads(batch):
    X, y = batch
    model = nnlab.mlp([64, 16, 16, 10], "relu", rng=0)
    for p in model.parameters():
        p.grad[...] = 7.0  # a half-accumulated gradient that must survive
    norms = gradient_norms(model, nnlab.CrossEntropyLoss(), X, y)
    assert [name for name, _ in norms] == ["0.weight", "2.weight", "4.weight"]
    assert all(np.all(p.grad == 7.0) for p in model.parameters())

    model.zero_grad()
    loss = nnlab.CrossEntropyLoss()
    loss(model(X), y)
    model.backward(loss.backward())
    expected = [np.linalg.norm(model[i].weight.grad) for i in (0, 2, 4)]
    np.testing.assert_allclose([n for _, n in norms], expected, rtol=1e-12)
    ratio = gradient_ratio(model, nnlab.CrossEntropyLoss(), X, y)
    assert ratio == pytest.approx(expected[0] / expected[-1], rel=1e-12)


def test_gradient_norms_name_linear_layers_inside_residual_blocks(batch):
    X, y = batch
    model = nnlab.mlp([64, 16, 16, 10], "relu", residual=True, rng=0)
    names = [name for name, _ in gradient_norms(model, nnlab.CrossEntropyLoss(), X, y)]
    assert names == ["0.weight", "2.module.0.weight", "3.weight"]
    assert set(names) <= {name for name, _ in model.named_parameters()}


def test_gradient_norms_without_linear_layers():
    with pytest.raises(ValueError, match="no Linear layer"):
        gradient_norms(nnlab.Sequential(nnlab.Tanh()), nnlab.MSELoss(), np.ones((2, 2)),
                       np.ones((2, 2)))


# --- cached_bytes: the memory the forward pass keeps for the backward pass ----------------


@pytest.mark.parametrize("batch_size", [1, 7, 64])
@pytest.mark.parametrize("widths", [[3, 2], [4, 8, 6, 2], [5] + [16] * 6 + [3]])
def test_cached_bytes_of_a_tanh_mlp_is_batch_times_the_widths(batch_size, widths):
    """Linear caches its input; Tanh its output, the next Linear's input: one array per layer."""
    net = nnlab.mlp(widths, activation="tanh", rng=0)
    assert cached_bytes(net) == 0  # nothing cached before a forward pass
    net(np.ones((batch_size, widths[0])))
    assert cached_bytes(net) == 8 * batch_size * sum(widths[:-1])


def test_cached_bytes_counts_relu_masks_and_float32():
    net = nnlab.mlp([4, 8, 6, 2], rng=0, dtype=np.float32)
    net(np.ones((10, 4), dtype=np.float32))
    # float32 activations (4 bytes) and a boolean mask (1 byte) per hidden unit.
    assert cached_bytes(net) == 4 * 10 * (4 + 8 + 6) + 1 * 10 * (8 + 6)


def test_cached_bytes_doubles_with_the_batch_and_grows_with_the_depth():
    def measure(depth, n):
        net = nnlab.mlp([8] + [32] * (depth - 1) + [1], activation="tanh", rng=0)
        net(np.zeros((n, 8)))
        return cached_bytes(net)

    assert measure(4, 64) == 2 * measure(4, 32)
    assert measure(8, 32) - measure(4, 32) == 4 * 32 * 32 * 8  # four more hidden layers of 32


def test_cached_bytes_ignores_parameters_workspaces_and_buffers():
    layer = nnlab.Linear(5, 3, rng=0)
    x = np.ones((4, 5))
    layer(x)
    layer.backward(np.ones((4, 3)))  # creates the weight-gradient workspace
    assert cached_bytes(layer) == x.nbytes
    bn = nnlab.BatchNorm1d(3)
    bn(np.arange(12.0).reshape(4, 3))
    assert cached_bytes(bn) == (4 * 3 + 3) * 8  # x_hat and 1/std, not the running statistics


def test_cached_bytes_counts_shared_memory_once():
    net = nnlab.Sequential(nnlab.Identity(), nnlab.Linear(6, 2, rng=0))
    X = np.ones((10, 6))
    net(X[2:5])  # Linear caches a view: the array it views is what stays in memory
    assert cached_bytes(net) == X.nbytes


def test_cached_bytes_of_a_loss():
    criterion = nnlab.CrossEntropyLoss()
    criterion(np.zeros((4, 3)), np.array([0, 1, 2, 0]))
    assert cached_bytes(criterion) >= 4 * 3 * 8  # the log-probabilities


def test_cached_bytes_rejects_what_is_not_a_module():
    with pytest.raises(TypeError, match="cached_bytes expected an nnlab Module; got ndarray"):
        cached_bytes(np.ones(3))


def test_activation_stats_sees_a_subclass_of_an_activation():
    class Leaky(nnlab.LeakyReLU):
        """A reader's own activation, built on nnlab's."""

    net = nnlab.Sequential(nnlab.Linear(4, 8, rng=0), Leaky(0.1), nnlab.Linear(8, 2, rng=1))
    stats = activation_stats(net, np.random.default_rng(0).normal(size=(16, 4)))
    assert [s.kind for s in stats] == ["Leaky"]
