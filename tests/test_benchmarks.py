"""benchmarks/bench_mlp.py: it runs, and its implementations compute the same thing.

The speed comparison is only fair if the hand-written numpy reference, PyTorch and
scikit-learn take exactly the steps nnlab takes, so these tests compare one SGD step
(and one shuffled epoch) of each with nnlab's, from the same initial weights.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mlp.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_mlp", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_mlp"] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_mlp"]
    return module


def _data(sizes, n, seed=0):
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, sizes[0]), dtype=np.float32)
    y = gen.integers(0, sizes[-1], size=n)
    return X, y


ARCHITECTURES = [[64, 32, 10], [30, 16, 16, 5]]  # the small case's, and the large case's depth


@pytest.mark.parametrize("sizes", ARCHITECTURES)
def test_fused_numpy_step_equals_nnlab(bench, sizes):
    X, y = _data(sizes, 32)
    weights = bench.initial_weights(sizes, seed=1)
    ours = bench.NnlabMLP(sizes, batch_size=32, lr=0.1)
    ours.reset(weights)
    fused = bench.FusedNumpyMLP(sizes, batch_size=32, lr=0.1)
    fused.reset(weights)

    loss = ours.criterion(ours.model(X), y)
    ours.model.backward(ours.criterion.backward(), input_grad=False)
    ours.optimizer.step()
    fused_loss = fused.step(X, y)

    assert fused_loss == pytest.approx(loss, rel=1e-5)
    linears = [m for m in ours.model if hasattr(m, "weight")]
    for layer, W, b, gW, gb in zip(linears, fused.W, fused.b, fused.gW, fused.gb):
        # After a step the fused buffers hold lr * gradient (scaled in place).
        np.testing.assert_allclose(gW, 0.1 * layer.weight.grad, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(gb, 0.1 * layer.bias.grad, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(W, layer.weight.value, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, layer.bias.value, rtol=1e-5, atol=1e-6)
        assert W.dtype == layer.weight.value.dtype == np.float32


def test_fused_numpy_epoch_equals_nnlab_with_partial_last_batch(bench):
    sizes = [30, 16, 16, 5]
    X, y = _data(sizes, 70)  # batches of 32, 32 and 6: the preallocated buffers' partial use
    weights = bench.initial_weights(sizes, seed=1)
    ours = bench.NnlabMLP(sizes, batch_size=32, lr=0.1)
    ours.reset(weights)
    fused = bench.FusedNumpyMLP(sizes, batch_size=32, lr=0.1)
    fused.reset(weights)
    # Same seed, same shuffle: both draw the order with default_rng(seed).permutation.
    assert fused.epoch(X, y, seed=5) == pytest.approx(ours.epoch(X, y, seed=5), rel=1e-5)
    linears = [m for m in ours.model if hasattr(m, "weight")]
    for layer, W in zip(linears, fused.W):
        np.testing.assert_allclose(W, layer.weight.value, rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_torch_step_equals_fused_numpy(bench, torch):
    sizes = [30, 16, 16, 5]
    X, y = _data(sizes, 32)
    weights = bench.initial_weights(sizes, seed=1)
    fused = bench.FusedNumpyMLP(sizes, batch_size=32, lr=0.1)
    fused.reset(weights)
    theirs = bench.TorchMLP(sizes, batch_size=32, lr=0.1)
    theirs.reset(weights)
    fused_loss = fused.step(X, y)
    loss = theirs.criterion(theirs.model(torch.from_numpy(X)), torch.from_numpy(y))
    loss.backward()
    theirs.optimizer.step()
    assert fused_loss == pytest.approx(loss.item(), rel=1e-5)
    for layer, W, b in zip(theirs.linears, fused.W, fused.b):
        assert layer.weight.dtype == torch.float32
        np.testing.assert_allclose(layer.weight.detach().numpy(), W, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.bias.detach().numpy(), b, rtol=1e-5, atol=1e-6)


def test_sklearn_step_equals_fused_numpy(bench):
    pytest.importorskip("sklearn")
    sizes = [30, 16, 16, 5]
    X, y = _data(sizes, 64)
    weights = bench.initial_weights(sizes, seed=1)
    fused = bench.FusedNumpyMLP(sizes, batch_size=32, lr=0.1)
    fused.reset(weights)
    theirs = bench.SklearnMLP(sizes, batch_size=32, lr=0.1)
    theirs.initialise(X, y)
    theirs.reset(weights)
    xb, yb = X[:32], y[:32]
    fused.step(xb, yb)
    theirs.epoch(xb, yb, seed=0)  # one batch: a single SGD step, whatever the shuffle
    for coef, intercept, W, b in zip(theirs.clf.coefs_, theirs.clf.intercepts_, fused.W, fused.b):
        assert coef.dtype == np.float32  # sklearn keeps float32 input in float32
        np.testing.assert_allclose(coef.T, W, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(intercept, b, rtol=1e-5, atol=1e-6)


def test_nnlab_stays_float32(bench):
    sizes = [30, 16, 16, 5]
    X, y = _data(sizes, 32)
    ours = bench.NnlabMLP(sizes, batch_size=32, lr=0.1)
    ours.reset(bench.initial_weights(sizes, seed=1))
    assert bench.check_nnlab_float32(ours, X, y) == []


def test_quick_run_prints_every_implementation_and_the_ratios():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--threads", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for case in ("784-256-256-10", "64-32-10"):
        assert case in out
    for label in ("nnlab", "nnlab.fit", "fused numpy"):
        assert f"\n  {label} " in out
    assert "nnlab / fused numpy" in out
    assert out.count("nnlab float32 end to end: yes") == 2
