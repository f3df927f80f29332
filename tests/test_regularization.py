"""The L1 penalty and the max-norm constraint: values, gradients, PyTorch parity, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnlab
from nnlab.regularization import RENORM_EPS, l1_penalty, max_norm_, renorm


def _params(*arrays_):
    return [nnlab.Parameter(np.array(a, dtype=np.float64)) for a in arrays_]


def test_exported_at_the_top_level():
    assert nnlab.regularization.l1_penalty is l1_penalty
    for name in ("l1_penalty", "max_norm_"):
        assert getattr(nnlab, name) is getattr(nnlab.regularization, name)
        assert name in nnlab.__all__


def test_l1_value_and_subgradient_by_hand():
    (p,) = _params([[-2.0, 0.0], [0.5, 3.0]])
    p.grad[...] = 1.0  # the data gradient is kept: the penalty's is ADDED
    value = l1_penalty([p], 0.1)
    assert value == pytest.approx(0.1 * 5.5)
    np.testing.assert_allclose(p.grad, [[0.9, 1.0], [1.1, 1.1]])  # sign(0) = 0


def test_l1_backward_false_leaves_the_gradient_alone():
    (p,) = _params([1.0, -1.0])
    assert l1_penalty(p, 2.0, backward=False) == pytest.approx(4.0)
    assert not p.grad.any()


def test_l1_gradient_check_against_central_differences():
    rng = np.random.default_rng(0)
    params = _params(rng.normal(size=(3, 4)), rng.normal(size=(4,)))
    lam, h = 0.3, 1e-6
    l1_penalty(params, lam)
    for p in params:
        numeric = np.zeros_like(p.value)
        for i in np.ndindex(p.value.shape):
            old = p.value[i]
            p.value[i] = old + h
            up = l1_penalty(params, lam, backward=False)
            p.value[i] = old - h
            down = l1_penalty(params, lam, backward=False)
            p.value[i] = old
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-6, atol=1e-8)


def test_l1_of_a_module_covers_every_parameter():
    net = nnlab.mlp([3, 4, 2], "relu", rng=0)
    expected = sum(np.abs(p.value).sum() for p in net.parameters())
    assert l1_penalty(net, 1.0, backward=False) == pytest.approx(expected)


@given(arrays(np.float64, st.integers(1, 12), elements=st.floats(-10, 10)), st.floats(0, 5))
@settings(max_examples=50, deadline=None)
def test_l1_is_nonnegative_and_homogeneous_in_lambda(values, lam):
    (p,) = _params(values)
    value = l1_penalty(p, lam, backward=False)
    assert value >= 0
    assert value == pytest.approx(lam * l1_penalty(p, 1.0, backward=False))


@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=st.floats(-10, 10)),
       st.floats(0.01, 5))
@settings(max_examples=50, deadline=None)
def test_renorm_projects_rows_onto_the_ball_and_leaves_short_rows_alone(w, c):
    out = renorm(w, 2, 0, c)
    norms_in, norms_out = np.linalg.norm(w, axis=1), np.linalg.norm(out, axis=1)
    assert np.all(norms_out <= c * (1 + 1e-12))
    short = norms_in <= c
    np.testing.assert_array_equal(out[short], w[short])
    # the projection keeps each row's direction
    np.testing.assert_allclose(out * norms_in[:, None], w * norms_out[:, None], atol=1e-9)


def test_renorm_dim_selects_the_slices():
    w = np.array([[3.0, 4.0], [0.0, 1.0]])
    np.testing.assert_allclose(renorm(w, 2, 0, 1.0), [[3 / (5 + RENORM_EPS), 4 / (5 + RENORM_EPS)], [0, 1]])
    cols = renorm(w, 2, 1, 1.0)
    np.testing.assert_allclose(cols[:, 0], [1.0, 0.0], atol=1e-7)


def test_max_norm_constrains_weights_not_biases_and_returns_the_largest_norm():
    net = nnlab.mlp([5, 8, 3], "relu", rng=1)
    for p in net.parameters():
        p.value *= 10
    largest = max(float(np.linalg.norm(p.value, axis=1).max()) for p in net.parameters() if p.value.ndim == 2)
    biases = [p.value.copy() for p in net.parameters() if p.value.ndim == 1]
    assert max_norm_(net, 1.0) == pytest.approx(largest)
    for p in net.parameters():
        if p.value.ndim == 2:
            assert np.linalg.norm(p.value, axis=1).max() <= 1.0
    for p, b in zip([p for p in net.parameters() if p.value.ndim == 1], biases):
        np.testing.assert_array_equal(p.value, b)


@pytest.mark.parametrize("bad, error, match", [
    ("weights", TypeError, "expected a Module, a Parameter or an iterable"),
    ([np.ones(3)], TypeError, "item 0 is ndarray"),
])
def test_bad_parameters(bad, error, match):
    with pytest.raises(error, match=match):
        l1_penalty(bad, 0.1)
    with pytest.raises(error, match=match):
        max_norm_(bad, 1.0)


def test_bad_numbers():
    (p,) = _params([1.0])
    with pytest.raises(ValueError, match=r"weight must be a finite number >= 0; got -1.0"):
        l1_penalty(p, -1.0)
    with pytest.raises(TypeError, match="weight must be a real number"):
        l1_penalty(p, "0.1")
    with pytest.raises(ValueError, match="max_norm must be a finite number >= 0"):
        max_norm_(p, float("inf"))
    with pytest.raises(ValueError, match=r"dim must be in \[-2, 1\]"):
        renorm(np.ones((2, 2)), 2, 2, 1.0)
    with pytest.raises(ValueError, match="p must be > 0"):
        renorm(np.ones((2, 2)), 0, 0, 1.0)


@pytest.mark.torch
def test_l1_value_and_gradient_match_torch_autograd(torch):
    rng = np.random.default_rng(3)
    values = [rng.normal(size=(4, 3)), rng.normal(size=(3,)), np.array([0.0, 1.0, -2.0])]
    params = _params(*values)
    value = l1_penalty(params, 0.05)
    tensors = [torch.tensor(v, requires_grad=True) for v in values]
    total = 0.05 * sum(t.abs().sum() for t in tensors)
    total.backward()
    assert value == pytest.approx(total.item(), rel=1e-14)
    for p, t in zip(params, tensors):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=0, atol=0)


@pytest.mark.torch
@pytest.mark.parametrize("p, dim, maxnorm", [(2.0, 0, 1.0), (2.0, 1, 0.5), (1.0, 0, 2.0), (3.0, -1, 0.7)])
def test_renorm_matches_torch_renorm(torch, p, dim, maxnorm):
    x = np.random.default_rng(4).normal(size=(6, 5)) * 1.5
    expected = torch.renorm(torch.tensor(x), p, dim, maxnorm).numpy()
    np.testing.assert_allclose(renorm(x, p, dim, maxnorm), expected, rtol=1e-14, atol=0)
