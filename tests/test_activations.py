"""Tests for nnlab.activations: properties, derivatives, PyTorch parity, errors, dtypes."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import nnlab
from nnlab import activations as A

PROPERTY = settings(max_examples=50, deadline=None)


def float_arrays(bound: float = 30.0, max_dims: int = 3) -> st.SearchStrategy[np.ndarray]:
    return arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=5),
        elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
    )


def away_from_zero(z: np.ndarray) -> np.ndarray:
    """Move entries off the kink of ReLU-like functions, where no derivative exists."""
    return np.where(np.abs(z) < 1e-3, 0.5, z)


def central_difference(f, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Elementwise derivative of an elementwise f."""
    return (f(z + h) - f(z - h)) / (2 * h)


# Each elementwise activation: (name, function, derivative, module factory, has a kink at 0).
ELEMENTWISE = [
    ("relu", A.relu, A.relu_grad, nnlab.ReLU, True),
    ("leaky_relu", A.leaky_relu, A.leaky_relu_grad, nnlab.LeakyReLU, True),
    (
        "leaky_relu_0.2",
        lambda z: A.leaky_relu(z, 0.2),
        lambda z: A.leaky_relu_grad(z, 0.2),
        lambda: nnlab.LeakyReLU(0.2),
        True,
    ),
    ("sigmoid", A.sigmoid, A.sigmoid_grad, nnlab.Sigmoid, False),
    ("tanh", A.tanh, A.tanh_grad, nnlab.Tanh, False),
    ("gelu", A.gelu, A.gelu_grad, nnlab.GELU, False),
    (
        "gelu_tanh",
        lambda z: A.gelu(z, "tanh"),
        lambda z: A.gelu_grad(z, "tanh"),
        lambda: nnlab.GELU(approximate="tanh"),
        False,
    ),
]
ELEMENTWISE_IDS = [case[0] for case in ELEMENTWISE]

MODULES = [
    nnlab.ReLU,
    nnlab.LeakyReLU,
    nnlab.Sigmoid,
    nnlab.Tanh,
    nnlab.GELU,
    lambda: nnlab.GELU(approximate="tanh"),
    nnlab.Softmax,
]
MODULE_IDS = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "GELU-tanh", "Softmax"]


# --- properties -------------------------------------------------------------------------


@pytest.mark.parametrize("name, f, df, make, kink", ELEMENTWISE, ids=ELEMENTWISE_IDS)
@PROPERTY
@given(z=float_arrays())
def test_shape_and_dtype_preserved(name, f, df, make, kink, z):
    for out in (f(z), df(z), make()(z)):
        assert out.shape == z.shape
        assert out.dtype == np.float64


@pytest.mark.parametrize("name, f, df, make, kink", ELEMENTWISE, ids=ELEMENTWISE_IDS)
@PROPERTY
@given(z=float_arrays(bound=20.0))
def test_derivative_matches_central_differences(name, f, df, make, kink, z):
    if kink:
        z = away_from_zero(z)
    np.testing.assert_allclose(df(z), central_difference(f, z), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name, f, df, make, kink", ELEMENTWISE, ids=ELEMENTWISE_IDS)
@PROPERTY
@given(z=float_arrays(), seed=st.integers(0, 2**32 - 1))
def test_module_backward_is_grad_out_times_derivative(name, f, df, make, kink, z, seed):
    module = make()
    g = np.random.default_rng(seed).standard_normal(z.shape)
    np.testing.assert_array_equal(module(z), f(z))
    np.testing.assert_allclose(module.backward(g), g * df(z), rtol=1e-12, atol=1e-15)


@PROPERTY
@given(z=float_arrays(bound=1e4))
def test_ranges(z):
    s = A.sigmoid(z)
    assert np.all((s >= 0) & (s <= 1))
    t = A.tanh(z)
    assert np.all((t >= -1) & (t <= 1))
    assert np.all(A.relu(z) >= 0)
    # The maxima 1/4 and 1 are reached at z = 0; rounding may overshoot them by an ulp.
    ulp = 1 + 1e-15
    assert np.all((A.sigmoid_grad(z) >= 0) & (A.sigmoid_grad(z) <= 0.25 * ulp))
    assert np.all((A.tanh_grad(z) >= 0) & (A.tanh_grad(z) <= ulp))
    # GELU lies between min(z, 0) - 0.17 (its minimum) and max(z, 0).
    for approximate in ("none", "tanh"):
        g = A.gelu(z, approximate)
        assert np.all(g <= np.maximum(z, 0) + 1e-12)
        assert np.all(g >= -0.1701)


@pytest.mark.parametrize("axis", [-1, 0])
@PROPERTY
@given(z=float_arrays(bound=1e3))
def test_softmax_is_a_distribution_and_log_softmax_its_log(axis, z):
    s = A.softmax(z, axis=axis)
    assert s.shape == z.shape
    assert np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-12)
    log_s = A.log_softmax(z, axis=axis)
    assert np.all(log_s <= 0)
    assert np.all(np.isfinite(log_s))
    np.testing.assert_allclose(np.exp(log_s), s, rtol=1e-12, atol=1e-300)


