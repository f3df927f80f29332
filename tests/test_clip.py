"""Gradient clipping by global norm: the same numbers as PyTorch, properties, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlab
from nnlab.clip import CLIP_EPS, clip_grad_norm_

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def _params(grads):
    params = []
    for g in grads:
        p = nnlab.Parameter(np.zeros_like(g))
        p.grad[...] = g
        params.append(p)
    return params


def _global_norm(grads, p=2.0):
    flat = np.concatenate([g.ravel() for g in grads])
    return np.abs(flat).max() if np.isinf(p) else np.sum(np.abs(flat) ** p) ** (1 / p)


def test_exported_at_the_top_level():
    assert nnlab.clip_grad_norm_ is clip_grad_norm_
    assert "clip_grad_norm_" in nnlab.__all__


def test_large_gradients_are_scaled_to_max_norm_and_keep_their_direction():
    rng = np.random.default_rng(0)
    grads = [10 * rng.standard_normal(s) for s in SHAPES]
    params = _params(grads)
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(_global_norm(grads), rel=1e-12)
    coef = 1.0 / (total + CLIP_EPS)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * coef, rtol=1e-12)
    assert _global_norm([p.grad for p in params]) == pytest.approx(1.0, rel=1e-5)


def test_small_gradients_are_left_alone():
    grads = [np.full((2, 2), 0.1), np.array([0.2])]
    params = _params(grads)
    total = clip_grad_norm_(params, max_norm=5.0)
    assert total == pytest.approx(np.sqrt(4 * 0.01 + 0.04))
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad, g)


def test_inf_norm_is_the_largest_entry():
    params = _params([np.array([1.0, -7.0]), np.array([[3.0]])])
    assert clip_grad_norm_(params, max_norm=3.5, norm_type=float("inf")) == 7.0
    np.testing.assert_allclose(params[0].grad, np.array([1.0, -7.0]) * 3.5 / (7.0 + CLIP_EPS))


def test_a_single_parameter_a_generator_and_an_empty_list():
    p = _params([np.array([3.0, 4.0])])[0]
    assert clip_grad_norm_(p, 1.0) == pytest.approx(5.0)
    q = _params([np.array([3.0, 4.0])])[0]
    assert clip_grad_norm_((x for x in [q]), 1.0) == pytest.approx(5.0)
    assert clip_grad_norm_([], 1.0) == 0.0


def test_works_on_a_model_between_backward_and_step():
    net = nnlab.mlp([4, 8, 3], rng=0)
    X, y = np.random.default_rng(1).standard_normal((5, 4)), np.array([0, 1, 2, 0, 1])
    loss = nnlab.CrossEntropyLoss()
    loss(net(X), y)
    net.backward(loss.backward())
    before = _global_norm([p.grad for p in net.parameters()])
    assert clip_grad_norm_(net.parameters(), before / 2) == pytest.approx(before)
    assert _global_norm([p.grad for p in net.parameters()]) == pytest.approx(before / 2, rel=1e-5)


def test_nonfinite_total_norm():
    params = _params([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="total norm"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    params = _params([np.array([np.nan, 1.0])])
    assert np.isnan(clip_grad_norm_(params, 1.0))
    assert np.isnan(params[0].grad).all()  # NaN spreads, as in PyTorch


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((np.ones(3), 1.0), TypeError, "Parameter or an iterable of Parameters"),
        (([np.ones(3)], 1.0), TypeError, "item 0 is ndarray"),
        ((5, 1.0), TypeError, "Parameter or an iterable"),
        (([], -1.0), ValueError, "max_norm must be a finite number >= 0"),
        (([], float("inf")), ValueError, "max_norm must be a finite number >= 0"),
        (([], "1"), TypeError, "max_norm must be a real number"),
        (([], 1.0, 0.0), ValueError, "norm_type must be > 0"),
        (([], 1.0, -2), ValueError, "norm_type must be > 0"),
        (([], 1.0, None), TypeError, "norm_type must be a real number"),
    ],
)
def test_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        clip_grad_norm_(*args)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(1e-4, 1e4),
    max_norm=st.floats(1e-3, 1e3),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, float("inf")]),
)
def test_property_after_clipping_the_norm_is_at_most_max_norm(seed, scale, max_norm, norm_type):
    rng = np.random.default_rng(seed)
    grads = [scale * rng.standard_normal(s) for s in SHAPES]
    params = _params(grads)
    total = clip_grad_norm_(params, max_norm, norm_type)
    after = _global_norm([p.grad for p in params], norm_type)
    assert after <= max_norm * (1 + 1e-12)
    assert after == pytest.approx(total * min(1.0, max_norm / (total + CLIP_EPS)), rel=1e-9)
    # Direction kept: each gradient is a non-negative multiple of what it was.
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * (after / total), rtol=1e-9, atol=1e-300)


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, float("inf")])
@pytest.mark.parametrize("scale, max_norm", [(10.0, 1.0), (0.01, 1.0), (1.0, 0.0), (0.0, 1.0)])
def test_matches_torch(torch, norm_type, scale, max_norm):
    rng = np.random.default_rng(7)
    grads = [scale * rng.standard_normal(s) for s in SHAPES]
    params = _params(grads)
    twins = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
    for t, g in zip(twins, grads):
        t.grad = torch.from_numpy(g.copy())
    ours = clip_grad_norm_(params, max_norm, norm_type)
    theirs = torch.nn.utils.clip_grad_norm_(twins, max_norm, norm_type)
    assert ours == pytest.approx(float(theirs), rel=1e-13, abs=0)
    for p, t in zip(params, twins):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-13, atol=0)
