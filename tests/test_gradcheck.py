"""The gradient checker itself: it must catch wrong backward passes, say where, and leave
the module exactly as it found it."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import Dropout, Linear, Module, Parameter, Sequential
from nnlab.gradcheck import (
    GradcheckReport,
    check_function,
    check_loss,
    check_module,
    numerical_gradient,
    relative_error,
)


class LinearDroppedBiasGrad(Linear):
    """A typical bug: the bias gradient is never accumulated."""

    def backward(self, grad_out, input_grad=True):
        saved = self.bias.grad.copy()
        result = super().backward(grad_out, input_grad)
        self.bias.grad[...] = saved
        return result


class LinearMissingTranspose(Linear):
    """A typical bug: dL/dx = g W^T instead of g W (only runs when W is square)."""

    def backward(self, grad_out, input_grad=True):
        super().backward(grad_out, input_grad=False)
        return grad_out @ self.weight.value.T


class LinearOneWrongEntry(Linear):
    """A bug confined to one entry, so the report must point at exactly that index."""

    def backward(self, grad_out, input_grad=True):
        result = super().backward(grad_out, input_grad)
        self.weight.grad[2, 1] += 0.05
        return result


class RunningMean(Module):
    """y = w * x, plus a buffer that every training forward moves (like batch norm's)."""

    _buffer_names = ("running_mean",)

    def __init__(self) -> None:
        super().__init__()
        self.w = Parameter(np.linspace(0.5, 1.5, 4))
        self.running_mean = np.zeros(4)
        self._x: np.ndarray | None = None

    def forward(self, x):
        if self.training:
            self.running_mean += 0.1 * (x.mean(axis=0) - self.running_mean)
        self._x = x
        return self.w.value * (x - self.running_mean) if not self.training else self.w.value * x

    def backward(self, grad_out, input_grad=True):
        centred = self._x if self.training else self._x - self.running_mean
        self.w.grad += np.sum(grad_out * centred, axis=0)
        return grad_out * self.w.value if input_grad else None


def test_numerical_gradient_of_a_known_function_and_x_is_restored_bit_for_bit(rng) -> None:
    x = rng.standard_normal((3, 4))
    original = x.copy()
    grad = numerical_gradient(lambda a: np.sum(a**3) + np.sum(np.sin(a)), x)
    np.testing.assert_allclose(grad, 3 * original**2 + np.cos(original), rtol=1e-8)
    assert np.array_equal(x, original)


def test_numerical_gradient_refuses_float32() -> None:
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda a: a.sum(), np.ones(3, dtype=np.float32))


def test_relative_error_conventions() -> None:
    err = relative_error(np.array([1.0, 1.0, 0.0, 2.0]), np.array([1.0, -1.0, 0.0, 2.0 + 2e-8]))
    np.testing.assert_allclose(err, [0.0, 1.0, 0.0, 5e-9], rtol=1e-6)
    # A true zero whose central difference is rounding noise is judged against the
    # array's scale, not against its own noise.
    assert relative_error(np.array([0.0, 1.0]), np.array([1e-12, 1.0])).max() < 1e-8
    assert relative_error(np.zeros(3), np.zeros(3)).max() == 0.0


def test_a_correct_module_passes_with_every_parameter_named(rng) -> None:
    net = Sequential(Linear(3, 4, rng=0), Dropout(0.3, rng=1), Linear(4, 2, rng=2))
    report = check_module(net, rng.standard_normal((5, 3)), rng=0)
    assert list(report.entries) == ["input", "0.weight", "0.bias", "2.weight", "2.bias"]
    assert report.max_rel_error < 1e-8
    assert report.ok() and report.ok(tol=1e-7)
    report.assert_ok()


def test_detects_a_dropped_bias_gradient(rng) -> None:
    net = Sequential(Linear(3, 4, rng=0), LinearDroppedBiasGrad(4, 2, rng=1))
    report = check_module(net, rng.standard_normal((5, 3)), rng=0)
    assert not report.ok()
    assert report.worst_name == "1.bias"
    assert report.errors["1.bias"] == pytest.approx(1.0)
    assert report.errors["1.weight"] < 1e-8 and report.errors["0.bias"] < 1e-8
    with pytest.raises(AssertionError, match=r"1\.bias"):
        report.assert_ok()


def test_detects_a_missing_transpose_in_the_input_gradient(rng) -> None:
    layer = LinearMissingTranspose(4, 4, rng=0)
    report = check_module(layer, rng.standard_normal((3, 4)), rng=1)
    assert report.worst_name == "input"
    assert report.errors["input"] > 1e-2
    assert report.errors["weight"] < 1e-8


