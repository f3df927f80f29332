"""Parameter and Module: the tree walk, gradients, modes, state dicts and printing."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab import Dropout, Identity, Linear, Module, Parameter, Residual, Sequential


class Scale(Module):
    """y = a * x with one scalar parameter and one buffer: a minimal module for these tests."""

    _buffer_names = ("calls",)

    def __init__(self) -> None:
        super().__init__()
        self.a = Parameter(np.array([2.0]))
        self.calls = np.zeros(1)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        self.calls += 1
        return self.a.value * x

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        self.a.grad += np.sum(grad_out * self._x, keepdims=True).reshape(1)
        return grad_out * self.a.value if input_grad else None


def nested() -> Sequential:
    return Sequential(
        Linear(3, 4, rng=0),
        Residual(Sequential(Linear(4, 4, rng=1), Identity())),
        Sequential(Dropout(0.2, rng=2), Linear(4, 2, bias=False, rng=3)),
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parameter_grad_starts_at_zeros_with_the_value_shape_and_dtype(dtype) -> None:
    p = Parameter(np.ones((3, 2), dtype=dtype))
    assert p.grad.shape == (3, 2) and p.grad.dtype == dtype and not p.grad.any()
    assert p.shape == (3, 2) and p.dtype == dtype and p.size == 6
    assert repr(p) == f"Parameter(shape=(3, 2), dtype={np.dtype(dtype)})"


def test_parameter_from_ints_is_float64() -> None:
    assert Parameter([1, 2]).value.dtype == np.float64


def test_named_parameters_gives_dotted_names_through_nested_containers() -> None:
    names = [name for name, _ in nested().named_parameters()]
    assert names == [
        "0.weight",
        "0.bias",
        "1.module.0.weight",
        "1.module.0.bias",
        "2.1.weight",
    ]


def test_parameters_are_the_same_objects_as_the_layers_own() -> None:
    net = nested()
    params = net.parameters()
    assert params[0] is net[0].weight and params[-1] is net[2][1].weight
    assert net.num_parameters() == 3 * 4 + 4 + 4 * 4 + 4 + 4 * 2


def test_zero_grad_resets_every_gradient_in_place() -> None:
    net = nested()
    refs = [p.grad for p in net.parameters()]
    for p in net.parameters():
        p.grad += 1.0
    net.zero_grad()
    assert all(p.grad is ref and not ref.any() for p, ref in zip(net.parameters(), refs))


def test_train_and_eval_reach_every_module() -> None:
    net = nested()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(TypeError, match="mode must be a bool"):
        net.train("no")


def test_state_dict_holds_copies_not_views() -> None:
    net = nested()
    state = net.state_dict()
    state["0.weight"][...] = 123.0
    assert not np.any(net[0].weight.value == 123.0)
    net[0].bias.value += 7.0
    assert not np.any(state["0.bias"] == 7.0)


def test_state_dict_round_trip_loads_into_the_existing_arrays() -> None:
    source, target = (
        nested(),
        Sequential(
            Linear(3, 4, rng=10),
            Residual(Sequential(Linear(4, 4, rng=11), Identity())),
            Sequential(Dropout(0.2), Linear(4, 2, bias=False, rng=13)),
        ),
    )
    arrays_before = [p.value for p in target.parameters()]
    target.load_state_dict(source.state_dict())
    for (name, p), q in zip(target.named_parameters(), source.parameters()):
        np.testing.assert_array_equal(p.value, q.value, err_msg=name)
    # An optimizer holding p.value would still see the new numbers.
    assert all(p.value is a for p, a in zip(target.parameters(), arrays_before))


def test_state_dict_includes_buffers() -> None:
    net = Sequential(Scale(), Scale())
    net(np.ones(3))
    state = net.state_dict()
    assert set(state) == {"0.a", "1.a", "0.calls", "1.calls"}
    net(np.ones(3))
    net.load_state_dict(state)
    assert net[0].calls.tolist() == [1.0]


def test_load_state_dict_names_missing_and_unexpected_keys() -> None:
    net = nested()
    state = net.state_dict()
    del state["0.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing \['0.bias'\], unexpected \['extra'\]"):
        net.load_state_dict(state)


def test_load_state_dict_rejects_a_wrong_shape_and_changes_nothing() -> None:
    net = nested()
    before = net.state_dict()
    state = net.state_dict()
    state["0.bias"] = np.zeros(4)
    state["0.weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"'0.weight' expected shape \(4, 3\); got \(3, 4\)"):
        net.load_state_dict(state)
    np.testing.assert_array_equal(net[0].bias.value, before["0.bias"])


def test_backward_accumulates_across_calls() -> None:
    rng = np.random.default_rng(0)
    net = Sequential(Linear(3, 4, rng=0), Scale(), Linear(4, 2, rng=1))
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    net(x)
    net.backward(g)
    once = [p.grad.copy() for p in net.parameters()]
    net(x)
    net.backward(g)
    for p, g1 in zip(net.parameters(), once):
        np.testing.assert_allclose(p.grad, 2 * g1, rtol=1e-12)


def test_repr_reads_as_the_architecture() -> None:
    assert repr(nested()) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): Residual(\n"
        "    (module): Sequential(\n"
        "      (0): Linear(in_features=4, out_features=4, bias=True)\n"
        "      (1): Identity()\n"
        "    )\n"
        "  )\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.2)\n"
        "    (1): Linear(in_features=4, out_features=2, bias=False)\n"
        "  )\n"
        ")"
    )


def test_the_base_class_asks_for_forward_and_backward() -> None:
    with pytest.raises(NotImplementedError, match="Module must implement forward"):
        Module()(np.ones(2))
    with pytest.raises(NotImplementedError, match="Module must implement backward"):
        Module().backward(np.ones(2))


def test_module_and_parameter_are_exported_at_top_level() -> None:
    assert nnlab.Module is Module and nnlab.Parameter is Parameter
