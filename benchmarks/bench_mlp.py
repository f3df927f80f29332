"""Train the same ReLU MLP for one epoch in float32 with four implementations; compare speed.

The implementations, all with the same architecture, initial weights, batch size,
learning rate and plain SGD (no momentum, no weight decay):

- ``nnlab``: nnlab.Linear/ReLU/Sequential, CrossEntropyLoss and optim.SGD, with the
  training step written exactly as :func:`nnlab.train.fit` does it.
- ``fused numpy``: the same maths written out by hand with no modules: one loop, buffers
  preallocated once, in-place updates. The speed a careful numpy programmer gets; nnlab's
  target is to come close to it.
- ``torch``: PyTorch CPU, ``torch.nn`` + ``torch.optim.SGD``, eager mode (no
  ``torch.compile``).
- ``sklearn``: scikit-learn's ``MLPClassifier(solver="sgd")``, one epoch = one
  ``partial_fit`` over the data.

The timed runs alternate (nnlab, fused, torch, sklearn, nnlab, ...) so that noise from
other work on the machine hits every implementation alike; each implementation's
median is reported, and the ratios nnlab/other are computed from those medians.

Run ``python benchmarks/bench_mlp.py --help``; README.md in this folder records results.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# Run from a clone without installing: make the repository's nnlab importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nnlab  # noqa: E402
from nnlab import data as nndata  # noqa: E402
from nnlab import datasets as nndatasets  # noqa: E402
from nnlab import init as nninit  # noqa: E402
from nnlab import train as nntrain  # noqa: E402

DTYPE = np.float32


# --- the benchmark cases ---------------------------------------------------------------


@dataclass
class Case:
    """One benchmark configuration: an architecture, its data and its SGD settings."""

    name: str
    sizes: list[int]
    batch_size: int
    lr: float
    X: np.ndarray
    y: np.ndarray
    # Several epochs per timed sample for the small case, whose single epoch takes a few
    # milliseconds: too short to time reliably on a busy machine.
    epochs_per_sample: int = 1
    # Batches per turn when interleaving the implementations (0: a whole epoch per turn).
    segment: int = 0
    targets: list[tuple[str, str, float]] = field(default_factory=list)


def large_case(n_samples: int = 20_000, seed: int = 0) -> Case:
    """784-256-256-10 at batch 128 on random float32 inputs and random labels."""
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n_samples, 784), dtype=DTYPE)
    y = gen.integers(0, 10, size=n_samples)
    return Case(
        name="large",
        sizes=[784, 256, 256, 10],
        batch_size=128,
        lr=0.01,
        X=X,
        y=y,
        # 16 batches (~10 turns per epoch): long enough that reloading ~1 MB of weights
        # into the caches after a switch is negligible, short enough to share load bursts.
        segment=16,
        targets=[("fused numpy", ">=", 0.9), ("torch", ">", 1.0)],
    )


def small_case(n_samples: int | None = None, epochs_per_sample: int = 10) -> Case:
    """64-32-10 at batch 32 on the 8x8 digits (1797 samples), standardised."""
    X, y = nndatasets.load_digits()
    X = nndata.Standardizer().fit_transform(X).astype(DTYPE)
    if n_samples is not None:
        X, y = X[:n_samples], y[:n_samples]
    return Case(
        name="small",
        sizes=[64, 32, 10],
        batch_size=32,
        lr=0.05,
        X=X,
        y=y,
        epochs_per_sample=epochs_per_sample,
        targets=[("fused numpy", ">=", 0.6), ("torch", ">=", 2.0)],
    )


def initial_weights(sizes: list[int], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-uniform weights ``(out, in)`` and zero biases, shared by every implementation."""
    gen = np.random.default_rng(seed)
    return [
        (nninit.he_uniform((d_out, d_in), rng=gen, dtype=DTYPE), np.zeros(d_out, dtype=DTYPE))
        for d_in, d_out in zip(sizes[:-1], sizes[1:])
    ]


