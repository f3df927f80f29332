"""Chapter 9: plain vs residual gradient flow over a grid, the path expansion, the recipe."""

from __future__ import annotations

import itertools
from math import comb

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.explore.ch06 import ACTIVATIONS, NORMS, deep_network, layer_profile
from nnlab.explore.ch09 import (
    MATCHING_INIT,
    draw_gradient_flow,
    draw_paths,
    gradient_flow,
    path_contributions,
    recipe_network,
)


@pytest.mark.parametrize("activation, norm", list(itertools.product(ACTIVATIONS, NORMS)))
def test_gradient_flow_is_chapter_6s_network_with_and_without_residuals(activation, norm):
    flow = gradient_flow(6, activation, norm, n=64)
    init = MATCHING_INIT[activation]
    for residual, profile in [(False, flow.plain), (True, flow.residual)]:
        assert profile.residual is residual and profile.init == init and profile.norm == norm
        assert profile.grad_norms.shape == (6,)
        same = layer_profile(6, activation, init, norm, residual, n=64)
        np.testing.assert_array_equal(profile.grad_norms, same.grad_norms)


def test_the_first_and_last_layers_are_shared_so_only_the_skips_differ():
    plain, residual = deep_network(8, "relu", "He"), deep_network(8, "relu", "He", residual=True)
    for a, b in zip(plain.parameters(), residual.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    assert sum(isinstance(m, nnlab.Residual) for m in residual) == 6


def test_residuals_rescue_the_vanishing_sigmoid_network_at_depth_50():
    """Chapter 6's network (sigmoid + Xavier) at depth 50: plain ratio ~2e-31, residual ~4.5e-3."""
    flow = gradient_flow(50, "sigmoid", "none")
    assert flow.plain.verdict == "vanishing" and flow.plain.ratio < 1e-25
    assert 1e-3 < flow.residual.ratio < 0.1
    assert flow.residual.grad_norms.min() > 1e20 * flow.plain.grad_norms.min()


def test_relu_residual_without_norm_explodes_and_pre_norm_tames_it():
    """ReLU + He at depth 50: residual blocks without normalization blow the activations up
    (every gradient norm above 1e8); with LayerNorm in the block they stay healthy."""
    assert gradient_flow(50, "relu", "none").residual.grad_norms.min() > 1e8
    tamed = gradient_flow(50, "relu", "layer").residual
    assert tamed.verdict == "healthy" and tamed.grad_norms.max() < 1e3


@pytest.mark.parametrize("activation, norm", [("relu", "none"), ("tanh", "layer"), ("sigmoid", "batch")])
def test_draw_gradient_flow(activation, norm):
    fig, ax = plt.subplots()
    flow = draw_gradient_flow(ax, 5, activation, norm)
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_ydata(), flow.plain.grad_norms)
    np.testing.assert_array_equal(lines[1].get_ydata(), flow.residual.grad_norms)
    assert ax.get_yscale() == "log" and "plain: ratio" in ax.get_legend().get_texts()[0].get_text()
    plt.close(fig)


def test_gradient_flow_rejects_bad_settings():
    with pytest.raises(ValueError, match="depth"):
        gradient_flow(2)
    with pytest.raises(ValueError, match=r"activation in \['sigmoid', 'tanh', 'relu'\]; got 'gelu'"):
        gradient_flow(5, "gelu")
    with pytest.raises(ValueError, match="norm in"):
        gradient_flow(5, "relu", None)


def _brute_force(depth, gain, width, seed):
    """Every one of the 2^depth paths, one at a time (the recursion must agree with it)."""
    gen = np.random.default_rng(seed)
    J = gen.normal(scale=gain / np.sqrt(width), size=(depth, width, width))
    g = gen.normal(size=width)
    g /= np.linalg.norm(g)
    terms = np.zeros((depth + 1, width))
    for k in range(depth + 1):
        for path in itertools.combinations(range(depth), k):
            v = g
            for l in reversed(path):
                v = J[l].T @ v
            terms[k] += v
    full = g
    for l in reversed(range(depth)):
        full = full + J[l].T @ full
    return terms, full, J, g


