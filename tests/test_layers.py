"""Linear, Sequential, Identity, Residual, Dropout and the mlp builder (chapters 1, 4, 9, 10)."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab import Dropout, Identity, Linear, Module, Residual, Sequential


class Spy(Module):
    """Identity that records the ``input_grad`` flag it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.flags: list[bool] = []

    def forward(self, x):
        return x

    def backward(self, grad_out, input_grad=True):
        self.flags.append(input_grad)
        return grad_out if input_grad else None


# ---- Linear ------------------------------------------------------------------------


def test_linear_weight_layout_and_forward_formula(rng) -> None:
    layer = Linear(3, 2, rng=0)
    layer.bias.value[...] = [0.5, -1.0]
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(layer(x), x @ layer.weight.value.T + layer.bias.value, rtol=1e-15)


def test_linear_backward_formulas(rng) -> None:
    layer = Linear(3, 2, rng=0)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, g.T @ x, rtol=1e-14)
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(dx, g @ layer.weight.value, rtol=1e-14)


def test_linear_float32_end_to_end(rng) -> None:
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = layer(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert layer.weight.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32


def test_linear_without_bias(rng) -> None:
    layer = Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(layer(x), x @ layer.weight.value.T, rtol=1e-15)
    layer.backward(np.ones((4, 2)))
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_integer_input_becomes_the_weight_dtype() -> None:
    assert Linear(2, 1, rng=0, dtype=np.float32)(np.array([[1, 2]])).dtype == np.float32


@pytest.mark.parametrize(
    "init", ["zeros", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]
)
def test_linear_accepts_every_initializer_name(init) -> None:
    a = Linear(30, 20, init=init, rng=1).weight.value
    b = getattr(nnlab.init, init)((20, 30), rng=1)
    np.testing.assert_array_equal(a, b)


def test_linear_accepts_an_initializer_callable() -> None:
    def constant(shape, *, rng, dtype):
        return np.full(shape, 0.25, dtype=dtype)

    np.testing.assert_array_equal(Linear(3, 2, init=constant).weight.value, np.full((2, 3), 0.25))
    with pytest.raises(ValueError, match=r"init returned shape \(3, 2\); expected \(2, 3\)"):
        Linear(3, 2, init=lambda shape, *, rng, dtype: np.zeros(shape[::-1]))


def test_linear_is_deterministic_for_a_seed() -> None:
    np.testing.assert_array_equal(
        Linear(5, 4, rng=3).weight.value, Linear(5, 4, rng=3).weight.value
    )


def test_input_grad_false_returns_none_and_still_fills_parameter_grads(rng) -> None:
    layer = Linear(3, 2, rng=0)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    assert layer.backward(g, input_grad=False) is None
    np.testing.assert_allclose(layer.weight.grad, g.T @ x, rtol=1e-14)
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-14)


# ---- Sequential --------------------------------------------------------------------


def test_sequential_indexing_slicing_len_iter() -> None:
    a, b, c = Linear(3, 4, rng=0), nnlab.ReLU(), Linear(4, 2, rng=1)
    net = Sequential(a, b, c)
    assert len(net) == 3 and net[0] is a and net[-1] is c and list(net) == [a, b, c]
    tail = net[1:]
    assert isinstance(tail, Sequential) and list(tail) == [b, c]
    assert net.append(Identity()) is net and len(net) == 4


def test_sequential_repr_reads_as_the_architecture() -> None:
    net = Sequential(Linear(3, 4, rng=0), nnlab.ReLU(), Linear(4, 2, rng=1))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=4, out_features=2, bias=True)\n"
        ")"
    )


def test_sequential_composes_forward_and_backward(rng) -> None:
    l1, l2 = Linear(3, 4, rng=0), Linear(4, 2, rng=1)
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    net = Sequential(l1, nnlab.Tanh(), l2)
    y = net(x)
    h = np.tanh(x @ l1.weight.value.T + l1.bias.value)
    np.testing.assert_allclose(y, h @ l2.weight.value.T + l2.bias.value, rtol=1e-14)
    dx = net.backward(g)
    dh = (g @ l2.weight.value) * (1 - h**2)
    np.testing.assert_allclose(l1.weight.grad, dh.T @ x, rtol=1e-12)
    np.testing.assert_allclose(dx, dh @ l1.weight.value, rtol=1e-12)


def test_sequential_applies_input_grad_false_to_the_first_layer_only(rng) -> None:
    first, middle, last = Spy(), Spy(), Spy()
    net = Sequential(first, Linear(3, 3, rng=0), middle, last)
    net(rng.standard_normal((2, 3)))
    assert net.backward(np.ones((2, 3)), input_grad=False) is None
    assert (first.flags, middle.flags, last.flags) == ([False], [True], [True])