# --- the implementations ---------------------------------------------------------------
# Each has reset(weights) (untimed: restore the initial weights), epoch(X, y, seed) ->
# mean training loss (one pass over the data, shuffled), and steps(X, y, seed): the
# same epoch as a generator that yields after every batch, so that the timing loop can
# interleave the implementations finely (nnlab.fit and sklearn yield once per epoch).


class NnlabMLP:
    """nnlab modules, trained with the loop of nnlab.train.fit."""

    label = "nnlab"

    def __init__(self, sizes: list[int], batch_size: int, lr: float) -> None:
        layers: list[nnlab.Module] = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nnlab.Linear(d_in, d_out, dtype=DTYPE, rng=0))
            if i < len(sizes) - 2:
                layers.append(nnlab.ReLU())
        self.model = nnlab.Sequential(*layers)
        self.criterion = nnlab.CrossEntropyLoss()
        self.optimizer = nnlab.optim.SGD(self.model.parameters(), lr=lr)
        self.batch_size = batch_size

    def reset(self, weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
        # parameters() lists W, b of each Linear in order; copy into them in place.
        values = [array for pair in weights for array in pair]
        for p, value in zip(self.model.parameters(), values, strict=True):
            np.copyto(p.value, value)
        self.model.zero_grad()

    def steps(self, X: np.ndarray, y: np.ndarray, seed: int) -> Iterator[float]:
        # The training step of nnlab.train.fit, without its bookkeeping (history,
        # progress bar, validation): forward, loss, backward, step, zero_grad.
        model, criterion, optimizer = self.model, self.criterion, self.optimizer
        for xb, yb in nndata.batches(X, y, self.batch_size, shuffle=True, rng=seed):
            loss = criterion(model(xb), yb)
            model.backward(criterion.backward(), input_grad=False)
            optimizer.step()
            optimizer.zero_grad()
            yield loss * len(xb)

    def epoch(self, X: np.ndarray, y: np.ndarray, seed: int) -> float:
        return sum(self.steps(X, y, seed)) / len(X)


class NnlabFit(NnlabMLP):
    """The same nnlab network, trained by calling nnlab.train.fit for one epoch.

    fit adds per-epoch bookkeeping to the loop above (a copy of the weights for
    divergence recovery, per-batch accuracy, the loss check); this row shows its cost.
    """

    label = "nnlab.fit"

    def epoch(self, X: np.ndarray, y: np.ndarray, seed: int) -> float:
        history = nntrain.fit(
            self.model, self.criterion, self.optimizer, X, y,
            epochs=1, batch_size=self.batch_size, rng=seed, progress=False,
        )
        return history.train_loss[-1]

    def steps(self, X: np.ndarray, y: np.ndarray, seed: int) -> Iterator[float]:
        yield self.epoch(X, y, seed) * len(X)  # fit runs a whole epoch per call


class FusedNumpyMLP:
    """The same network and SGD written out in numpy, with no modules.

    What a careful numpy programmer writes for speed: every buffer allocated once for the
    largest batch (the last, partial batch uses the leading rows), matmuls written into
    those buffers with ``out=``, ReLU and the parameter updates in place. The maths is
    exactly nnlab's: z = x W^T + b, ReLU, softmax cross-entropy with the mean over the
    batch, dW = g^T x, db = sum_rows g, dx = g W, W <- W - lr dW.
    """

    label = "fused numpy"

    def __init__(self, sizes: list[int], batch_size: int, lr: float) -> None:
        self.lr = lr
        self.batch_size = batch_size
        widths = sizes[1:]
        self.W = [np.empty((d_out, d_in), DTYPE) for d_in, d_out in zip(sizes[:-1], sizes[1:])]
        self.b = [np.empty(d_out, DTYPE) for d_out in widths]
        self.gW = [np.empty_like(W) for W in self.W]
        self.gb = [np.empty_like(b) for b in self.b]
        # z[l]: layer l's output (ReLU applied in place for hidden layers); g[l]: dL/dz[l].
        self.z = [np.empty((batch_size, d), DTYPE) for d in widths]
        self.g = [np.empty((batch_size, d), DTYPE) for d in widths]
        self.mask = [np.empty((batch_size, d), bool) for d in widths]
        self.rows = np.arange(batch_size)

    def reset(self, weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
        for W, b, (W0, b0) in zip(self.W, self.b, weights):
            np.copyto(W, W0)
            np.copyto(b, b0)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One SGD step on the batch ``(x, y)``; return the batch's mean loss."""
        n = len(x)
        last = len(self.W) - 1
        inputs = [x]  # the input of each layer, kept for dW = g^T x
        h = x
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            z = self.z[l][:n]
            np.matmul(h, W.T, out=z)
            z += b
            if l < last:
                np.maximum(z, 0, out=z)  # ReLU in place; relu(z) > 0 exactly where z > 0
                inputs.append(z)
            h = z
        # Softmax cross-entropy on the logits h, shifted by the row maximum for stability.
        h -= h.max(axis=1, keepdims=True)
        g = self.g[last][:n]
        np.exp(h, out=g)
        sums = g.sum(axis=1, keepdims=True)
        rows = self.rows[:n]
        loss = float(np.mean(np.log(sums[:, 0]) - h[rows, y]))
        g /= sums  # softmax probabilities
        g[rows, y] -= 1  # dL/dlogits = (p - onehot(y)) / n
        g *= 1.0 / n
        for l in range(last, -1, -1):
            np.matmul(g.T, inputs[l], out=self.gW[l])
            np.sum(g, axis=0, out=self.gb[l])
            if l > 0:
                g_below = self.g[l - 1][:n]
                np.matmul(g, self.W[l], out=g_below)
                mask = self.mask[l - 1][:n]
                np.greater(inputs[l], 0, out=mask)
                g_below *= mask  # through the ReLU
                g = g_below
        for W, b, gW, gb in zip(self.W, self.b, self.gW, self.gb):
            gW *= self.lr
            W -= gW
            gb *= self.lr
            b -= gb
        return loss

    def steps(self, X: np.ndarray, y: np.ndarray, seed: int) -> Iterator[float]:
        # Shuffle as nnlab.data.batches does: one gather per epoch, then contiguous slices.
        order = np.random.default_rng(seed).permutation(len(X))
        X, y = X[order], y[order]
        for start in range(0, len(X), self.batch_size):
            xb, yb = X[start : start + self.batch_size], y[start : start + self.batch_size]
            yield self.step(xb, yb) * len(xb)

    def epoch(self, X: np.ndarray, y: np.ndarray, seed: int) -> float:
        return sum(self.steps(X, y, seed)) / len(X)


class TorchMLP:
    """PyTorch CPU, eager: torch.nn.Sequential, CrossEntropyLoss, torch.optim.SGD."""

    label = "torch"

    def __init__(self, sizes: list[int], batch_size: int, lr: float) -> None:
        import torch

        self.torch = torch
        layers: list[Any] = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(d_in, d_out, dtype=torch.float32))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        self.criterion = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.batch_size = batch_size
        self._data: tuple[np.ndarray, Any, Any] | None = None

    def reset(self, weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
        with self.torch.no_grad():
            for layer, (W, b) in zip(self.linears, weights):
                layer.weight.copy_(self.torch.from_numpy(W))
                layer.bias.copy_(self.torch.from_numpy(b))
        self.optimizer.zero_grad()

    def steps(self, X: np.ndarray, y: np.ndarray, seed: int) -> Iterator[float]:
        torch = self.torch
        if self._data is None or self._data[0] is not X:
            # from_numpy shares memory: no copy, and no conversion counted in the timing.
            self._data = (X, torch.from_numpy(X), torch.from_numpy(y.astype(np.int64)))
        _, Xt, yt = self._data
        order = torch.randperm(len(Xt), generator=torch.Generator().manual_seed(seed))
        Xt, yt = Xt[order], yt[order]  # one gather per epoch, as in the numpy versions
        model, criterion, optimizer = self.model, self.criterion, self.optimizer
        for start in range(0, len(Xt), self.batch_size):
            xb, yb = Xt[start : start + self.batch_size], yt[start : start + self.batch_size]
            loss = criterion(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            yield loss.item() * len(xb)

    def epoch(self, X: np.ndarray, y: np.ndarray, seed: int) -> float:
        return sum(self.steps(X, y, seed)) / len(X)


class SklearnMLP:
    """scikit-learn's MLPClassifier with plain SGD; one epoch is one partial_fit."""

    label = "sklearn"

    def __init__(self, sizes: list[int], batch_size: int, lr: float) -> None:
        from sklearn.neural_network import MLPClassifier

        self.n_classes = sizes[-1]
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]),
            activation="relu",
            solver="sgd",
            alpha=0.0,  # no L2 penalty (its default is 1e-4): the same maths as the others
            batch_size=batch_size,
            learning_rate="constant",
            learning_rate_init=lr,
            momentum=0.0,
            nesterovs_momentum=False,
            shuffle=True,
            random_state=0,
        )
        self._initialised = False

    def reset(self, weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
        if not self._initialised:
            raise RuntimeError("SklearnMLP.reset: call initialise(X, y) first")
        # sklearn stores W^T, shape (in, out).
        self.clf.coefs_ = [np.ascontiguousarray(W.T) for W, _ in weights]
        self.clf.intercepts_ = [b.copy() for _, b in weights]

    def initialise(self, X: np.ndarray, y: np.ndarray) -> None:
        """A first partial_fit on a few rows creates sklearn's internal state (untimed)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(X[:64], y[:64], classes=np.arange(self.n_classes))
        self._initialised = True

    def epoch(self, X: np.ndarray, y: np.ndarray, seed: int) -> float:
        self.clf.random_state = seed  # sklearn draws its shuffle from random_state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning and the like
            self.clf.partial_fit(X, y)
        return float(self.clf.loss_)

    def steps(self, X: np.ndarray, y: np.ndarray, seed: int) -> Iterator[float]:
        yield self.epoch(X, y, seed) * len(X)  # partial_fit runs a whole epoch per call


# --- checks: float32 end to end --------------------------------------------------------


def check_nnlab_float32(impl: NnlabMLP, X: np.ndarray, y: np.ndarray) -> list[str]:
    """Run one batch layer by layer; return a line per array that is not float32 (none expected)."""
    problems: list[str] = []
    xb, yb = X[: impl.batch_size], y[: impl.batch_size]
    h = xb
    for i, layer in enumerate(impl.model):
        h = layer(h)
        if h.dtype != DTYPE:
            problems.append(f"activation after layer {i} ({layer!r}) is {h.dtype}")
    loss = impl.criterion(h, yb)
    if not isinstance(loss, float):
        problems.append(f"loss is {type(loss).__name__}, not a Python float")
    g = impl.criterion.backward()
    if g.dtype != DTYPE:
        problems.append(f"dL/dlogits is {g.dtype}")
    for i in range(len(impl.model) - 1, 0, -1):
        g = impl.model[i].backward(g)
        if g.dtype != DTYPE:
            problems.append(f"gradient below layer {i} ({impl.model[i]!r}) is {g.dtype}")
    impl.model[0].backward(g, input_grad=False)
    impl.optimizer.step()
    for name, p in impl.model.named_parameters():
        if p.value.dtype != DTYPE or p.grad.dtype != DTYPE:
            problems.append(f"parameter {name}: value {p.value.dtype}, grad {p.grad.dtype}")
    impl.optimizer.zero_grad()
    return problems


def peak_memory(impl: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Peak numpy memory (MB) allocated during one epoch, as traced by tracemalloc.

    numpy reports its array allocations to tracemalloc; torch's do not, so this is
    only meaningful for nnlab and the fused reference. Both include the shuffled copy
    of the data that each epoch makes.
    """
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    impl.epoch(X, y, seed=123)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 1e6


# --- running -------------------------------------------------------------------------------


def set_threads(n: int) -> str:
    """Give numpy's BLAS (and sklearn's, via threadpoolctl) and torch the same thread count."""
    notes = []
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)
        notes.append(f"BLAS/OpenMP threads={n} (threadpoolctl)")
    except ImportError:
        notes.append("threadpoolctl missing: BLAS threads left at their default")
    try:
        import torch

        torch.set_num_threads(n)
        notes.append(f"torch threads={torch.get_num_threads()}")
    except ImportError:
        pass
    return ", ".join(notes)