@pytest.mark.parametrize("depth, gain, width, seed", [(1, 0.5, 3, 0), (4, 1.0, 4, 1), (7, 0.3, 5, 2),
                                                      (6, 2.0, 2, 3), (5, 0.0, 3, 4)])
def test_path_terms_are_the_sums_over_all_paths_and_add_up_to_the_gradient(depth, gain, width, seed):
    p = path_contributions(depth, gain, width=width, seed=seed)
    terms, full, _, _ = _brute_force(depth, gain, width, seed)
    np.testing.assert_allclose(p.norms, np.linalg.norm(terms, axis=1), rtol=1e-10, atol=1e-14)
    assert p.total == pytest.approx(np.linalg.norm(full), rel=1e-10)
    np.testing.assert_allclose(terms.sum(axis=0), full, rtol=1e-10, atol=1e-12)
    assert p.plain == pytest.approx(p.norms[-1], rel=1e-10, abs=1e-300)
    assert p.norms[0] == pytest.approx(1.0)  # the direct path: g itself
    np.testing.assert_allclose(p.expected, [np.sqrt(comb(depth, k)) * gain ** k for k in range(depth + 1)])


def test_the_expected_sizes_hold_on_average():
    """E||A_k||^2 = C(L, k) gain^(2k): averaged over 400 seeds, within 25% for the big terms."""
    depth, gain = 8, 0.7
    mean_sq = np.mean([path_contributions(depth, gain, width=16, seed=s).norms ** 2
                       for s in range(400)], axis=0)
    expected_sq = path_contributions(depth, gain).expected ** 2
    np.testing.assert_allclose(mean_sq[:6], expected_sq[:6], rtol=0.25)


def test_short_paths_carry_the_gradient_when_the_branches_are_small():
    p = path_contributions(50, 0.2)
    assert p.norms.argmax() <= 5
    assert p.plain < 1e-30
    assert p.total > 0.5


@pytest.mark.parametrize("depth, gain", [(1, 0.0), (10, 0.5), (50, 1.0), (50, 2.0), (100, 0.3)])
def test_draw_paths(depth, gain):
    fig, ax = plt.subplots()
    p = draw_paths(ax, depth, gain)
    assert len(p.norms) == depth + 1 and np.all(np.isfinite(p.norms))
    assert ax.get_yscale() == "log" and f"L = {depth}" in ax.get_title()
    plt.close(fig)


def test_path_contributions_rejects_bad_settings():
    with pytest.raises(ValueError, match="gain"):
        path_contributions(5, -1.0)
    with pytest.raises(ValueError, match="depth"):
        path_contributions(0)


def test_recipe_network_is_pre_norm_residual_with_a_final_layer_norm():
    net = recipe_network(10)
    body = deep_network(10, "relu", "He", "layer", residual=True)
    assert isinstance(net[-2], nnlab.LayerNorm) and len(net) == len(body) + 1
    kept = [m for m in net if m is not net[-2]]  # everything but the final LayerNorm
    assert len(kept) == len(body)
    for a, b in zip(nnlab.Sequential(*kept).parameters(), body.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    block = net[3]
    assert isinstance(block, nnlab.Residual)
    assert [type(m).__name__ for m in block.module] == ["LayerNorm", "Linear", "ReLU"]
    assert recipe_network(10, final_norm=False)[-1].in_features == 32
    X = np.random.default_rng(0).normal(size=(5, 64))
    assert net(X).shape == (5, 10)


def test_figures_tell_their_series_apart_without_colour():
    fig, (left, right) = plt.subplots(1, 2)
    draw_gradient_flow(left, 5, "tanh", "none")
    assert len({(line.get_linestyle(), line.get_marker()) for line in left.get_lines()}) == 2
    draw_paths(right, 6, 0.5)
    hatched = [patch for patch in right.patches if patch.get_hatch()]
    assert len(hatched) == 1  # the plain network's bar, k = L
    plt.close(fig)