@PROPERTY
@given(z=float_arrays(bound=50.0), shift=st.floats(-1e3, 1e3))
def test_softmax_ignores_a_constant_shift(z, shift):
    np.testing.assert_allclose(A.softmax(z + shift), A.softmax(z), rtol=1e-9, atol=1e-15)


@PROPERTY
@given(z=float_arrays(bound=10.0, max_dims=2), seed=st.integers(0, 2**32 - 1))
def test_softmax_backward_matches_central_differences(z, seed):
    g = np.random.default_rng(seed).standard_normal(z.shape)
    expected = np.empty_like(z)
    h = 1e-6
    for i in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[i] = h
        expected[i] = (np.sum(g * A.softmax(z + e)) - np.sum(g * A.softmax(z - e))) / (2 * h)
    got = A.softmax_backward(A.softmax(z), g)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    module = nnlab.Softmax()
    module(z)
    np.testing.assert_allclose(module.backward(g), got, rtol=1e-12, atol=1e-15)


def test_softmax_backward_along_the_first_axis_matches_the_jacobian(rng):
    z = rng.standard_normal((4, 3))
    g = rng.standard_normal((4, 3))
    s = A.softmax(z, axis=0)
    for j in range(3):
        jacobian = np.diag(s[:, j]) - np.outer(s[:, j], s[:, j])
        np.testing.assert_allclose(A.softmax_backward(s, g, axis=0)[:, j], jacobian @ g[:, j])


def test_hand_computed_values():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(A.relu(z), [0, 0, 0, 0.5, 2])
    np.testing.assert_array_equal(A.relu_grad(z), [0, 0, 0, 1, 1])  # 0 at the kink, as PyTorch
    np.testing.assert_allclose(A.leaky_relu(z, 0.1), [-0.2, -0.05, 0, 0.5, 2])
    np.testing.assert_allclose(A.leaky_relu_grad(z, 0.1), [0.1, 0.1, 0.1, 1, 1])
    assert A.sigmoid(np.array(0.0)) == 0.5
    assert A.sigmoid_grad(np.array(0.0)) == 0.25
    assert A.tanh_grad(np.array(0.0)) == 1.0
    # GELU(1) = Phi(1) = (1 + erf(1/sqrt 2)) / 2; GELU'(0) = 1/2.
    np.testing.assert_allclose(
        A.gelu(np.array(1.0)), 0.5 * (1 + math.erf(math.sqrt(0.5))), rtol=1e-15
    )
    assert A.gelu_grad(np.array(0.0)) == 0.5
    np.testing.assert_allclose(A.softmax(np.log(np.array([1.0, 2.0, 5.0]))), [0.125, 0.25, 0.625])


def test_erf_agrees_with_math_erf_everywhere():
    x = np.concatenate([np.linspace(-30, 30, 4001), [0.46875, -0.46875, 4.0, -4.0, 0.0]])
    expected = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(A._erfc(x), expected, rtol=1e-14, atol=1e-300)
    np.testing.assert_array_equal(A._erfc(np.array([np.inf, -np.inf, 1e300])), [0, 2, 0])
    assert np.isnan(A._erfc(np.array([np.nan]))).all()


# --- extreme inputs ---------------------------------------------------------------------


# Overflow, division by zero and invalid operations must never happen. Underflow is
# allowed: exp(-1000) rounding to 0 is the correctly rounded result, not an error.
STRICT = {"over": "raise", "divide": "raise", "invalid": "raise", "under": "ignore"}