def make_implementations(case: Case, only: list[str] | None) -> list[Any]:
    """Build every implementation available here (torch and sklearn are optional)."""
    impls: list[Any] = []
    for cls in (NnlabMLP, NnlabFit, FusedNumpyMLP, TorchMLP, SklearnMLP):
        if only and cls.label not in only:
            continue
        try:
            impl = cls(case.sizes, case.batch_size, case.lr)
        except ImportError as exc:
            print(f"  skipping {cls.label}: {exc}")
            continue
        if isinstance(impl, SklearnMLP):
            impl.initialise(case.X, case.y)
        impls.append(impl)
    return impls


def timed_round(impls: list[Any], case: Case, weights: list, seed: int, segment: int) -> dict[str, float]:
    """One round: every implementation trains ``case.epochs_per_sample`` epochs from the
    initial weights, taking turns: ``segment`` batches each (0: a whole epoch each), in
    the order a, b, c, d, a, b, ... Return each one's total seconds.

    Taking turns means a burst of load from other processes on a shared machine slows
    every implementation alike, not only whichever happened to be running. Turns much
    shorter than an epoch favour the implementations that cannot be interleaved (fit,
    sklearn: one call per epoch), as every switch evicts the others' data from the
    caches; the default is therefore one epoch per turn.
    """
    runs = {}
    for impl in impls:
        impl.reset(weights)  # untimed
        runs[impl.label] = _epochs(impl, case, seed)
    seconds = dict.fromkeys(runs, 0.0)
    gc.collect()
    gc.disable()  # as timeit does: no collector pauses inside the timed regions
    try:
        while runs:
            for label in list(runs):
                run = runs[label]
                start = time.perf_counter()
                batches = 0
                while segment == 0 or batches < segment:
                    item = next(run, _DONE)
                    if item is _END_OF_EPOCH:
                        break
                    if item is _DONE:
                        del runs[label]
                        break
                    batches += 1
                seconds[label] += time.perf_counter() - start
    finally:
        gc.enable()
    return seconds