def test_sequential_input_grad_false_gives_the_same_parameter_grads(rng) -> None:
    def grads(flag: bool) -> list[np.ndarray]:
        net = nnlab.mlp([3, 5, 2], rng=0)
        net(np.random.default_rng(1).standard_normal((4, 3)))
        net.backward(np.ones((4, 2)), input_grad=flag)
        return [p.grad for p in net.parameters()]

    for a, b in zip(grads(True), grads(False)):
        np.testing.assert_array_equal(a, b)


def test_sequential_rejects_non_modules() -> None:
    with pytest.raises(TypeError, match="argument 1 is function"):
        Sequential(Linear(2, 2), lambda x: x)
    with pytest.raises(TypeError, match="Sequential.append expected a Module; got int"):
        Sequential().append(3)


# ---- Identity and Residual ---------------------------------------------------------


def test_identity(rng) -> None:
    x = rng.standard_normal((3, 2))
    layer = Identity()
    assert layer(x) is x
    assert layer.backward(x) is x and layer.backward(x, input_grad=False) is None
    assert repr(layer) == "Identity()" and layer.parameters() == []


def test_residual_adds_the_skip_path_forward_and_backward(rng) -> None:
    inner = Sequential(Linear(4, 4, rng=0), nnlab.Tanh())
    block = Residual(inner)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    fx = inner(x)
    np.testing.assert_allclose(block(x), x + fx, rtol=1e-15)
    inner_grad = inner.backward(g)  # what f alone sends back (also accumulates into inner)
    inner.zero_grad()
    np.testing.assert_allclose(block.backward(g), g + inner_grad, rtol=1e-14)
    assert [n for n, _ in block.named_parameters()] == ["module.0.weight", "module.0.bias"]


def test_residual_input_grad_false_still_trains_f(rng) -> None:
    block = Residual(Linear(3, 3, rng=0))
    block(rng.standard_normal((2, 3)))
    assert block.backward(np.ones((2, 3)), input_grad=False) is None
    assert block.module.weight.grad.any()


def test_residual_requires_f_to_keep_the_shape(rng) -> None:
    with pytest.raises(
        ValueError, match=r"keep the input shape \(2, 3\); Linear returned \(2, 4\)"
    ):
        Residual(Linear(3, 4, rng=0))(rng.standard_normal((2, 3)))


def test_residual_shape_error_suggests_a_projection_shortcut(rng) -> None:
    with pytest.raises(ValueError, match=r"shortcut=Linear\(3, 4, bias=False\)"):
        Residual(Linear(3, 4, rng=0))(rng.standard_normal((2, 3)))


def test_residual_with_a_projection_shortcut_sums_both_paths(rng) -> None:
    inner = Sequential(Linear(3, 5, rng=0), nnlab.Tanh())
    projection = Linear(3, 5, bias=False, rng=1)
    block = Residual(inner, shortcut=projection)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(block(x), x @ projection.weight.value.T + inner(x), rtol=1e-14)
    inner_grad = inner.backward(g)  # J_f^T g (also accumulates into inner)
    inner.zero_grad()
    dx = block.backward(g)
    np.testing.assert_allclose(dx, g @ projection.weight.value + inner_grad, rtol=1e-13)
    np.testing.assert_allclose(projection.weight.grad, g.T @ x, rtol=1e-13)
    assert [n for n, _ in block.named_parameters()] == [
        "module.0.weight", "module.0.bias", "shortcut.weight"]
    assert "(shortcut): Linear(in_features=3, out_features=5, bias=False)" in repr(block)


def test_residual_shortcut_input_grad_false_still_trains_both_paths(rng) -> None:
    block = Residual(Linear(3, 2, rng=0), shortcut=Linear(3, 2, bias=False, rng=1))
    block(rng.standard_normal((4, 3)))
    assert block.backward(np.ones((4, 2)), input_grad=False) is None
    assert block.module.weight.grad.any() and block.shortcut.weight.grad.any()


def test_residual_shortcut_errors(rng) -> None:
    with pytest.raises(TypeError, match="shortcut to be a Module or None; got function"):
        Residual(Linear(3, 2, rng=0), shortcut=lambda x: x)
    block = Residual(Linear(3, 2, rng=0), shortcut=Linear(3, 4, bias=False, rng=1))
    with pytest.raises(ValueError, match=r"Linear returned \(5, 4\) and Linear returned \(5, 2\)"):
        block(rng.standard_normal((5, 3)))


def test_residual_with_an_identity_shortcut_equals_no_shortcut(rng) -> None:
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    plain = Residual(Linear(3, 3, rng=0))
    with_identity = Residual(Linear(3, 3, rng=0), shortcut=Identity())
    np.testing.assert_array_equal(plain(x), with_identity(x))
    np.testing.assert_array_equal(plain.backward(g), with_identity.backward(g))


# ---- Dropout -----------------------------------------------------------------------