@pytest.mark.parametrize("big", [1e3, 1e4, 1e300])
def test_extreme_inputs_are_finite_and_exact(big):
    z = np.array([-big, -1.0, 0.0, 1.0, big])
    with np.errstate(**STRICT), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert A.sigmoid(np.array(big)) == 1.0
        assert A.sigmoid(np.array(-big)) == 0.0
        np.testing.assert_array_equal(A.tanh(np.array([-big, big])), [-1, 1])
        np.testing.assert_array_equal(A.sigmoid_grad(np.array([-big, big])), [0, 0])
        np.testing.assert_array_equal(A.tanh_grad(np.array([-big, big])), [0, 0])
        for approximate in ("none", "tanh"):
            np.testing.assert_array_equal(A.gelu(np.array([-big, big]), approximate), [0, big])
            np.testing.assert_array_equal(A.gelu_grad(np.array([-big, big]), approximate), [0, 1])
        np.testing.assert_array_equal(A.softmax(np.array([big, 0.0])), [1, 0])
        np.testing.assert_array_equal(A.softmax(np.array([-big, 0.0])), [0, 1])
        np.testing.assert_array_equal(A.log_softmax(np.array([big, 0.0])), [0, -big])
        np.testing.assert_array_equal(A.log_softmax(np.array([big, big])), [-math.log(2)] * 2)
        for make in MODULES:
            module = make()
            out = module(z)
            grad = module.backward(np.ones_like(out))
            assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))


# --- PyTorch parity ---------------------------------------------------------------------

SHAPES = [(7,), (4, 5), (2, 3, 4)]


def _torch_pairs(torch):
    F = torch.nn.functional
    return [
        (A.relu, A.relu_grad, nnlab.ReLU(), torch.relu),
        (A.leaky_relu, A.leaky_relu_grad, nnlab.LeakyReLU(), F.leaky_relu),
        (
            lambda z: A.leaky_relu(z, 0.3),
            lambda z: A.leaky_relu_grad(z, 0.3),
            nnlab.LeakyReLU(negative_slope=0.3),
            lambda t: F.leaky_relu(t, 0.3),
        ),
        (
            lambda z: A.leaky_relu(z, -0.5),
            lambda z: A.leaky_relu_grad(z, -0.5),
            nnlab.LeakyReLU(-0.5),
            lambda t: F.leaky_relu(t, -0.5),
        ),
        (A.sigmoid, A.sigmoid_grad, nnlab.Sigmoid(), torch.sigmoid),
        (A.tanh, A.tanh_grad, nnlab.Tanh(), torch.tanh),
        (A.gelu, A.gelu_grad, nnlab.GELU(), F.gelu),
        (
            lambda z: A.gelu(z, "tanh"),
            lambda z: A.gelu_grad(z, "tanh"),
            nnlab.GELU("tanh"),
            lambda t: F.gelu(t, approximate="tanh"),
        ),
    ]


@pytest.mark.torch
@pytest.mark.parametrize("shape", SHAPES)
def test_elementwise_activations_match_torch(torch, rng, shape):
    z = 4 * rng.standard_normal(shape)
    z.flat[0] = 0.0  # the kink: both libraries take the derivative of ReLU at 0 to be 0
    g = rng.standard_normal(shape)
    for f, df, module, torch_f in _torch_pairs(torch):
        zt = torch.tensor(z, requires_grad=True)
        out_t = torch_f(zt)
        out_t.backward(torch.tensor(g))
        expected, expected_grad = out_t.detach().numpy(), zt.grad.numpy()
        np.testing.assert_allclose(f(z), expected, rtol=1e-10, atol=1e-14, err_msg=repr(module))
        np.testing.assert_allclose(
            module(z), expected, rtol=1e-10, atol=1e-14, err_msg=repr(module)
        )
        np.testing.assert_allclose(
            g * df(z), expected_grad, rtol=1e-10, atol=1e-14, err_msg=repr(module)
        )
        np.testing.assert_allclose(
            module.backward(g), expected_grad, rtol=1e-10, atol=1e-14, err_msg=repr(module)
        )


