"""Chapter 10 explorers: capacity, depth and regularization.

Two pieces of logic, both pure and tested (``tests/test_explore_ch10.py``):

- **Depth buys pieces.** The tent map t(x) = 2 relu(x) - 4 relu(x - 1/2) folds [0, 1]
  onto itself; composing it k times gives a sawtooth with 2^k linear pieces.
  :func:`tent_network` builds that composition as an nnlab network with 2 ReLUs per
  layer and 6k + 1 parameters [Telgarsky 2016], while one hidden layer of m ReLUs has at
  most m + 1 pieces. :func:`count_pieces` counts the pieces of any 1-D function on a grid.
- **Bias, variance and double descent.** :func:`random_features` is a network whose
  hidden layer is random and frozen (ReLU kinks spread over the input range) and whose
  output layer :func:`fit_readout` solves by minimum-norm least squares, so a fit takes
  microseconds. :func:`bias_variance` refits it on many training sets and splits the
  expected test error into bias^2 + variance + noise; swept over widths past the number
  of training points it shows double descent [Belkin et al. 2019].
- **Capacity against data.** :func:`train_regressor` trains an MLP of a given width,
  number of hidden layers and weight decay (AdamW's, or L2 in the gradient) on a few noisy
  points of a sine (``nnlab.datasets.sine``) and measures its training, validation and test
  error. :func:`capacity_grid` does it over a grid of settings, averaged over seeds; nnlab
  ships that grid, made by ``nnlab/_data/make_capacity_grid.py`` (training 324 networks
  takes minutes), and :func:`draw_capacity` reads it, so a slider redraw takes milliseconds.

See chapter 10.
"""

from __future__ import annotations

import importlib.resources

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnlab._checks import check_positive_int, check_real
from nnlab.activations import ReLU
from nnlab.datasets import sine
from nnlab.layers import Linear, Sequential, mlp
from nnlab.losses import MSELoss
from nnlab.module import Module
from nnlab.optim import Adam
from nnlab.train import History, evaluate, fit

__all__ = [
    "sawtooth",
    "tent_network",
    "count_pieces",
    "SINE_TASK",
    "sine_task",
    "RegressionRun",
    "train_regressor",
    "CapacityGrid",
    "capacity_grid",
    "draw_capacity",
    "random_features",
    "fit_readout",
    "BiasVariance",
    "bias_variance",
]


# --- depth: the sawtooth ------------------------------------------------------------------


def sawtooth(x: Any, k: int) -> np.ndarray:
    """The tent map t(x) = 2x for x < 1/2, 2 - 2x otherwise, applied ``k`` times.

    On [0, 1], t^k is a sawtooth with 2^(k-1) teeth (2^k linear pieces) between 0 and 1.
    ``x`` may have any shape; the result has the same shape.
    """
    k = check_positive_int(k, "k", "sawtooth")
    y = np.asarray(x, dtype=np.float64)
    for _ in range(k):
        y = np.where(y < 0.5, 2.0 * y, 2.0 - 2.0 * y)
    return y


def _set(layer: Linear, weight: list[list[float]], bias: list[float]) -> Linear:
    layer.weight.value[...] = weight
    layer.bias.value[...] = bias
    return layer


def tent_network(k: int) -> Sequential:
    """An nnlab ReLU network with ``k`` hidden layers (depth k + 1) computing :func:`sawtooth` (·, k) on [0, 1].

    Layer 1 computes h = (relu(x), relu(x - 1/2)); each further hidden layer reads the
    tent value t = 2 h_1 - 4 h_2 of the layer below, folded into its own weights, and
    the output layer returns 2 h_1 - 4 h_2. Widths 1 -> 2 -> ... -> 2 -> 1 (k hidden
    layers), 6k + 1 parameters [Telgarsky 2016]. Input ``(batch, 1)``, output ``(batch, 1)``.
    """
    k = check_positive_int(k, "k", "tent_network")
    layers: list[Module] = [_set(Linear(1, 2, init="zeros"), [[1.0], [1.0]], [0.0, -0.5]), ReLU()]
    for _ in range(k - 1):
        # relu(t) and relu(t - 1/2) with t = 2 h_1 - 4 h_2: both rows read t.
        layers += [_set(Linear(2, 2, init="zeros"), [[2.0, -4.0], [2.0, -4.0]], [0.0, -0.5]), ReLU()]
    layers.append(_set(Linear(2, 1, init="zeros"), [[2.0, -4.0]], [0.0]))
    return Sequential(*layers)


