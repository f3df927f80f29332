"""Tests for nnlab.normalization: BatchNorm1d and LayerNorm vs PyTorch and central differences."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import BatchNorm1d, LayerNorm, NonFiniteError
from nnlab.gradcheck import check_module

SHAPES = [(2, 1), (5, 3), (16, 7), (33, 4)]


def _randomise_affine(layer, rng):
    """gamma, beta away from (1, 0), so that a bug in their gradients cannot hide."""
    layer.weight.value[...] = rng.uniform(0.5, 2.0, size=layer.weight.shape)
    layer.bias.value[...] = rng.normal(size=layer.bias.shape)


def _copy_affine_to_torch(torch, layer, twin):
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(layer.weight.value))
        twin.bias.copy_(torch.from_numpy(layer.bias.value))


def _forward_backward_torch(torch, twin, x, g):
    xt = torch.tensor(x, requires_grad=True)
    yt = twin(xt)
    yt.backward(torch.from_numpy(g))
    return yt.detach().numpy(), xt.grad.numpy()


# --- PyTorch parity -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_train_matches_torch(torch, shape, rng):
    n, c = shape
    bn = BatchNorm1d(c, momentum=0.3)
    twin = torch.nn.BatchNorm1d(c, momentum=0.3)
    _randomise_affine(bn, rng)
    _copy_affine_to_torch(torch, bn, twin)
    for _ in range(3):  # several batches: the running statistics and the gradients accumulate
        x = rng.normal(loc=2.0, scale=3.0, size=shape)
        g = rng.normal(size=shape)
        y_ref, dx_ref = _forward_backward_torch(torch, twin, x, g)
        y = bn(x)
        dx = bn.backward(g)
        np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.weight.grad, twin.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.bias.grad, twin.bias.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, twin.running_mean.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bn.running_var, twin.running_var.numpy(), rtol=1e-12, atol=1e-14)


def test_running_variance_is_unbiased(rng):
    x = rng.normal(size=(4, 3))
    bn = BatchNorm1d(3, momentum=1.0)  # momentum 1: the running stats become the batch's
    bn(x)
    np.testing.assert_allclose(bn.running_mean, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(bn.running_var, x.var(axis=0, ddof=1), rtol=1e-14)


@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_eval_matches_torch(torch, shape, rng):
    n, c = shape
    bn = BatchNorm1d(c)
    twin = torch.nn.BatchNorm1d(c)
    _randomise_affine(bn, rng)
    _copy_affine_to_torch(torch, bn, twin)
    for _ in range(2):
        x = rng.normal(loc=1.0, scale=2.0, size=(8, c))
        bn(x)
        twin(torch.from_numpy(x))
    bn.eval()
    twin.eval()
    x = rng.normal(size=shape)
    g = rng.normal(size=shape)
    y_ref, dx_ref = _forward_backward_torch(torch, twin, x, g)
    y = bn(x)
    dx = bn.backward(g)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.weight.grad, twin.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.bias.grad, twin.bias.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.running_var, twin.running_var.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape", [(1, 3), (5, 2), (16, 7), (9, 33)])
@pytest.mark.parametrize("as_tuple", [False, True])
def test_layernorm_matches_torch(torch, shape, as_tuple, rng):
    n, c = shape
    ln = LayerNorm((c,) if as_tuple else c)
    twin = torch.nn.LayerNorm(c)
    _randomise_affine(ln, rng)
    _copy_affine_to_torch(torch, ln, twin)
    for _ in range(2):
        x = rng.normal(loc=-1.0, scale=4.0, size=shape)
        g = rng.normal(size=shape)
        y_ref, dx_ref = _forward_backward_torch(torch, twin, x, g)
        y = ln(x)
        dx = ln.backward(g)
        np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ln.weight.grad, twin.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ln.bias.grad, twin.bias.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- gradient checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, mode",
    [
        (lambda: BatchNorm1d(4), "train"),
        (lambda: BatchNorm1d(4), "eval"),
        (lambda: LayerNorm(4), "train"),
    ],
    ids=["batchnorm-train", "batchnorm-eval", "layernorm"],
)
def test_gradcheck(make, mode, rng):
    layer = make()
    _randomise_affine(layer, rng)
    if isinstance(layer, BatchNorm1d):
        layer.running_mean[...] = rng.normal(size=4)
        layer.running_var[...] = rng.uniform(0.5, 2.0, size=4)
    layer.train(mode == "train")
    x = rng.normal(size=(6, 4))
    check_module(layer, x, rng=1).assert_ok(1e-6)


def test_batchnorm_train_gradient_has_the_mean_and_variance_terms(rng):
    # The train-mode gradient is NOT the affine one g gamma / sqrt(var + eps) that forgets
    # that the batch statistics depend on x (a classic bug, chapter 8).
    bn = BatchNorm1d(3)
    x = rng.normal(size=(5, 3))
    g = rng.normal(size=(5, 3))
    bn(x)
    full = bn.backward(g)
    naive = g * bn.weight.value / np.sqrt(x.var(axis=0) + bn.eps)
    assert np.abs(full - naive).max() > 0.1
    np.testing.assert_allclose(full.sum(axis=0), 0.0, atol=1e-12)  # shifting x changes nothing


# --- behaviour ----------------------------------------------------------------------------


def test_batchnorm_output_has_zero_mean_unit_std_per_feature(rng):
    x = rng.normal(loc=5.0, scale=[0.1, 3.0, 40.0], size=(200, 3))
    y = BatchNorm1d(3, eps=0.0)(x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-12)


def test_layernorm_output_has_zero_mean_unit_std_per_example(rng):
    x = rng.normal(loc=[[-3.0], [0.0], [10.0]], scale=[[0.1], [1.0], [50.0]], size=(3, 64))
    y = LayerNorm(64, eps=0.0)(x)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=1), 1.0, rtol=1e-12)


def test_batchnorm_train_and_eval_modes(rng):
    bn = BatchNorm1d(3, momentum=0.5)
    x = rng.normal(loc=4.0, size=(10, 3))
    y_train = bn(x)
    running = (bn.running_mean.copy(), bn.running_var.copy())

    bn.eval()
    y_eval = bn(x)
    assert not np.allclose(y_train, y_eval)  # running stats, not the batch's
    np.testing.assert_allclose(y_eval, (x - running[0]) / np.sqrt(running[1] + bn.eps))
    # eval leaves the running statistics alone and treats each example on its own
    np.testing.assert_array_equal(bn.running_mean, running[0])
    np.testing.assert_array_equal(bn.running_var, running[1])
    np.testing.assert_allclose(bn(x[:1]), y_eval[:1], rtol=1e-15)

    bn.train()
    np.testing.assert_allclose(bn(x), y_train, rtol=1e-12)  # batch stats again
    assert not np.allclose(bn.running_mean, running[0])


def test_batchnorm_backward_uses_the_mode_of_its_forward(rng):
    bn = BatchNorm1d(3)
    x, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    bn(x)
    expected = bn.backward(g)
    bn(x)
    bn.eval()  # switched between forward and backward: the cached batch statistics still hold
    np.testing.assert_allclose(bn.backward(g), expected, rtol=1e-15)


def test_layernorm_handles_batch_of_one_while_batchnorm_training_refuses(rng):
    x = rng.normal(size=(1, 5))
    y = LayerNorm(5)(x)
    assert y.shape == (1, 5)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training"):
        BatchNorm1d(5)(x)
    assert BatchNorm1d(5).eval()(x).shape == (1, 5)  # eval mode needs no batch statistics


def test_input_grad_false_returns_none_but_fills_parameter_grads(rng):
    for layer in (BatchNorm1d(3), LayerNorm(3)):
        layer(rng.normal(size=(4, 3)))
        assert layer.backward(np.ones((4, 3)), input_grad=False) is None
        np.testing.assert_allclose(layer.bias.grad, 4.0)


def test_state_dict_includes_running_stats_and_restores_them(rng):
    bn = BatchNorm1d(3)
    bn(rng.normal(loc=2.0, size=(8, 3)))
    state = bn.state_dict()
    assert set(state) == {"weight", "bias", "running_mean", "running_var"}
    np.testing.assert_array_equal(state["running_mean"], bn.running_mean)

    fresh = BatchNorm1d(3)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running_var, bn.running_var)
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(fresh.eval()(x), bn.eval()(x))
    assert set(LayerNorm(3).state_dict()) == {"weight", "bias"}


def test_parameters_and_initial_values():
    bn, ln = BatchNorm1d(4), LayerNorm(4)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(bn.weight.value, 1.0)
    np.testing.assert_array_equal(bn.bias.value, 0.0)
    np.testing.assert_array_equal(bn.running_mean, 0.0)
    np.testing.assert_array_equal(bn.running_var, 1.0)


@pytest.mark.parametrize(
    "make", [lambda: BatchNorm1d(3, dtype=np.float32), lambda: LayerNorm(3, dtype=np.float32)]
)
def test_float32_end_to_end(make, rng):
    layer = make()
    x = rng.normal(size=(6, 3)).astype(np.float32)
    for mode in (True, False):
        layer.train(mode)
        y = layer(x)
        dx = layer.backward(np.ones_like(y))
        assert y.dtype == np.float32 and dx.dtype == np.float32
    for _, p in layer.named_parameters():
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32
    for _, b in layer.named_buffers():
        assert b.dtype == np.float32


def test_reprs_match_torch():
    assert repr(BatchNorm1d(16)) == "BatchNorm1d(16, eps=1e-05, momentum=0.1)"
    assert repr(LayerNorm(16)) == "LayerNorm((16,), eps=1e-05)"
    assert repr(LayerNorm((16,), eps=1e-3)) == "LayerNorm((16,), eps=0.001)"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: BatchNorm1d(3), lambda: LayerNorm(3)])
def test_wrong_width_is_rejected(make, rng):
    layer = make()
    expected = r"expected input of shape \(batch, 3\); got \(4, 5\)"
    with pytest.raises(ValueError, match=expected):
        layer(rng.normal(size=(4, 5)))


@pytest.mark.parametrize("make", [lambda: BatchNorm1d(3), lambda: LayerNorm(3)])
def test_one_dimensional_input_is_rejected_with_a_hint(make):
    with pytest.raises(ValueError, match=r"got \(3,\) \(for one example, use x.reshape\(1, -1\)\)"):
        make()(np.zeros(3))


def test_batch_of_one_in_training_is_rejected():
    expected = r"BatchNorm1d\(2, .*\): Expected more than 1 value per channel"
    with pytest.raises(ValueError, match=expected):
        BatchNorm1d(2)(np.zeros((1, 2)))


@pytest.mark.parametrize(
    "make", [lambda: BatchNorm1d(3, eps=-1e-5), lambda: LayerNorm(3, eps=-1e-5)]
)
def test_negative_eps_is_rejected(make):
    with pytest.raises(ValueError, match=r"eps must be in \[0.0, inf\]; got -1e-05"):
        make()


@pytest.mark.parametrize("momentum", [-0.1, 1.5])
def test_momentum_outside_unit_interval_is_rejected(momentum):
    with pytest.raises(ValueError, match=rf"momentum must be in \[0.0, 1.0\]; got {momentum}"):
        BatchNorm1d(3, momentum=momentum)


def test_bad_normalized_shape_is_rejected():
    with pytest.raises(ValueError, match=r"1-tuple \(C,\); got \(3, 4\)"):
        LayerNorm((3, 4))
    with pytest.raises(TypeError, match="normalized_shape must be an int"):
        LayerNorm(3.0)


@pytest.mark.parametrize("make", [lambda: BatchNorm1d(3), lambda: LayerNorm(3)])
def test_nan_input_is_rejected(make):
    x = np.zeros((4, 3))
    x[2, 1] = np.nan
    expected = r"got 1 NaN/inf value\(s\), the first at index \(2, 1\)"
    with pytest.raises(NonFiniteError, match=expected):
        make()(x)


@pytest.mark.parametrize(
    "make", [lambda: BatchNorm1d(3, dtype=np.float32), lambda: LayerNorm(3, dtype=np.float32)]
)
def test_float64_input_to_float32_layer_is_a_type_error(make):
    with pytest.raises(TypeError, match="Convert with x.astype"):
        make()(np.zeros((4, 3)))


@pytest.mark.parametrize("make", [lambda: BatchNorm1d(3), lambda: LayerNorm(3)])
def test_backward_before_forward_and_bad_grad_shape(make):
    layer = make()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((4, 3)))
    layer(np.arange(12.0).reshape(4, 3))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(4, 3\)"):
        layer.backward(np.zeros((3, 4)))