def test_names_the_exact_parameter_and_index(rng) -> None:
    net = Sequential(Linear(3, 3, rng=0), LinearOneWrongEntry(3, 4, rng=1))
    report = check_module(net, rng.standard_normal((6, 3)), rng=2)
    worst = report.worst
    assert (worst.name, worst.index) == ("1.weight", (2, 1))
    assert worst.analytic - worst.numerical == pytest.approx(0.05, rel=1e-6)
    text = str(report)
    assert "1.weight[2, 1]" in text
    row = next(line for line in text.splitlines() if line.startswith("1.weight "))
    assert "(4, 3)" in row and "(2, 1)" in row


def test_report_is_a_table_with_one_row_per_name(rng) -> None:
    report = check_module(Linear(2, 3, rng=0), rng.standard_normal((4, 2)), rng=0)
    lines = str(report).splitlines()
    assert lines[0].startswith("Gradient check of Linear(in_features=2, out_features=3, bias=True)")
    assert lines[1].split() == ["name", "shape", "max", "rel", "error", "worst", "index"]
    assert [line.split()[0] for line in lines[2:5]] == ["input", "weight", "bias"]
    assert lines[-1].startswith("worst: ")
    assert isinstance(report, GradcheckReport)


def test_restores_values_grads_buffers_mode_and_rng_state(rng) -> None:
    dropout_rng = np.random.default_rng(5)
    net = Sequential(Linear(4, 4, rng=0), RunningMean(), Dropout(0.5, rng=dropout_rng))
    x = rng.standard_normal((6, 4))
    net(x)  # move the running mean away from zero first
    for p in net.parameters():
        p.grad += 0.25  # gradients already accumulated, e.g. from an earlier batch
    values = [p.value.copy() for p in net.parameters()]
    grads = [p.grad for p in net.parameters()]
    buffers = {name: b.copy() for name, b in net.named_buffers()}
    rng_state = dropout_rng.bit_generator.state

    for mode in (True, False):
        net.train(mode)
        report = check_module(net, x, rng=0)
        report.assert_ok()
        for p, v, g in zip(net.parameters(), values, grads):
            assert np.array_equal(p.value, v)
            assert p.grad is g and np.all(g == 0.25)
        for name, b in net.named_buffers():
            assert np.array_equal(b, buffers[name]), name
        assert all(m.training is mode for m in net.modules())
        assert dropout_rng.bit_generator.state == rng_state


def test_dropout_in_training_is_checkable_because_the_mask_repeats(rng) -> None:
    report = check_module(Dropout(0.5, rng=3), rng.standard_normal((4, 5)), rng=0)
    assert report.max_rel_error < 1e-9


def test_refuses_a_float32_module() -> None:
    with pytest.raises(TypeError, match="float64 module.*'weight'.*float32"):
        check_module(Linear(2, 2, rng=0, dtype=np.float32), np.ones((1, 2), dtype=np.float32))


def test_refuses_something_that_is_not_a_module() -> None:
    with pytest.raises(TypeError, match="check_module expected a nnlab Module; got ufunc"):
        check_module(np.tanh, np.ones((2, 2)))


class HalfSquaredError:
    """L = mean((pred - target)^2) / 2, a loss written here so the checker is tested alone."""

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = factor  # 1 is right; anything else is a bug in backward

    def __call__(self, pred, target):
        self._diff = pred - target
        return float(0.5 * np.mean(self._diff**2))

    def backward(self):
        return self.factor * self._diff / self._diff.size

    def __repr__(self) -> str:
        return "HalfSquaredError()"


def test_check_loss_passes_a_right_backward_and_fails_a_wrong_one(rng) -> None:
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    good = check_loss(HalfSquaredError(), pred, target)
    assert list(good.entries) == ["pred"] and good.max_rel_error < 1e-8
    bad = check_loss(HalfSquaredError(factor=2.0), pred, target)
    assert bad.max_rel_error == pytest.approx(1 / 3, rel=1e-6)  # |2n - n| / (2n + n)


def test_check_function_on_an_elementwise_function(rng) -> None:
    x = rng.standard_normal((5, 4)) * 3
    assert check_function(np.tanh, lambda z: 1 - np.tanh(z) ** 2, x).max_rel_error < 1e-8
    wrong = check_function(np.tanh, lambda z: 1 - np.tanh(z), x)
    assert not wrong.ok() and wrong.worst_name == "x"
