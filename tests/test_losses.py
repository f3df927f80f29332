"""Tests for nnlab.losses: properties, gradients, PyTorch parity, errors, dtypes."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import nnlab
from nnlab.activations import log_softmax

PROPERTY = settings(max_examples=50, deadline=None)

LOSSES = [nnlab.MSELoss, nnlab.CrossEntropyLoss, nnlab.BCEWithLogitsLoss]
LOSS_IDS = ["MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss"]


@st.composite
def logits_and_labels(draw, bound: float = 30.0):
    batch = draw(st.integers(1, 6))
    classes = draw(st.integers(1, 5))
    logits = draw(
        arrays(np.float64, (batch, classes), elements=st.floats(-bound, bound, allow_nan=False))
    )
    labels = draw(arrays(np.int64, (batch,), elements=st.integers(0, classes - 1)))
    return logits, labels


@st.composite
def pred_and_target(draw, target_low: float = -10.0, target_high: float = 10.0):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    pred = draw(arrays(np.float64, shape, elements=st.floats(-10, 10, allow_nan=False)))
    target = draw(
        arrays(np.float64, shape, elements=st.floats(target_low, target_high, allow_nan=False))
    )
    return pred, target


def numerical_gradient(loss, pred: np.ndarray, target, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar loss(pred, target) with respect to pred."""
    grad = np.empty_like(pred)
    for i in np.ndindex(pred.shape):
        e = np.zeros_like(pred)
        e[i] = h
        grad[i] = (loss(pred + e, target) - loss(pred - e, target)) / (2 * h)
    return grad


# --- properties -------------------------------------------------------------------------


@PROPERTY
@given(data=logits_and_labels())
def test_cross_entropy_is_mean_negative_log_softmax_at_the_label(data):
    logits, labels = data
    loss = nnlab.CrossEntropyLoss()
    value = loss(logits, labels)
    assert isinstance(value, float)
    assert value >= 0
    expected = -np.mean([log_softmax(row)[y] for row, y in zip(logits, labels)])
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


@PROPERTY
@given(data=logits_and_labels(bound=10.0))
def test_cross_entropy_gradient_matches_central_differences(data):
    logits, labels = data
    loss = nnlab.CrossEntropyLoss()
    loss(logits, labels)
    grad = loss.backward()
    assert grad.shape == logits.shape and grad.dtype == logits.dtype
    # atol: central differences of a loss near 20 carry a rounding error of about
    # 1e-16 * 20 / 1e-6 = 2e-9.
    np.testing.assert_allclose(grad, numerical_gradient(loss, logits, labels), rtol=1e-6, atol=1e-8)
    # Each row of softmax(z) - onehot(y) sums to zero.
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)


@PROPERTY
@given(data=pred_and_target())
def test_mse_value_and_gradient(data):
    pred, target = data
    loss = nnlab.MSELoss()
    value = loss(pred, target)
    assert value >= 0
    assert value == pytest.approx(np.mean((pred - target) ** 2), rel=1e-12, abs=1e-300)
    grad = loss.backward()
    assert grad.shape == pred.shape
    np.testing.assert_allclose(grad, numerical_gradient(loss, pred, target), rtol=1e-6, atol=1e-8)


@PROPERTY
@given(data=pred_and_target(target_low=0.0, target_high=1.0))
def test_bce_value_and_gradient(data):
    logits, target = data
    loss = nnlab.BCEWithLogitsLoss()
    value = loss(logits, target)
    assert value >= 0
    p = 1 / (1 + np.exp(-logits))  # safe here: |logits| <= 10
    naive = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    assert value == pytest.approx(naive, rel=1e-9, abs=1e-12)
    grad = loss.backward()
    assert grad.shape == logits.shape
    np.testing.assert_allclose(grad, numerical_gradient(loss, logits, target), rtol=1e-6, atol=1e-8)


