"""nnlab against PyTorch, float64: the same weights give the same values and gradients.

torch.nn.Linear stores its weight as (out_features, in_features), like nnlab.Linear,
so weights are copied one to one.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlab

pytestmark = pytest.mark.torch

SHAPES = [(1, 1, 1), (4, 3, 2), (7, 5, 9), (16, 10, 3)]  # (batch, in_features, out_features)


def to_torch_linear(torch, layer: nnlab.Linear):
    twin = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(layer.weight.value))
        if layer.bias is not None:
            twin.bias.copy_(torch.from_numpy(layer.bias.value))
    return twin


def assert_close(ours: np.ndarray, theirs, name: str) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("batch, d_in, d_out", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(torch, batch, d_in, d_out, bias) -> None:
    rng = np.random.default_rng(batch * 100 + d_in * 10 + d_out)
    layer = nnlab.Linear(d_in, d_out, bias=bias, rng=rng)
    if bias:
        layer.bias.value[...] = rng.standard_normal(d_out)
    twin = to_torch_linear(torch, layer)
    x, g = rng.standard_normal((batch, d_in)), rng.standard_normal((batch, d_out))
    xt = torch.tensor(x, requires_grad=True)

    y, yt = layer(x), twin(xt)
    dx = layer.backward(g)
    yt.backward(torch.from_numpy(g))

    assert_close(y, yt, "output")
    assert_close(dx, xt.grad, "input gradient")
    assert_close(layer.weight.grad, twin.weight.grad, "weight gradient")
    if bias:
        assert_close(layer.bias.grad, twin.bias.grad, "bias gradient")


@pytest.mark.parametrize(
    "batch, d_in, hidden, classes", [(1, 2, 3, 2), (8, 5, 7, 3), (32, 10, 16, 6)]
)
def test_mlp_with_cross_entropy_matches_torch(torch, batch, d_in, hidden, classes) -> None:
    rng = np.random.default_rng(batch + d_in + hidden + classes)
    net = nnlab.Sequential(
        nnlab.Linear(d_in, hidden, rng=rng),
        nnlab.ReLU(),
        nnlab.Linear(hidden, hidden, rng=rng),
        nnlab.Tanh(),
        nnlab.Linear(hidden, classes, rng=rng),
    )
    for p in net.parameters():
        p.value[...] = rng.standard_normal(p.shape) * 0.5
    twin = torch.nn.Sequential(
        to_torch_linear(torch, net[0]),
        torch.nn.ReLU(),
        to_torch_linear(torch, net[2]),
        torch.nn.Tanh(),
        to_torch_linear(torch, net[4]),
    )
    x, labels = rng.standard_normal((batch, d_in)), rng.integers(0, classes, batch)
    xt = torch.tensor(x, requires_grad=True)

    criterion = nnlab.CrossEntropyLoss()
    loss = criterion(net(x), labels)
    dx = net.backward(criterion.backward())
    loss_t = torch.nn.functional.cross_entropy(twin(xt), torch.from_numpy(labels))
    loss_t.backward()

    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    assert_close(dx, xt.grad, "input gradient")
    torch_params = dict(twin.named_parameters())
    names = [name for name, _ in net.named_parameters()]
    assert names == list(torch_params)  # same dotted names as PyTorch: "0.weight", ...
    for name, p in net.named_parameters():
        assert_close(p.grad, torch_params[name].grad, name)