def count_pieces(y: Any, x: Any, tol: float = 1e-6) -> int:
    """The number of linear pieces of a piecewise-linear f sampled as ``y = f(x)``.

    Counts the changes of slope between consecutive grid intervals (1 + the number of
    kinks the grid can see). ``x`` increasing, shape ``(n,)`` or ``(n, 1)``; ``y`` the same.
    A grid resolves every kink only when no interval holds two of them.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"count_pieces expected x and y of the same length >= 2; got {x.shape} and {y.shape}")
    if np.any(np.diff(x) <= 0):
        raise ValueError("count_pieces expected an increasing grid x")
    slopes = np.diff(y) / np.diff(x)
    scale = max(1.0, float(np.abs(slopes).max()))
    return 1 + int(np.sum(np.abs(np.diff(slopes)) > tol * scale))


# --- capacity: a small regression task -------------------------------------------------------

#: The task of the chapter's capacity experiments: few noisy points of sin(x).
SINE_TASK: dict[str, Any] = {"n_train": 15, "n_val": 100, "n_test": 200, "noise": 0.2}


def sine_task(seed: int = 0, n_train: int | None = None) -> dict[str, np.ndarray]:
    """Training, validation and test sets of :data:`SINE_TASK`, drawn from ``seed``.

    Returns a dict with keys ``X, y, X_val, y_val, X_test, y_test``, each from
    :func:`nnlab.datasets.sine` (inputs ``(n, 1)``, targets ``(n, 1)``) with independent
    seeds, so the three sets never share a point. ``n_train`` overrides the training size
    (for learning curves); the validation and test sets do not depend on it.
    """
    n = SINE_TASK["n_train"] if n_train is None else check_positive_int(n_train, "n_train", "sine_task")
    noise = SINE_TASK["noise"]
    X, y = sine(n, noise=noise, rng=np.random.default_rng([seed, 0]))
    X_val, y_val = sine(SINE_TASK["n_val"], noise=noise, rng=np.random.default_rng([seed, 1]))
    X_test, y_test = sine(SINE_TASK["n_test"], noise=noise, rng=np.random.default_rng([seed, 2]))
    return {"X": X, "y": y, "X_val": X_val, "y_val": y_val, "X_test": X_test, "y_test": y_test}


@dataclass(frozen=True)
class RegressionRun:
    """What :func:`train_regressor` returns: the trained network and its errors (MSE)."""

    net: Sequential
    history: History
    train_mse: float
    val_mse: float
    test_mse: float


def train_regressor(
    width: int,
    depth: int,
    weight_decay: float = 0.0,
    *,
    decoupled: bool = True,
    dropout: float = 0.0,
    seed: int = 0,
    init_seed: int | None = None,
    n_train: int | None = None,
    epochs: int = 1000,
    lr: float = 0.01,
    patience: int | None = None,
) -> RegressionRun:
    """Train a tanh MLP with ``depth`` hidden layers of ``width`` units on :func:`sine_task`.

    (Here ``depth`` counts hidden layers, as the grid's axis does: the network has
    ``depth + 1`` Linear layers.)

    Full-batch Adam (learning rate ``lr``) on the mean squared error, with weight decay
    ``weight_decay`` on every parameter: decoupled, i.e. AdamW (``decoupled=True``, the
    default: theta <- (1 - lr lambda) theta before each Adam step), or as the gradient
    lambda theta of the L2 penalty (lambda / 2) ||theta||^2 (``decoupled=False``), and
    optional dropout after each hidden layer. Xavier initialization from ``init_seed``
    (default: ``seed``); the data from ``sine_task(seed, n_train)``. With ``patience``,
    :func:`nnlab.fit` stops early on the validation loss.

    Returns
    -------
    RegressionRun
        The network (in eval mode), its History, and its MSE on the three sets,
        measured after training in eval mode.
    """
    width = check_positive_int(width, "width", "train_regressor")
    depth = check_positive_int(depth, "depth", "train_regressor")
    weight_decay = check_real(weight_decay, "weight_decay", "train_regressor", low=0.0)
    data = sine_task(seed, n_train)
    init_seed = seed if init_seed is None else init_seed
    net = mlp([1] + [width] * depth + [1], "tanh", init="xavier_uniform", dropout=dropout, rng=init_seed)
    loss = MSELoss()
    optimizer = Adam(net.parameters(), lr=lr, weight_decay=weight_decay, decoupled=decoupled)
    history = fit(net, loss, optimizer, data["X"], data["y"], epochs=epochs,
                  batch_size=len(data["X"]), X_val=data["X_val"], y_val=data["y_val"],
                  patience=patience, progress=False, rng=seed)
    net.eval()
    errors = [evaluate(net, loss, data[f"X{s}"], data[f"y{s}"])[0] for s in ("", "_val", "_test")]
    return RegressionRun(net, history, *errors)


@dataclass(frozen=True)
class CapacityGrid:
    """Errors of :func:`train_regressor` over a grid, averaged over ``seeds``.

    ``train``, ``val`` and ``test`` have shape ``(len(depths), len(widths), len(decays))``;
    ``decoupled`` says whether the decay was AdamW's (True) or L2 in the gradient (False).
    """

    widths: tuple[int, ...]
    depths: tuple[int, ...]
    decays: tuple[float, ...]
    seeds: tuple[int, ...]
    epochs: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    decoupled: bool = True

    def index(self, width: int, depth: int, decay: float) -> tuple[int, int, int]:
        """The grid position of a setting; ValueError naming the grid if it is not on it."""
        for name, value, axis in (("width", width, self.widths), ("depth", depth, self.depths),
                                  ("decay", decay, self.decays)):
            if not any(np.isclose(value, a, rtol=1e-9, atol=0.0) for a in axis):
                raise ValueError(f"CapacityGrid: {name} must be one of {list(axis)}; got {value!r}")
        return (self.depths.index(depth), self.widths.index(width),
                int(np.argmin(np.abs(np.array(self.decays) - decay))))

    def best(self) -> tuple[int, int, float]:
        """The setting (width, depth, decay) with the lowest validation error."""
        d, w, k = np.unravel_index(int(np.argmin(self.val)), self.val.shape)
        return self.widths[w], self.depths[d], self.decays[k]

    def save(self, path: str | Path) -> None:
        """Write the grid to a ``.npz`` file (read it back with :meth:`load`)."""
        np.savez(path, widths=self.widths, depths=self.depths, decays=self.decays,
                 seeds=self.seeds, epochs=self.epochs, train=self.train, val=self.val, test=self.test,
                 decoupled=self.decoupled)

    @classmethod
    def load(cls, path: str | Path | None = None) -> CapacityGrid:
        """Read a grid written by :meth:`save`; by default the one shipped with nnlab.

        The shipped grid (``nnlab/_data/capacity_grid.npz``) is what chapter 10's explorer
        shows; ``tests/test_explore_ch10.py`` recomputes one of its cells to keep it honest.
        """
        if path is None:
            path = importlib.resources.files("nnlab") / "_data" / "capacity_grid.npz"
        with np.load(path) as f:
            return cls(tuple(int(v) for v in f["widths"]), tuple(int(v) for v in f["depths"]),
                       tuple(float(v) for v in f["decays"]), tuple(int(v) for v in f["seeds"]),
                       int(f["epochs"]), f["train"], f["val"], f["test"],
                       bool(f["decoupled"]) if "decoupled" in f.files else False)


def capacity_grid(
    widths: Sequence[int],
    depths: Sequence[int],
    decays: Sequence[float],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 1000,
    decoupled: bool = True,
) -> CapacityGrid:
    """Train one network per (depth, width, decay, seed) and average the errors over seeds.

    Slow by design (each network trains for ``epochs`` full-batch steps): run it once and
    :meth:`CapacityGrid.save` the result; nnlab ships chapter 10's grid, made by
    ``nnlab/_data/make_capacity_grid.py``. ``decoupled`` is passed to :func:`train_regressor`.
    """
    shape = (len(depths), len(widths), len(decays))
    errors = np.zeros((3, *shape))
    for d, depth in enumerate(depths):
        for w, width in enumerate(widths):
            for k, decay in enumerate(decays):
                runs = [train_regressor(width, depth, decay, decoupled=decoupled, seed=s, epochs=epochs)
                        for s in seeds]
                errors[:, d, w, k] = np.mean([[r.train_mse, r.val_mse, r.test_mse] for r in runs], axis=0)
    return CapacityGrid(tuple(int(w) for w in widths), tuple(int(d) for d in depths),
                        tuple(float(k) for k in decays), tuple(int(s) for s in seeds), int(epochs),
                        *errors, decoupled=bool(decoupled))


def draw_capacity(ax: Any, grid: CapacityGrid, width: int, depth: int, decay: float) -> dict[str, float]:
    """Training and validation error against width, at one depth and weight decay.

    Draws both curves for ``(depth, decay)`` (log-log), the validation curve without
    weight decay for comparison (dotted), the noise floor (the variance of the noise,
    which no model can beat on new data), and a hollow diamond at ``width``; the legend
    sits to the right of the axes (leave room for it). Returns the numbers
    at the marked setting: ``{"train": ..., "val": ..., "gap": val - train}``.
    """
    d, w, k = grid.index(width, depth, decay)
    widths = np.array(grid.widths)
    # Curves differ in marker and line style as well as colour (the book's style file sets
    # the Okabe-Ito colours); the legend sits outside the axes so that it hides no point.
    ax.plot(widths, grid.train[d, :, k], "o-", color="C0", label="training error")
    ax.plot(widths, grid.val[d, :, k], "s--", color="C1", label="validation error")
    if k != 0:
        ax.plot(widths, grid.val[d, :, 0], "s:", color="C1", alpha=0.6, mfc="none",
                label=f"validation, decay {grid.decays[0]:g}")
    ax.axhline(SINE_TASK["noise"] ** 2, color="0.5", lw=1, ls="-.", label="noise variance")
    train, val = float(grid.train[d, w, k]), float(grid.val[d, w, k])
    ax.plot([width, width], [train, val], color="k", lw=1)
    ax.plot([width], [val], "D", color="k", ms=6, mfc="none", label="selected width")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(widths, [str(v) for v in widths])
    ax.set_xlabel("width (units per hidden layer)")
    ax.set_ylabel("mean squared error")
    ax.set_title(f"{depth} hidden layer(s), weight decay {decay:g}: train {train:.3f}, validation {val:.3f}",
                 fontsize="medium")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return {"train": train, "val": val, "gap": val - train}


# --- bias, variance and double descent: random features --------------------------------------


def random_features(width: int, rng: Any = None) -> Sequential:
    """A frozen random ReLU layer ``Linear(1, width)`` + ``ReLU`` for inputs in [-pi, pi].

    Unit j computes relu(w_j (x - c_j)) with w_j ~ N(0, 1) and its kink c_j ~ U(-pi, pi),
    i.e. bias b_j = -w_j c_j, so the kinks spread over the range of :func:`sine_task`'s
    inputs. Input ``(n, 1)``, output ``(n, width)``. Only the readout on top is fitted
    (:func:`fit_readout`), so the width sets the number of fitted parameters, width + 1.
    """
    width = check_positive_int(width, "width", "random_features")
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    layer = Linear(1, width, init="zeros")
    kinks = gen.uniform(-np.pi, np.pi, size=width)
    layer.weight.value[...] = gen.standard_normal((width, 1))
    layer.bias.value[...] = -layer.weight.value[:, 0] * kinks
    return Sequential(layer, ReLU())


def fit_readout(H: Any, y: Any, ridge: float = 0.0) -> np.ndarray:
    """The minimum-norm least-squares readout: coefficients a of [H, 1] a ~ y.

    With ``ridge = 0``: among all ``a`` that minimise ||[H, 1] a - y||^2 (a unique one
    when the width + 1 is below the number of examples, a whole affine space above it),
    the one of least norm, ``pinv([H, 1]) y``, computed by ``np.linalg.lstsq``. With
    ``ridge = mu > 0``: the minimiser of ||[H, 1] a - y||^2 + mu ||a||^2, which tends to
    the minimum-norm one as mu -> 0. ``H`` ``(n, width)``, ``y`` ``(n, 1)``; returns
    ``(width + 1, 1)``, the last entry the bias. Predict with ``[H, 1] @ a``.
    """
    H = np.asarray(H, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(len(H), -1)
    ridge = check_real(ridge, "ridge", "fit_readout", low=0.0)
    A = np.hstack([H, np.ones((len(H), 1))])
    if ridge > 0:
        n, p = A.shape
        if p <= n:  # (A^T A + mu I) a = A^T y
            return np.linalg.solve(A.T @ A + ridge * np.eye(p), A.T @ y)
        # the same solution through the n x n system: a = A^T (A A^T + mu I)^{-1} y
        return A.T @ np.linalg.solve(A @ A.T + ridge * np.eye(n), y)
    return np.linalg.lstsq(A, y, rcond=None)[0]


@dataclass(frozen=True)
class BiasVariance:
    """What :func:`bias_variance` measures, one entry per width (arrays of shape ``(len(widths),)``).

    ``test`` is the test error averaged over training sets (against noisy targets);
    ``bias2``, ``variance`` and ``noise`` its three parts; ``train`` the training error.
    ``predictions`` has shape ``(len(widths), n_sets, len(x_test))``.
    """

    widths: tuple[int, ...]
    n_train: int
    x_test: np.ndarray
    train: np.ndarray
    test: np.ndarray
    bias2: np.ndarray
    variance: np.ndarray
    noise: np.ndarray
    predictions: np.ndarray


def bias_variance(
    widths: Sequence[int],
    *,
    n_sets: int = 100,
    n_train: int | None = None,
    n_test: int = 200,
    ridge: float = 0.0,
    seed: int = 0,
) -> BiasVariance:
    """Fit :func:`random_features` + :func:`fit_readout` on ``n_sets`` training sets per width.

    The training inputs are fixed, ``n_train`` points evenly spaced on [-pi, pi] (a fixed
    design); training set i draws new targets sin x + noise (noise ``SINE_TASK["noise"]``)
    and its own random layer, both from ``[seed, i, width]``. The test inputs are a grid
    of ``n_test`` points on [-pi, pi]. With f_i the fit on set i, f_bar its average over
    the sets and s^2 the noise variance, at each test point

        E[(f_i(x) - y)^2] = (f_bar(x) - sin x)^2 + E[(f_i(x) - f_bar(x))^2] + s^2
                          =        bias^2        +         variance         + noise,

    averaged over the test grid. ``ridge`` is passed to :func:`fit_readout`.
    ``test`` is measured independently, against test targets
    with fresh noise, so that the identity can be checked; ``bias2 + variance`` equals the
    mean of (f_i - sin)^2 over sets and grid exactly (to rounding). See chapter 10.
    """
    n_train = SINE_TASK["n_train"] if n_train is None else check_positive_int(n_train, "n_train", "bias_variance")
    n_sets = check_positive_int(n_sets, "n_sets", "bias_variance", minimum=2)
    widths = tuple(check_positive_int(w, "width", "bias_variance") for w in widths)
    noise = SINE_TASK["noise"]
    X = np.linspace(-np.pi, np.pi, n_train).reshape(-1, 1)
    x_test = np.linspace(-np.pi, np.pi, n_test).reshape(-1, 1)
    f_train, f_test = np.sin(X), np.sin(x_test).ravel()
    preds = np.zeros((len(widths), n_sets, n_test))
    train = np.zeros(len(widths))
    test = np.zeros(len(widths))
    for w, width in enumerate(widths):
        for i in range(n_sets):
            gen = np.random.default_rng([seed, i, width])
            y = f_train + noise * gen.standard_normal((n_train, 1))
            y_test = f_test + noise * gen.standard_normal(n_test)
            layer = random_features(width, gen)
            H = layer(X)
            a = fit_readout(H, y, ridge)
            fitted = H @ a[:-1] + a[-1]
            pred = (layer(x_test) @ a[:-1] + a[-1]).ravel()
            preds[w, i] = pred
            train[w] += float(np.mean((fitted - y) ** 2)) / n_sets
            test[w] += float(np.mean((pred - y_test) ** 2)) / n_sets
    mean = preds.mean(axis=1)
    bias2 = np.mean((mean - f_test) ** 2, axis=1)
    variance = np.mean((preds - mean[:, None, :]) ** 2, axis=(1, 2))
    return BiasVariance(widths, n_train, x_test, train, test, bias2, variance,
                        np.full(len(widths), noise**2), preds)