def test_hand_computed_values():
    assert nnlab.MSELoss()(np.array([1.0, 2.0]), np.array([0.0, 4.0])) == 2.5  # (1 + 4) / 2
    # Uniform logits: every class has probability 1/C, so the loss is log C.
    assert nnlab.CrossEntropyLoss()(np.zeros((3, 4)), np.array([0, 1, 3])) == pytest.approx(
        math.log(4)
    )
    assert nnlab.BCEWithLogitsLoss()(np.zeros((2, 2)), np.ones((2, 2))) == pytest.approx(
        math.log(2)
    )
    ce = nnlab.CrossEntropyLoss()
    ce(np.zeros((2, 2)), np.array([0, 1]))
    np.testing.assert_allclose(ce.backward(), [[-0.25, 0.25], [0.25, -0.25]])


def test_backward_scales_with_grad_out(rng):
    pred, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    loss = nnlab.MSELoss()
    loss(pred, target)
    np.testing.assert_allclose(loss.backward(3.0), 3 * loss.backward())


def test_extreme_logits_are_finite_and_exact():
    logits = np.array([[1000.0, 0.0], [0.0, 1000.0], [-1e4, 1e4]])
    labels = np.array([0, 0, 1])
    # Underflow (exp(-1000) -> 0) is the correctly rounded result, so it is allowed.
    strict = np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")
    with strict, warnings.catch_warnings():
        warnings.simplefilter("error")
        ce = nnlab.CrossEntropyLoss()
        assert ce(logits, labels) == pytest.approx(1000 / 3, rel=1e-15)
        np.testing.assert_array_equal(ce.backward(), [[0, 0], [-1 / 3, 1 / 3], [0, 0]])
        bce = nnlab.BCEWithLogitsLoss()
        assert bce(np.array([1000.0, -1000.0]), np.array([1.0, 1.0])) == 500.0
        np.testing.assert_array_equal(bce.backward(), [0, -0.5])


# --- PyTorch parity ---------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("batch, classes", [(1, 2), (5, 3), (16, 10)])
def test_cross_entropy_matches_torch(torch, rng, batch, classes):
    logits = 4 * rng.standard_normal((batch, classes))
    labels = rng.integers(0, classes, batch)
    zt = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.CrossEntropyLoss()(zt, torch.tensor(labels))
    expected.backward()
    loss = nnlab.CrossEntropyLoss()
    assert loss(logits, labels) == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), zt.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
def test_mse_matches_torch(torch, rng, shape):
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    pt = torch.tensor(pred, requires_grad=True)
    expected = torch.nn.MSELoss()(pt, torch.tensor(target))
    expected.backward()
    loss = nnlab.MSELoss()
    assert loss(pred, target) == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), pt.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
def test_bce_with_logits_matches_torch(torch, rng, shape):
    logits = 5 * rng.standard_normal(shape)
    target = rng.uniform(0, 1, shape)
    target.flat[0], target.flat[-1] = 0.0, 1.0  # hard labels too
    zt = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.BCEWithLogitsLoss()(zt, torch.tensor(target))
    expected.backward()
    loss = nnlab.BCEWithLogitsLoss()
    assert loss(logits, target) == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), zt.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.torch
def test_reprs_match_torch(torch):
    assert repr(nnlab.MSELoss()) == repr(torch.nn.MSELoss())
    assert repr(nnlab.CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss())
    assert repr(nnlab.BCEWithLogitsLoss()) == repr(torch.nn.BCEWithLogitsLoss())


# --- dtypes and the module contract -----------------------------------------------------


def _example(loss_class, rng, dtype=np.float64):
    pred = rng.standard_normal((4, 3)).astype(dtype)
    if loss_class is nnlab.CrossEntropyLoss:
        return pred, rng.integers(0, 3, 4)
    if loss_class is nnlab.BCEWithLogitsLoss:
        return pred, rng.integers(0, 2, (4, 3)).astype(np.float64)
    return pred, rng.standard_normal((4, 3))  # a float64 target with a float32 prediction


@pytest.mark.parametrize("loss_class", LOSSES, ids=LOSS_IDS)
def test_float32_prediction_gives_float32_gradient(loss_class, rng):
    pred, target = _example(loss_class, rng, np.float32)
    loss = loss_class()
    value = loss(pred, target)
    assert isinstance(value, float)
    assert loss.backward().dtype == np.float32
    loss64 = loss_class()
    assert value == pytest.approx(loss64(pred.astype(np.float64), target), rel=1e-5)