_END_OF_EPOCH = object()
_DONE = object()


def _epochs(impl: Any, case: Case, seed: int) -> Iterator[Any]:
    """The batches of ``case.epochs_per_sample`` epochs, each epoch followed by a marker."""
    for e in range(case.epochs_per_sample):
        yield from impl.steps(case.X, case.y, seed=seed + e)
        yield _END_OF_EPOCH


def run_case(
    case: Case, repeats: int, only: list[str] | None = None, segment: int = 0, warm_up: bool = True
) -> dict[str, list[float]]:
    """Time every implementation in ``repeats`` interleaved rounds; return seconds per round."""
    weights = initial_weights(case.sizes, seed=1)
    impls = make_implementations(case, only)
    if warm_up:  # an untimed round: caches, lazy imports, BLAS thread start-up
        timed_round(impls, case, weights, seed=0, segment=segment)
    seconds: dict[str, list[float]] = {impl.label: [] for impl in impls}
    for r in range(repeats):
        for label, t in timed_round(impls, case, weights, seed=1000 * (r + 1), segment=segment).items():
            seconds[label].append(t)
    return seconds


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def report(case: Case, seconds: dict[str, list[float]], segment: int) -> dict[str, float]:
    """Print the table and the ratios; return the median ratios nnlab/other.

    A ratio is computed per round (the implementations of a round ran interleaved, under
    the same load) and the median over rounds is reported, with its quartiles.
    """
    arch = "-".join(map(str, case.sizes))
    rounds = len(next(iter(seconds.values())))
    samples = len(case.X) * case.epochs_per_sample
    print(
        f"\n{case.name} MLP {arch}, batch {case.batch_size}, {len(case.X)} samples, float32; "
        f"{rounds} interleaved rounds"
        + (f", turns of {segment} batches" if segment else ", turns of one epoch")
        + (f" of {case.epochs_per_sample} epochs" if case.epochs_per_sample > 1 else "")
    )
    print(f"  {'implementation':<14}{'median samples/s':>18}{'slowest':>12}{'fastest':>12}{'ms/epoch':>10}")
    for label, values in seconds.items():
        median = statistics.median(values)
        print(
            f"  {label:<14}{samples / median:>18,.0f}{samples / max(values):>12,.0f}"
            f"{samples / min(values):>12,.0f}{1000 * median / case.epochs_per_sample:>10.1f}"
        )
    ratios: dict[str, float] = {}
    print(f"  {'throughput ratio':<26}   median   (quartiles over rounds)")
    for ours in ("nnlab", "nnlab.fit"):
        for other in ("fused numpy", "torch", "sklearn"):
            if ours in seconds and other in seconds:
                per_round = [t_other / t_ours for t_ours, t_other in zip(seconds[ours], seconds[other])]
                q1, q2, q3 = _quartiles(per_round)
                ratios[f"{ours}/{other}"] = q2
                print(f"  {ours + ' / ' + other:<26} = {q2:5.2f}x   ({q1:.2f} - {q3:.2f})")
    for other, op, bound in case.targets:
        for ours in ("nnlab", "nnlab.fit"):
            key = f"{ours}/{other}"
            if key in ratios:
                met = ratios[key] >= bound if op == ">=" else ratios[key] > bound
                print(f"  target {key} {op} {bound}: {'met' if met else 'NOT met'}")
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per implementation")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="BLAS and torch threads, the same for all (default 1: stable on a shared machine)",
    )
    parser.add_argument(
        "--segment", type=int, default=None,
        help="batches per turn when interleaving; 0: one epoch (default: 16 large, 0 small)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny data and 1 repeat: a smoke test")
    parser.add_argument("--case", choices=["large", "small", "both"], default="both")
    parser.add_argument(
        "--only", nargs="+", choices=["nnlab", "nnlab.fit", "fused numpy", "torch", "sklearn"], default=None,
        help="run only these implementations",
    )
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # each table as soon as it is done, even in a pipe

    print(f"nnlab MLP benchmark: Python {platform.python_version()}, numpy {np.__version__}")
    print(f"  {set_threads(args.threads)}")
    if args.quick:
        cases = [large_case(n_samples=256), small_case(n_samples=100, epochs_per_sample=1)]
        repeats = 1
    else:
        cases = [large_case(), small_case()]
        repeats = args.repeats
    if args.case != "both":
        cases = [c for c in cases if c.name == args.case]

    for case in cases:
        segment = case.segment if args.segment is None else args.segment
        seconds = run_case(case, repeats, args.only, segment=segment, warm_up=not args.quick)
        report(case, seconds, segment)
        if "nnlab" in seconds:
            nn_impl = NnlabMLP(case.sizes, case.batch_size, case.lr)
            nn_impl.reset(initial_weights(case.sizes, seed=1))
            problems = check_nnlab_float32(nn_impl, case.X, case.y)
            print("  nnlab float32 end to end: " + ("yes" if not problems else "NO: " + "; ".join(problems)))
            fused = FusedNumpyMLP(case.sizes, case.batch_size, case.lr)
            fused.reset(initial_weights(case.sizes, seed=1))
            print(
                f"  peak numpy memory in one epoch (tracemalloc): nnlab {peak_memory(nn_impl, case.X, case.y):.1f} MB, "
                f"fused numpy {peak_memory(fused, case.X, case.y):.1f} MB "
                f"(the shuffled copy of X is {case.X.nbytes / 1e6:.1f} MB)"
            )
            if problems:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
