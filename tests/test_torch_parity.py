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


@pytest.mark.parametrize("batch, d_in, d_out", [(1, 2, 3), (6, 5, 3), (16, 8, 12)])
def test_residual_with_projection_shortcut_matches_torch(torch, batch, d_in, d_out) -> None:
    """y = P x + relu(W x + b), as He et al.'s option-B block is written in PyTorch."""
    rng = np.random.default_rng(batch + 10 * d_in + 100 * d_out)
    block = nnlab.Residual(
        nnlab.Sequential(nnlab.Linear(d_in, d_out, rng=rng), nnlab.ReLU()),
        shortcut=nnlab.Linear(d_in, d_out, bias=False, rng=rng),
    )
    block.module[0].bias.value[...] = rng.standard_normal(d_out)

    class TorchProjectionBlock(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.module = torch.nn.Sequential(to_torch_linear(torch, block.module[0]), torch.nn.ReLU())
            self.shortcut = to_torch_linear(torch, block.shortcut)

        def forward(self, x):
            return self.shortcut(x) + self.module(x)

    twin = TorchProjectionBlock()
    x, g = rng.standard_normal((batch, d_in)), rng.standard_normal((batch, d_out))
    xt = torch.tensor(x, requires_grad=True)

    y, yt = block(x), twin(xt)
    dx = block.backward(g)
    yt.backward(torch.from_numpy(g))

    assert_close(y, yt, "output")
    assert_close(dx, xt.grad, "input gradient")
    torch_params = dict(twin.named_parameters())
    assert [name for name, _ in block.named_parameters()] == list(torch_params)
    for name, p in block.named_parameters():
        assert_close(p.grad, torch_params[name].grad, name)


def test_fit_with_a_warmup_cosine_schedule_matches_a_torch_loop(torch) -> None:
    """nnlab.fit(..., scheduler=...) is PyTorch's loop: optimizer steps, then scheduler.step()."""
    rng = np.random.default_rng(7)
    X, labels = rng.standard_normal((48, 4)), rng.integers(0, 3, 48)
    net = nnlab.Sequential(nnlab.Linear(4, 8, rng=rng), nnlab.Tanh(), nnlab.Linear(8, 3, rng=rng))
    twin = torch.nn.Sequential(to_torch_linear(torch, net[0]), torch.nn.Tanh(),
                               to_torch_linear(torch, net[2]))

    def schedule(opt, m):
        warmup = m.LinearLR(opt, start_factor=0.25, total_iters=3)
        return m.SequentialLR(opt, [warmup, m.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)], [3])

    optimizer = nnlab.optim.SGD(net.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    history = nnlab.fit(net, nnlab.CrossEntropyLoss(), optimizer, X, labels, epochs=8, batch_size=16,
                        rng=3, scheduler=schedule(optimizer, nnlab.optim), progress=False)

    opt_t = torch.optim.SGD(twin.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    sched_t = schedule(opt_t, torch.optim.lr_scheduler)
    gen, rates = np.random.default_rng(3), []
    for _ in range(8):
        rates.append(opt_t.param_groups[0]["lr"])
        for xb, yb in nnlab.data.batches(X, labels, 16, shuffle=True, rng=gen):
            opt_t.zero_grad()
            torch.nn.functional.cross_entropy(twin(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
            opt_t.step()
        sched_t.step()
    np.testing.assert_allclose(history.lr, rates, rtol=1e-12)
    for name, p in twin.named_parameters():
        assert_close(dict(net.named_parameters())[name].value, p, name)