@pytest.mark.parametrize("loss_class", LOSSES, ids=LOSS_IDS)
def test_losses_are_modules_without_parameters(loss_class):
    loss = loss_class()
    assert isinstance(loss, nnlab.Module)
    assert loss.parameters() == []
    assert loss.eval() is loss and not loss.training


@pytest.mark.parametrize("loss_class", LOSSES, ids=LOSS_IDS)
def test_backward_does_not_change_with_repeated_calls(loss_class, rng):
    loss = loss_class()
    loss(*_example(loss_class, rng))
    first = loss.backward()
    np.testing.assert_array_equal(loss.backward(), first)


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("loss_class", LOSSES, ids=LOSS_IDS)
def test_backward_before_forward_raises(loss_class):
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        loss_class().backward()


@pytest.mark.parametrize("loss_class", LOSSES, ids=LOSS_IDS)
def test_grad_out_must_be_a_number(loss_class, rng):
    loss = loss_class()
    loss(*_example(loss_class, rng))
    with pytest.raises(TypeError, match=r"grad_out must be a real number"):
        loss.backward(np.ones(3))


def test_cross_entropy_rejects_float_labels():
    with pytest.raises(
        TypeError, match=r"expected integer class labels.*got float64 \(use y\.astype\(int\)\)"
    ):
        nnlab.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_cross_entropy_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels in \[0, 3\).*got label 3 at index 1"):
        nnlab.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))


def test_cross_entropy_rejects_negative_labels():
    with pytest.raises(ValueError, match=r"labels in \[0, 3\).*got label -1 at index 0"):
        nnlab.CrossEntropyLoss()(np.zeros((2, 3)), np.array([-1, 0]))


def test_cross_entropy_rejects_mismatched_batch_sizes():
    with pytest.raises(ValueError, match=r"one label per row of logits; got 2 rows.*and 3 labels"):
        nnlab.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 1, 2]))


def test_cross_entropy_rejects_nan_logits():
    logits = np.zeros((2, 3))
    logits[1, 2] = np.nan
    with pytest.raises(
        nnlab.NonFiniteError, match=r"CrossEntropyLoss expected a finite logits.*\(1, 2\)"
    ):
        nnlab.CrossEntropyLoss()(logits, np.array([0, 1]))


def test_cross_entropy_rejects_one_dimensional_logits():
    with pytest.raises(
        ValueError, match=r"logits of shape \(batch, num_classes\); got \(3,\) \(1-D\)"
    ):
        nnlab.CrossEntropyLoss()(np.zeros(3), np.array([0, 1, 2]))


def test_cross_entropy_rejects_one_hot_labels():
    with pytest.raises(ValueError, match=r"labels of shape \(batch,\); got \(2, 3\).*argmax"):
        nnlab.CrossEntropyLoss()(np.zeros((2, 3)), np.eye(3, dtype=int)[:2])


def test_cross_entropy_rejects_an_empty_batch():
    with pytest.raises(ValueError, match=r"non-empty batch"):
        nnlab.CrossEntropyLoss()(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_mse_rejects_inf_prediction():
    with pytest.raises(nnlab.NonFiniteError, match=r"MSELoss expected a finite prediction"):
        nnlab.MSELoss()(np.array([1.0, np.inf]), np.array([0.0, 0.0]))


def test_mse_refuses_to_broadcast():
    with pytest.raises(
        ValueError, match=r"MSELoss\(\) expected target of the same shape.*\(4, 1\); got \(4,\)"
    ):
        nnlab.MSELoss()(np.zeros((4, 1)), np.zeros(4))


def test_bce_rejects_targets_outside_zero_one():
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]; got 2.0 at index \(1,\)"):
        nnlab.BCEWithLogitsLoss()(np.zeros(3), np.array([0.0, 2.0, 1.0]))


def test_bce_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"same shape as the prediction \(3,\); got \(2,\)"):
        nnlab.BCEWithLogitsLoss()(np.zeros(3), np.array([0.0, 1.0]))
