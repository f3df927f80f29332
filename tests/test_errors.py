"""Bad input to layers and modules: each error names the layer, what it expected and what
it got. (Loss and activation errors are tested in test_losses.py / test_activations.py.)"""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnlab import Dropout, Identity, Linear, NonFiniteError, Residual, Sequential, mlp

LINEAR = re.escape("Linear(in_features=3, out_features=2, bias=True)")


def test_linear_wrong_width_exact_message() -> None:
    message = (
        "Linear(in_features=3, out_features=2, bias=True) expected input of shape (batch, 3); "
        "got (4, 5)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Linear(3, 2, rng=0)(np.ones((4, 5)))


def test_linear_one_dimensional_input_suggests_reshape() -> None:
    with pytest.raises(
        ValueError,
        match=LINEAR + r" expected input of shape \(batch, 3\); got \(3,\) "
        r"\(for one example, use x\.reshape\(1, -1\)\)",
    ):
        Linear(3, 2, rng=0)(np.ones(3))


def test_linear_three_dimensional_input() -> None:
    with pytest.raises(
        ValueError, match=LINEAR + r" expected input of shape \(batch, 3\); got \(2, 4, 3\)"
    ):
        Linear(3, 2, rng=0)(np.ones((2, 4, 3)))


def test_nan_input() -> None:
    x = np.ones((4, 3))
    x[1, 2] = np.nan
    with pytest.raises(
        NonFiniteError,
        match=LINEAR + r" expected a finite input; got 1 NaN/inf "
        r"value\(s\), the first at index \(1, 2\) \(nan\)",
    ):
        Linear(3, 2, rng=0)(x)


def test_inf_input_is_a_value_error() -> None:
    x = np.ones((4, 3))
    x[0, 0] = np.inf
    x[3, 1] = -np.inf
    with pytest.raises(
        ValueError,
        match=LINEAR + r" expected a finite input; got 2 NaN/inf value\(s\), "
        r"the first at index \(0, 0\) \(inf\)",
    ):
        Linear(3, 2, rng=0)(x)


def test_float64_into_a_float32_linear() -> None:
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    with pytest.raises(
        TypeError,
        match=LINEAR + r" has float32 weights and expected float32 input; "
        r"got float64\. Convert with x\.astype\(np\.float32\)",
    ):
        layer(np.ones((4, 3)))


@pytest.mark.parametrize(
    "x, got", [([["a", "b", "c"]], "dtype <U1 from list"), (object(), "dtype object")]
)
def test_non_numeric_input(x, got) -> None:
    with pytest.raises(
        TypeError,
        match=LINEAR + r" expected a numeric array \(float, int or bool\); got " + re.escape(got),
    ):
        Linear(3, 2, rng=0)(x)


def test_ragged_input() -> None:
    with pytest.raises(TypeError, match=LINEAR + " expected a numeric array; got list"):
        Linear(3, 2, rng=0)([[1.0, 2.0, 3.0], [1.0]])


@pytest.mark.parametrize(
    "module, name",
    [
        (Linear(3, 2, rng=0), LINEAR),
        (Sequential(Linear(3, 2, rng=0)), LINEAR),  # the layer that has no cache says so
        (Residual(Linear(3, 3, rng=0)), r"Residual\("),
        (Dropout(0.5, rng=0), re.escape("Dropout(p=0.5)")),
        (Identity(), re.escape("Identity()")),
    ],
    ids=["Linear", "Sequential", "Residual", "Dropout", "Identity"],
)
def test_backward_before_forward(module, name) -> None:
    with pytest.raises(
        RuntimeError,
        match="(?s)"
        + name
        + r".*backward\(\) called before forward\(\); run the forward pass first",
    ):
        module.backward(np.ones((4, 2)))


@pytest.mark.parametrize(
    "module, x, grad, expected, name",
    [
        (Linear(3, 2, rng=0), (4, 3), (4, 3), (4, 2), LINEAR),
        (Residual(Linear(3, 3, rng=0)), (4, 3), (4, 2), (4, 3), r"Residual\("),
        (Dropout(0.5, rng=0), (4, 3), (4, 1), (4, 3), re.escape("Dropout(p=0.5)")),
        (Identity(), (4, 3), (3, 4), (4, 3), re.escape("Identity()")),
    ],
    ids=["Linear", "Residual", "Dropout", "Identity"],
)
def test_grad_out_of_the_wrong_shape(module, x, grad, expected, name) -> None:
    module(np.ones(x))
    with pytest.raises(
        ValueError,
        match="(?s)"
        + name
        + r".*\.backward expected grad_out of shape "
        + re.escape(f"{expected} (the shape of the forward output); got {grad}"),
    ):
        module.backward(np.ones(grad))


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: Linear(0, 3), ValueError, "Linear: in_features must be >= 1; got 0"),
        (lambda: Linear(3, -2), ValueError, "Linear: out_features must be >= 1; got -2"),
        (
            lambda: Linear(2.5, 3),
            TypeError,
            r"Linear: in_features must be an int; got 2\.5 \(float\)",
        ),
        (
            lambda: Linear(True, 3),
            TypeError,
            r"Linear: in_features must be an int; got True \(bool\)",
        ),
        (
            lambda: Linear(2, 3, dtype=np.int32),
            TypeError,
            "dtype must be a floating type; got int32",
        ),
        (
            lambda: Linear(2, 3, init="kaiming"),
            ValueError,
            (
                r"Linear\(in_features=2, out_features=3, bias=True\): "
                r"init must be one of \[.*'he_uniform'.*\] or a callable; got 'kaiming'"
            ),
        ),
        (
            lambda: Linear(2, 3, rng="7"),
            TypeError,
            "Linear: rng must be a numpy.random.Generator, an int seed or None; got str",
        ),
        (lambda: Dropout(1.5), ValueError, r"Dropout: p must be in \[0\.0, 1\.0\]; got 1\.5"),
        (lambda: Dropout(-0.1), ValueError, r"Dropout: p must be in \[0\.0, 1\.0\]; got -0\.1"),
        (lambda: Dropout("a"), TypeError, r"Dropout: p must be a real number; got 'a' \(str\)"),
        (lambda: Dropout(float("nan")), ValueError, "Dropout: p must be finite; got nan"),
        (
            lambda: Dropout(0.5, rng=np.random.RandomState(0)),
            TypeError,
            "Dropout: rng must be a numpy.random.Generator, an int seed or None; got RandomState",
        ),
        (lambda: Residual(np.tanh), TypeError, "Residual expected a Module; got ufunc"),
        (
            lambda: Sequential(Linear(2, 2), "relu"),
            TypeError,
            "Sequential expected Module arguments; argument 1 is str",
        ),
        (lambda: mlp([2, 3], rng=1.5), TypeError, "mlp: rng must be a numpy.random.Generator"),
    ],
)
def test_bad_constructor_arguments(make, error, message) -> None:
    with pytest.raises(error, match=message):
        make()


def test_residual_shape_mismatch_names_the_inner_module() -> None:
    with pytest.raises(
        ValueError,
        match=r"Residual expected its module to keep the input shape \(4, 3\); "
        r"Linear returned \(4, 2\)",
    ):
        Residual(Linear(3, 2, rng=0))(np.ones((4, 3)))


def test_load_state_dict_mismatch() -> None:
    net = Sequential(Linear(3, 2, rng=0))
    with pytest.raises(
        ValueError,
        match=r"Sequential\.load_state_dict: keys do not match; "
        r"missing \['0\.bias'\], unexpected \[\]",
    ):
        net.load_state_dict({"0.weight": np.zeros((2, 3))})
    with pytest.raises(
        ValueError,
        match=r"Sequential\.load_state_dict: '0\.weight' expected shape "
        r"\(2, 3\); got \(3, 2\)",
    ):
        net.load_state_dict({"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(2)})