def test_dropout_inverted_scaling_preserves_the_mean() -> None:
    x = np.ones((1000, 1000))
    y = Dropout(0.3, rng=0)(x)
    kept = y != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.003)  # ~5 standard deviations
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert y.mean() == pytest.approx(1.0, abs=0.005)


def test_dropout_backward_uses_the_forward_mask(rng) -> None:
    layer = Dropout(0.5, rng=0)
    x = rng.standard_normal((20, 10))
    y = layer(x)
    g = rng.standard_normal((20, 10))
    np.testing.assert_array_equal(layer.backward(g), g * (y / x))


def test_dropout_eval_and_p_zero_are_the_identity(rng) -> None:
    x = rng.standard_normal((4, 5))
    assert Dropout(0.5, rng=0).eval()(x) is x
    assert Dropout(0.0, rng=0)(x) is x


def test_dropout_p_one_zeroes_everything(rng) -> None:
    layer = Dropout(1.0, rng=0)
    assert not layer(rng.standard_normal((4, 5))).any()
    assert not layer.backward(np.ones((4, 5))).any()


def test_dropout_is_deterministic_for_a_seed(rng) -> None:
    x = rng.standard_normal((6, 7))
    np.testing.assert_array_equal(Dropout(0.5, rng=42)(x), Dropout(0.5, rng=42)(x))
    layer = Dropout(0.5, rng=42)
    assert not np.array_equal(layer(x), layer(x))  # a fresh mask on every call


def test_dropout_keeps_float32(rng) -> None:
    x = rng.standard_normal((4, 5)).astype(np.float32)
    layer = Dropout(0.5, rng=0)
    assert layer(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32


# ---- the mlp builder ---------------------------------------------------------------


def kinds(net: Sequential) -> list[str]:
    return [type(m).__name__ for m in net]


def test_mlp_plain() -> None:
    net = nnlab.mlp([2, 8, 8, 1], rng=0)
    assert kinds(net) == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, Linear)] == [
        (2, 8),
        (8, 8),
        (8, 1),
    ]


def test_mlp_norms_activation_and_dropout() -> None:
    net = nnlab.mlp([2, 8, 1], activation="tanh", norm="batch", dropout=0.1, rng=0)
    assert kinds(net) == ["Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear"]
    net = nnlab.mlp([2, 8, 1], activation=nnlab.GELU, norm="layer", rng=0)
    assert kinds(net) == ["Linear", "LayerNorm", "GELU", "Linear"]


def test_mlp_residual_blocks_wrap_equal_width_hidden_layers() -> None:
    net = nnlab.mlp([2, 8, 8, 8, 1], norm="layer", residual=True, rng=0)
    assert kinds(net) == ["Linear", "LayerNorm", "ReLU", "Residual", "Residual", "Linear"]
    assert kinds(net[3].module) == ["LayerNorm", "Linear", "ReLU"]


def test_mlp_seeds_give_identical_networks(rng) -> None:
    a = nnlab.mlp([3, 6, 6, 2], dropout=0.2, rng=5)
    b = nnlab.mlp([3, 6, 6, 2], dropout=0.2, rng=5)
    c = nnlab.mlp([3, 6, 6, 2], dropout=0.2, rng=6)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    assert not np.array_equal(a[0].weight.value, c[0].weight.value)
    x = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(a(x), b(x))  # the dropout masks agree too


def test_mlp_float32() -> None:
    net = nnlab.mlp([3, 4, 2], norm="batch", dtype=np.float32, rng=0)
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sizes": [3]}, "at least an input and an output width"),
        ({"sizes": [3, 0, 1]}, "must be >= 1"),
        ({"sizes": [3, 2], "activation": "swish"}, "activation must be one of"),
        ({"sizes": [3, 2], "norm": "group"}, "norm must be None, 'batch' or 'layer'"),
        ({"sizes": [3, 4, 2], "dropout": 1.5}, r"dropout must be in \[0.0, 1.0\]"),
        ({"sizes": [3, 4, 2], "dropout": -0.1}, r"dropout must be in \[0.0, 1.0\]"),
    ],
)
def test_mlp_bad_arguments(kwargs, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        nnlab.mlp(**kwargs)


# ---- overfit a tiny batch (CS231n's sanity check) -----------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_a_two_layer_mlp_overfits_eight_points(seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (8, 2))
    y = x[:, :1] - 2 * x[:, 1:] ** 2 + 0.5
    net = nnlab.mlp([2, 32, 1], activation="tanh", init="xavier_normal", rng=seed)
    criterion = nnlab.MSELoss()
    for _ in range(2000):
        loss = criterion(net(x), y)
        net.zero_grad()
        net.backward(criterion.backward(), input_grad=False)
        for p in net.parameters():
            p.value -= 0.2 * p.grad
    assert loss < 1e-3