@pytest.mark.torch
@pytest.mark.parametrize("shape, dim", [((7,), 0), ((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1)])
def test_softmax_matches_torch(torch, rng, shape, dim):
    z = 5 * rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    zt = torch.tensor(z, requires_grad=True)
    out_t = torch.softmax(zt, dim=dim)
    out_t.backward(torch.tensor(g))
    module = nnlab.Softmax(dim=dim)
    np.testing.assert_allclose(module(z), out_t.detach().numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(module.backward(g), zt.grad.numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(
        A.log_softmax(z, axis=dim), torch.log_softmax(torch.tensor(z), dim=dim).numpy(), rtol=1e-10
    )


@pytest.mark.torch
def test_reprs_match_torch(torch):
    pairs = [
        (nnlab.ReLU(), torch.nn.ReLU()),
        (nnlab.LeakyReLU(), torch.nn.LeakyReLU()),
        (nnlab.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nnlab.Sigmoid(), torch.nn.Sigmoid()),
        (nnlab.Tanh(), torch.nn.Tanh()),
        (nnlab.GELU(), torch.nn.GELU()),
        (nnlab.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
        (nnlab.Softmax(dim=1), torch.nn.Softmax(dim=1)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


# --- dtypes and the module contract -----------------------------------------------------


@pytest.mark.parametrize("make", MODULES, ids=MODULE_IDS)
def test_float32_stays_float32(make, rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    module = make()
    out = module(x)
    assert out.dtype == np.float32
    assert module.backward(np.ones_like(out)).dtype == np.float32


@pytest.mark.parametrize("name, f, df, make, kink", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_pure_functions_keep_float32(name, f, df, make, kink, rng):
    z = (3 * rng.standard_normal((3, 4))).astype(np.float32)
    assert f(z).dtype == np.float32
    assert df(z).dtype == np.float32
    np.testing.assert_allclose(f(z), f(z.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_softmax_functions_keep_float32(rng):
    z = rng.standard_normal((3, 4)).astype(np.float32)
    s = A.softmax(z)
    assert s.dtype == A.log_softmax(z).dtype == np.float32
    assert A.softmax_backward(s, np.ones_like(s)).dtype == np.float32


@pytest.mark.parametrize("make", MODULES, ids=MODULE_IDS)
def test_input_grad_false_returns_none(make, rng):
    module = make()
    out = module(rng.standard_normal((2, 3)))
    assert module.backward(np.ones_like(out), input_grad=False) is None
    assert module.parameters() == []


@pytest.mark.parametrize("make", MODULES, ids=MODULE_IDS)
def test_integer_and_list_inputs_become_float64(make):
    module = make()
    assert module([[1, -2, 3]]).dtype == np.float64


def test_every_module_class_is_exported_at_the_top_level():
    # Classes are top-level names (nnlab.ReLU), as in torch.nn; the pure functions
    # stay in their namespace (nnlab.activations.relu), as in torch.nn.functional.
    classes = [name for name in A.__all__ if isinstance(getattr(A, name), type)]
    assert len(classes) == 6
    for name in classes:
        assert getattr(nnlab, name) is getattr(A, name)


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("make", MODULES, ids=MODULE_IDS)
def test_backward_before_forward_raises(make):
    module = make()
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        module.backward(np.ones((2, 3)))


@pytest.mark.parametrize("make", MODULES, ids=MODULE_IDS)
def test_grad_out_of_wrong_shape_raises(make):
    module = make()
    module(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(2, 3\).*got \(3, 2\)"):
        module.backward(np.ones((3, 2)))


def test_leaky_relu_slope_must_be_a_number():
    with pytest.raises(
        TypeError, match=r"LeakyReLU: negative_slope must be a real number; got 'a'"
    ):
        nnlab.LeakyReLU("a")


def test_leaky_relu_slope_must_be_finite():
    with pytest.raises(ValueError, match=r"LeakyReLU: negative_slope must be finite"):
        nnlab.LeakyReLU(float("nan"))


def test_gelu_approximation_must_be_known():
    with pytest.raises(ValueError, match=r"GELU: approximate must be 'none' or 'tanh'; got 'fast'"):
        nnlab.GELU(approximate="fast")


def test_gelu_approximation_must_be_a_string():
    with pytest.raises(TypeError, match=r"GELU: approximate must be a str.*got True"):
        nnlab.GELU(approximate=True)


def test_gelu_function_rejects_unknown_approximation():
    with pytest.raises(ValueError, match=r"gelu_grad: approximate must be 'none' or 'tanh'"):
        A.gelu_grad(np.zeros(3), approximate="erf")


def test_softmax_dim_must_be_an_int():
    with pytest.raises(TypeError, match=r"Softmax: dim must be an int; got 1.5"):
        nnlab.Softmax(dim=1.5)


def test_softmax_dim_must_exist():
    with pytest.raises(
        ValueError, match=r"Softmax\(dim=2\) expected input with a dimension 2; got shape \(3, 4\)"
    ):
        nnlab.Softmax(dim=2)(np.zeros((3, 4)))


def test_non_numeric_input_raises():
    with pytest.raises(TypeError, match=r"ReLU expected a numeric array"):
        nnlab.ReLU()(np.array(["a", "b"]))
