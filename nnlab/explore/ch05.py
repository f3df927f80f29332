"""Chapter 5 explorers: optimizers on a 2-D loss surface, and the noise of mini-batch gradients.

Two pure, tested pieces of logic behind the chapter's figures and controls:

* :func:`trajectory` runs a real :mod:`nnlab.optim` optimizer on a 2-D loss surface
  (:data:`SURFACES`): the point (x, y) is an :class:`nnlab.Parameter`, the surface puts
  its gradient into ``p.grad``, and ``optimizer.step()`` moves it, so the paths drawn by
  :func:`draw_trajectories` are those of nnlab's own update rules.
* :func:`update_ratios`, :func:`interpolate_loss`, :func:`loss_surface` and
  :func:`saddle_escape` measure a real network while it trains: the ratio of each
  update to its weights, and slices of the loss through weight space.
* :func:`minibatch_gradients` and :func:`gradient_noise` measure how far the gradient of
  a mini-batch of size B lies from the full-batch gradient, for a linear regression
  with two parameters (so each gradient is a point in the plane), and compare the
  mean squared distance with the formula (sigma^2 / B) (N - B) / (N - 1).

See chapter 5 (Training).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab._checks import as_rng, check_positive_int, check_real
from nnlab.data import batches
from nnlab.layers import Linear
from nnlab.losses import MSELoss
from nnlab.module import Parameter
from nnlab.optim import SGD, Adam, Optimizer, RMSprop

__all__ = [
    "Surface",
    "SURFACES",
    "OPTIMIZERS",
    "DEFAULT_LR",
    "make_optimizer",
    "Trajectory",
    "trajectory",
    "draw_trajectories",
    "draw_optimizer",
    "regression_data",
    "minibatch_gradients",
    "NoiseResult",
    "gradient_noise",
    "draw_gradient_noise",
    "loss_curve_by_examples",
    "update_ratios",
    "interpolate_loss",
    "filter_normalized_direction",
    "loss_surface",
    "saddle_escape",
]


@dataclass(frozen=True)
class Surface:
    """A loss surface f(x, y) of two parameters, with its gradient.

    Attributes
    ----------
    name : str
    f : callable
        ``f(x, y)``, elementwise on arrays of any (equal) shape.
    grad : callable
        ``grad(x, y) -> (df/dx, df/dy)``, elementwise.
    start : (float, float)
        Where the optimizers start.
    minimum : (float, float)
        The global minimum.
    xlim, ylim : (float, float)
        The window drawn.
    """

    name: str
    f: Callable[[Any, Any], Any]
    grad: Callable[[Any, Any], tuple[Any, Any]]
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]


#: Curvatures of the ill-conditioned quadratic f = (x^2 + KAPPA y^2) / 2 (Hessian diag(1, KAPPA)).
KAPPA = 20.0


def _two_minima_x_minimum() -> float:
    # f = (x^2 - 1)^2 + 0.3 x + y^2: the deeper minimum solves 4x^3 - 4x + 0.3 = 0 near x = -1.
    roots = np.roots([4.0, 0.0, -4.0, 0.3])
    return float(min(r.real for r in roots if abs(r.imag) < 1e-12))


SURFACES: dict[str, Surface] = {
    "quadratic": Surface(
        "quadratic",
        f=lambda x, y: 0.5 * (x**2 + KAPPA * y**2),
        grad=lambda x, y: (x, KAPPA * y),
        start=(-4.5, 1.5),
        minimum=(0.0, 0.0),
        xlim=(-5.0, 5.0),
        ylim=(-2.0, 2.0),
    ),
    "rosenbrock": Surface(
        "rosenbrock",
        f=lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        grad=lambda x, y: (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)),
        start=(-1.5, 2.0),
        minimum=(1.0, 1.0),
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
    ),
    "two minima": Surface(
        "two minima",
        f=lambda x, y: (x**2 - 1) ** 2 + 0.3 * x + y**2,
        grad=lambda x, y: (4 * x * (x**2 - 1) + 0.3, 2 * y),
        start=(1.9, 1.5),
        minimum=(_two_minima_x_minimum(), 0.0),
        xlim=(-2.0, 2.2),
        ylim=(-1.8, 1.8),
    ),
}

#: The optimizers of the chapter, by the name the figures and controls use.
OPTIMIZERS = ("SGD", "momentum", "RMSprop", "Adam")

#: A learning rate that works well for each optimizer on each surface (50 steps on the
#: quadratic and the two minima, 300 on the Rosenbrock valley).
DEFAULT_LR: dict[str, dict[str, float]] = {
    "quadratic": {"SGD": 0.09, "momentum": 0.01, "RMSprop": 0.16, "Adam": 0.25},
    "rosenbrock": {"SGD": 0.0016, "momentum": 0.001, "RMSprop": 0.1, "Adam": 0.4},
    "two minima": {"SGD": 0.05, "momentum": 0.02, "RMSprop": 0.1, "Adam": 0.1},
}


def _surface(name: str) -> Surface:
    if name not in SURFACES:
        raise ValueError(f"expected a surface in {sorted(SURFACES)}; got {name!r}")
    return SURFACES[name]


def make_optimizer(name: str, params: Sequence[Parameter], lr: float) -> Optimizer:
    """The nnlab optimizer called ``name`` in :data:`OPTIMIZERS`, with the book's settings.

    ``"SGD"``: ``SGD(params, lr)``; ``"momentum"``: ``SGD(params, lr, momentum=0.9)``;
    ``"RMSprop"``: ``RMSprop(params, lr, alpha=0.9)``; ``"Adam"``: ``Adam(params, lr)``
    (betas 0.9, 0.999). See chapter 5.
    """
    if name == "SGD":
        return SGD(params, lr)
    if name == "momentum":
        return SGD(params, lr, momentum=0.9)
    if name == "RMSprop":
        return RMSprop(params, lr, alpha=0.9)
    if name == "Adam":
        return Adam(params, lr)
    raise ValueError(f"expected an optimizer in {list(OPTIMIZERS)}; got {name!r}")


@dataclass
class Trajectory:
    """The path of one optimizer on one surface.

    Attributes
    ----------
    points : np.ndarray, shape (k + 1, 2)
        The start and the point after each of the k steps taken (k = ``steps`` unless
        the run diverged).
    losses : np.ndarray, shape (k + 1,)
        f at each point.
    diverged : bool
        The point left every reasonable range (|x| or |y| > 1e6, or NaN) and the run
        was stopped; ``points`` then ends at the last finite point.
    """

    surface: str
    optimizer: str
    lr: float
    points: np.ndarray
    losses: np.ndarray
    diverged: bool

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])


def trajectory(
    surface: str = "quadratic",
    optimizer: str = "SGD",
    lr: float | None = None,
    steps: int = 50,
    start: Sequence[float] | None = None,
) -> Trajectory:
    """Run ``steps`` steps of an nnlab optimizer on a 2-D surface.

    The point theta = (x, y) is one :class:`~nnlab.module.Parameter` of shape (2,). Each
    step is what a training loop does: ``zero_grad()``, put grad f(theta) into
    ``p.grad``, ``step()``.

    Parameters
    ----------
    surface : str
        A key of :data:`SURFACES`.
    optimizer : str
        One of :data:`OPTIMIZERS`.
    lr : float, optional
        Learning rate (default :data:`DEFAULT_LR` for the pair).
    steps : int
        Number of updates, >= 1.
    start : (float, float), optional
        Starting point (default ``SURFACES[surface].start``).
    """
    surf = _surface(surface)
    if lr is None:
        lr = DEFAULT_LR[surface][optimizer] if optimizer in OPTIMIZERS else 0.0
    lr = check_real(lr, "lr", "trajectory", low=0.0)
    steps = check_positive_int(steps, "steps", "trajectory")
    p = Parameter(np.array(surf.start if start is None else start, dtype=np.float64))
    if p.shape != (2,):
        raise ValueError(f"trajectory expected a start (x, y); got shape {p.shape}")
    opt = make_optimizer(optimizer, [p], lr)
    points = [p.value.copy()]
    diverged = False
    # Overflow is how a divergent run shows itself; it is detected below.
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            opt.zero_grad()
            gx, gy = surf.grad(*p.value)
            p.grad += (gx, gy)
            opt.step()
            if not np.all(np.isfinite(p.value)) or np.abs(p.value).max() > 1e6:
                diverged = True
                break
            points.append(p.value.copy())
    pts = np.array(points)
    return Trajectory(surface, optimizer, lr, pts, surf.f(pts[:, 0], pts[:, 1]), diverged)


def _contours(ax: Any, surf: Surface) -> None:
    x = np.linspace(*surf.xlim, 160)
    y = np.linspace(*surf.ylim, 120)
    X, Y = np.meshgrid(x, y)
    Z = surf.f(X, Y)
    # Log-spaced levels above the minimum: a valley and its floor are both visible.
    floor = float(surf.f(*surf.minimum))
    levels = floor + np.geomspace(1e-2, max(float(Z.max() - floor), 1.0), 14)
    ax.contour(X, Y, Z, levels=levels, colors="0.7", linewidths=0.7)
    ax.plot(*surf.minimum, marker="*", color="k", markersize=11, linestyle="none")
    ax.set_xlim(*surf.xlim)
    ax.set_ylim(*surf.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _label(t: Trajectory, with_optimizer: bool) -> str:
    head = f"{t.optimizer}, lr={t.lr:g}" if with_optimizer else f"lr={t.lr:g}"
    if t.diverged:
        return f"{head}: diverged at step {len(t.points)}"
    return f"{head}: f={t.final_loss:.2g}"


def draw_trajectories(
    ax: Any,
    surface: str = "quadratic",
    optimizers: Sequence[str] = OPTIMIZERS,
    lrs: Sequence[float | None] | None = None,
    steps: int = 50,
) -> list[Trajectory]:
    """Draw the surface's contours and the path of each (optimizer, lr) pair on ``ax``.

    ``optimizers`` and ``lrs`` are paired: one path per entry (``lrs`` None: the
    default rate of each optimizer). A single optimizer with several rates compares
    learning rates; several optimizers compare update rules. The black star is the
    minimum; each legend entry gives the final loss, or the step at which the run
    diverged. Returns the trajectories.
    """
    surf = _surface(surface)
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    if lrs is None:
        lrs = [None] * len(optimizers)
    if len(optimizers) == 1 and len(lrs) > 1:
        optimizers = list(optimizers) * len(lrs)
    if len(optimizers) != len(lrs):
        raise ValueError(
            f"draw_trajectories expected one lr per optimizer; got {len(optimizers)} "
            f"optimizers and {len(lrs)} learning rates"
        )
    _contours(ax, surf)
    several = len(set(optimizers)) > 1
    runs = [trajectory(surface, name, lr, steps) for name, lr in zip(optimizers, lrs)]
    from matplotlib import rcParams  # the book's style (nnlab.book) sets the palette

    colors = rcParams["axes.prop_cycle"].by_key().get("color", ["k"])
    handles = [None] * len(runs)
    # Paths that wander most (a divergence, a wild oscillation) go underneath, so they
    # cannot hide the others; each path also has its own line style and marker.
    for depth, i in enumerate(sorted(range(len(runs)), key=lambda i: _clutter(runs[i], surf))):
        t = runs[i]
        faint = not _clutter(t, surf)[0]  # diverged, or leaves the window
        (handles[i],) = ax.plot(
            t.points[:, 0], t.points[:, 1], color=colors[i % len(colors)],
            linestyle=_LINESTYLES[i % len(_LINESTYLES)], marker=_MARKERS[i % len(_MARKERS)],
            markersize=3, markevery=max(1, len(t.points) // 25), linewidth=0.9 if faint else 1.4,
            alpha=0.55 if faint else 1.0, zorder=2 + depth, label=_label(t, several),
        )
        if not t.diverged:  # where the path ends, larger, so that an end under another path still shows
            ax.plot(*t.points[-1], marker=_MARKERS[i % len(_MARKERS)], markersize=7, linestyle="none",
                    color=colors[i % len(colors)], markeredgecolor="k", zorder=10 + depth)
    ax.plot(*surf.start, marker="o", color="k", markersize=5, linestyle="none")
    ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.85)
    ax.set_title(f"{surface}: {steps} steps", fontsize=10)
    return runs


#: One line style and one marker per path, so that paths differ in more than colour.
_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D")


def _clutter(t: Trajectory, surf: Surface) -> tuple[bool, float]:
    """Sort key: diverged paths first, then by the length of the path inside the window."""
    inside = (
        (t.points[:, 0] >= surf.xlim[0]) & (t.points[:, 0] <= surf.xlim[1])
        & (t.points[:, 1] >= surf.ylim[0]) & (t.points[:, 1] <= surf.ylim[1])
    )
    pts = np.clip(t.points, [surf.xlim[0], surf.ylim[0]], [surf.xlim[1], surf.ylim[1]])
    length = float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)))
    return (not t.diverged and bool(inside.all()), -length)


def draw_optimizer(
    ax: Any, surface: str = "quadratic", optimizer: str = "SGD", lr: float = 0.05, steps: int = 50
) -> Trajectory:
    """One optimizer's path on the surface, with its loss per step in an inset (log scale).

    The function behind the chapter's optimizer explorer. Returns the trajectory.
    """
    (t,) = draw_trajectories(ax, surface, [optimizer], [lr], steps)
    inset = ax.inset_axes((0.06, 0.08, 0.3, 0.3))
    floor = float(SURFACES[surface].f(*SURFACES[surface].minimum))
    inset.semilogy(np.maximum(t.losses - floor, 1e-16), color="C0", linestyle="-", linewidth=1)
    inset.set_title("f - f*  per step", fontsize=7)
    inset.tick_params(labelsize=6)
    return t


# --- the noise of a mini-batch gradient ---------------------------------------------------


def regression_data(n: int = 256, rng: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D linear regression set: x ~ N(0, 1), y = 2 x - 1 + 0.5 noise; shapes (n, 1), (n, 1)."""
    n = check_positive_int(n, "n", "regression_data")
    gen = as_rng(rng, "regression_data")
    X = gen.normal(size=(n, 1))
    y = 2.0 * X - 1.0 + 0.5 * gen.normal(size=(n, 1))
    return X, y


def _model_at(w: float, b: float) -> Linear:
    model = Linear(1, 1, init="zeros")
    model.weight.value[...] = w
    model.bias.value[...] = b
    return model


def _gradient(model: Linear, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(dL/dw, dL/db) of the mean squared error of ``model`` on (X, y), computed by nnlab."""
    criterion = MSELoss()
    model.zero_grad()
    criterion(model(X), y)
    model.backward(criterion.backward(), input_grad=False)
    return np.array([model.weight.grad.item(), model.bias.grad.item()])


def minibatch_gradients(
    batch_size: int,
    n_draws: int = 200,
    rng: Any = 0,
    data: tuple[np.ndarray, np.ndarray] | None = None,
    at: tuple[float, float] = (0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of ``n_draws`` mini-batches, and the full-batch gradient, at one point.

    The model is ``Linear(1, 1)`` with weight and bias ``at`` and the loss ``MSELoss``,
    so each gradient (dL/dw, dL/db) is a point in the plane. The mini-batches are those
    SGD would see: consecutive epochs of :func:`nnlab.data.batches` with shuffling,
    keeping the full batches (a shorter last batch of an epoch is skipped).

    Returns
    -------
    G : np.ndarray, shape (n_draws, 2)
        One mini-batch gradient per row.
    g : np.ndarray, shape (2,)
        The full-batch gradient (the mean of the per-example gradients).
    """
    X, y = regression_data() if data is None else data
    batch_size = check_positive_int(batch_size, "batch_size", "minibatch_gradients")
    n_draws = check_positive_int(n_draws, "n_draws", "minibatch_gradients")
    if batch_size > len(X):
        raise ValueError(
            f"minibatch_gradients expected batch_size <= {len(X)} (the data size); got {batch_size}"
        )
    gen = as_rng(rng, "minibatch_gradients")
    model = _model_at(*at)
    full = _gradient(model, X, y)
    draws = []
    while len(draws) < n_draws:
        for xb, yb in batches(X, y, batch_size, shuffle=True, rng=gen):
            if len(xb) == batch_size:
                draws.append(_gradient(model, xb, yb))
                if len(draws) == n_draws:
                    break
    return np.array(draws), full


@dataclass
class NoiseResult:
    """Measured and predicted noise of mini-batch gradients, per batch size.

    Attributes
    ----------
    batch_sizes : np.ndarray, shape (k,)
    measured : np.ndarray, shape (k,)
        Mean of ||g_B - g||^2 over the draws.
    predicted : np.ndarray, shape (k,)
        (sigma^2 / B) (N - B) / (N - 1), with sigma^2 the mean of ||g_i - g||^2 over the
        N single examples.
    sigma2 : float
    n : int
    """

    batch_sizes: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    sigma2: float
    n: int


def gradient_noise(
    batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    n_draws: int = 400,
    rng: Any = 0,
    data: tuple[np.ndarray, np.ndarray] | None = None,
) -> NoiseResult:
    """Measure E||g_B - g||^2 for each batch size and compare with its formula.

    A mini-batch of B examples drawn without replacement from N has a gradient whose
    mean is the full gradient g and whose mean squared distance from g is
    (sigma^2 / B) (N - B) / (N - 1): the 1/B of averaging B independent terms, times the
    finite-population correction, which makes the noise 0 at B = N. See chapter 5.
    """
    X, y = regression_data() if data is None else data
    gen = as_rng(rng, "gradient_noise")
    n = len(X)
    model = _model_at(0.0, 0.0)
    full = _gradient(model, X, y)
    per_example = np.array([_gradient(model, X[i : i + 1], y[i : i + 1]) for i in range(n)])
    sigma2 = float(np.mean(np.sum((per_example - full) ** 2, axis=1)))
    sizes = np.array([check_positive_int(b, "batch size", "gradient_noise") for b in batch_sizes])
    measured = []
    for b in sizes:
        G, _ = minibatch_gradients(int(b), n_draws, gen, (X, y))
        measured.append(float(np.mean(np.sum((G - full) ** 2, axis=1))))
    predicted = sigma2 / sizes * (n - sizes) / (n - 1)
    return NoiseResult(sizes, np.array(measured), predicted, sigma2, n)


def draw_gradient_noise(ax: Any, batch_size: int = 8, n_draws: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Scatter ``n_draws`` mini-batch gradients of size ``batch_size`` around the full gradient.

    The cloud shrinks like 1/sqrt(B): the dashed circle has the predicted root-mean-square
    radius sqrt((sigma^2 / B) (N - B) / (N - 1)). The axes are fixed, so clouds of
    different batch sizes can be compared. Returns ``(G, g)`` as
    :func:`minibatch_gradients`.
    """
    data = regression_data()
    G, g = minibatch_gradients(batch_size, n_draws, rng=1, data=data)
    n = len(data[0])
    model = _model_at(0.0, 0.0)
    per_example = np.array([_gradient(model, data[0][i : i + 1], data[1][i : i + 1]) for i in range(n)])
    sigma2 = float(np.mean(np.sum((per_example - g) ** 2, axis=1)))
    radius = np.sqrt(sigma2 / batch_size * (n - batch_size) / (n - 1))
    ax.scatter(G[:, 0], G[:, 1], s=6, alpha=0.5, color="C0", label=f"{n_draws} mini-batch gradients")
    ax.plot(*g, marker="*", color="C3", markersize=13, linestyle="none", label="full-batch gradient")
    angle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(g[0] + radius * np.cos(angle), g[1] + radius * np.sin(angle), "--", color="C3",
            linewidth=1, label="predicted rms distance")
    measured = float(np.sqrt(np.mean(np.sum((G - g) ** 2, axis=1))))
    ax.set_title(f"B = {batch_size}: rms distance {measured:.2f} (predicted {radius:.2f})", fontsize=10)
    ax.set_xlim(g[0] - 6, g[0] + 6)
    ax.set_ylim(g[1] - 4, g[1] + 4)
    ax.set_aspect("equal")
    ax.set_xlabel("dL/dw")
    ax.set_ylabel("dL/db")
    ax.legend(fontsize=7, loc="upper right")
    return G, g


# --- loss against the number of examples processed ----------------------------------------


def loss_curve_by_examples(
    model: Any,
    loss_fn: Any,
    optimizer: Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    n_examples: int,
    every: int,
    rng: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Train by shuffled mini-batches and record the full training loss as examples go by.

    The loop of :func:`nnlab.fit` (zero_grad, forward, backward, step over
    :func:`nnlab.data.batches`, epoch after epoch) until ``n_examples`` examples have been
    processed, evaluating the loss on all of ``(X, y)`` (in eval mode) at the start and
    each time another ``every`` examples have gone by. Comparing batch sizes on this axis
    compares how much each learns per example it reads. See chapter 5.

    Returns
    -------
    seen : np.ndarray of int, shape (k,)
        Examples processed at each evaluation (0 first).
    losses : np.ndarray, shape (k,)
        The training loss at those points.
    """
    from nnlab.train import evaluate  # train imports data and module, as this file does

    batch_size = check_positive_int(batch_size, "batch_size", "loss_curve_by_examples")
    n_examples = check_positive_int(n_examples, "n_examples", "loss_curve_by_examples")
    every = check_positive_int(every, "every", "loss_curve_by_examples")
    gen = as_rng(rng, "loss_curve_by_examples")
    seen, losses = [0], [evaluate(model, loss_fn, X, y)[0]]
    done, next_eval = 0, every
    while done < n_examples:
        model.train()
        for xb, yb in batches(X, y, batch_size, shuffle=True, rng=gen):
            optimizer.zero_grad()
            loss_fn(model(xb), yb)
            model.backward(loss_fn.backward(), input_grad=False)
            optimizer.step()
            done += len(xb)
            if done >= next_eval:
                seen.append(done)
                losses.append(evaluate(model, loss_fn, X, y)[0])
                next_eval += every
            if done >= n_examples:
                break
    return np.array(seen), np.array(losses)


# --- sanity checks and the loss landscape -------------------------------------------------


def update_ratios(
    model: Any,
    loss_fn: Any,
    optimizer: Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int = 32,
    epochs: int = 1,
    rng: Any = None,
) -> dict[str, np.ndarray]:
    """Train, and record ||Delta W|| / ||W|| of every weight matrix at every step.

    The loop of :func:`nnlab.fit` (shuffled mini-batches of :func:`nnlab.data.batches`)
    with one more line: each weight is copied before ``optimizer.step()`` and the
    Frobenius norm of the update is divided by that of the weight before it. CS231n's
    rule of thumb: about 1e-3; much smaller, the rate is too low; much larger, too high.
    See chapter 5.

    Returns
    -------
    dict of str to np.ndarray, shape (steps,)
        For each parameter whose name ends in ``weight``, the ratio at every step.
    """
    batch_size = check_positive_int(batch_size, "batch_size", "update_ratios")
    epochs = check_positive_int(epochs, "epochs", "update_ratios")
    gen = as_rng(rng, "update_ratios")
    weights = [(name, p) for name, p in model.named_parameters() if name.endswith("weight")]
    if not weights:
        raise ValueError("update_ratios expected a model with weight matrices; found none")
    ratios: dict[str, list[float]] = {name: [] for name, _ in weights}
    model.train()
    for _ in range(epochs):
        for xb, yb in batches(X, y, batch_size, shuffle=True, rng=gen):
            optimizer.zero_grad()
            loss_fn(model(xb), yb)
            model.backward(loss_fn.backward(), input_grad=False)
            before = [p.value.copy() for _, p in weights]
            optimizer.step()
            for (name, p), old in zip(weights, before):
                ratios[name].append(float(np.linalg.norm(p.value - old) / np.linalg.norm(old)))
    return {name: np.array(r) for name, r in ratios.items()}


def _evaluate_at(model: Any, values: list[np.ndarray], loss_fn: Any, X: np.ndarray, y: Any) -> float:
    from nnlab.train import evaluate

    for p, v in zip(model.parameters(), values):
        p.value[...] = v
    return evaluate(model, loss_fn, X, y)[0]


def interpolate_loss(
    model: Any,
    start: dict[str, np.ndarray],
    end: dict[str, np.ndarray],
    loss_fn: Any,
    X: np.ndarray,
    y: Any,
    alphas: Sequence[float],
) -> np.ndarray:
    """The loss along the straight line theta(a) = (1 - a) theta_start + a theta_end.

    Goodfellow, Vinyals & Saxe (2015): ``start`` and ``end`` are ``state_dict()``s of
    the same model (e.g. at initialization and after training); a = 0 is the start,
    a = 1 the end, values outside [0, 1] extrapolate. The model's weights are restored
    afterwards. See chapter 5.

    Returns
    -------
    np.ndarray, shape (len(alphas),)
        The loss (in eval mode) at each a.
    """
    names = [name for name, _ in model.named_parameters()]
    saved = model.state_dict()
    try:
        out = [
            _evaluate_at(model, [(1 - a) * start[n] + a * end[n] for n in names], loss_fn, X, y)
            for a in alphas
        ]
    finally:
        model.load_state_dict(saved)
    return np.array(out)


def filter_normalized_direction(model: Any, rng: Any = None) -> dict[str, np.ndarray]:
    """A random direction in weight space, scaled like the model's weights (Li et al. 2018).

    Every row of every weight matrix (the weights into one unit, a "filter") gets a
    Gaussian direction rescaled to the norm of that row, so that a step of 1 along it
    changes each unit by as much as its own weights; biases get direction 0. Without
    this, a slice would look flatter along layers with large weights. See chapter 5.
    """
    gen = as_rng(rng, "filter_normalized_direction")
    direction = {}
    for name, p in model.named_parameters():
        if name.endswith("weight") and p.value.ndim == 2:
            d = gen.standard_normal(p.value.shape)
            scale = np.linalg.norm(p.value, axis=1, keepdims=True) / np.linalg.norm(d, axis=1, keepdims=True)
            direction[name] = d * scale
        else:
            direction[name] = np.zeros_like(p.value)
    return direction


def loss_surface(
    model: Any,
    loss_fn: Any,
    X: np.ndarray,
    y: Any,
    alphas: Sequence[float],
    betas: Sequence[float],
    rng: Any = None,
) -> np.ndarray:
    """The loss on the plane theta* + a d1 + b d2 through the model's current weights.

    d1 and d2 are two :func:`filter_normalized_direction` draws from ``rng``; the model's
    weights are restored afterwards. See chapter 5.

    Returns
    -------
    np.ndarray, shape (len(betas), len(alphas))
        The loss (in eval mode), rows for b, columns for a (ready for ``contour``).
    """
    gen = as_rng(rng, "loss_surface")
    d1, d2 = filter_normalized_direction(model, gen), filter_normalized_direction(model, gen)
    names = [name for name, _ in model.named_parameters()]
    centre = model.state_dict()
    try:
        grid = [
            [_evaluate_at(model, [centre[n] + a * d1[n] + b * d2[n] for n in names], loss_fn, X, y)
             for a in alphas]
            for b in betas
        ]
    finally:
        model.load_state_dict(centre)
    return np.array(grid)


def saddle_escape(y0: float, lr: float = 0.1, threshold: float = -1.0, max_steps: int = 10_000) -> int:
    """Steps of gradient descent on f(x, y) = x^2 - y^2 from (1, y0) until f < ``threshold``.

    The origin is a saddle: x shrinks by (1 - 2 lr) per step while y grows by (1 + 2 lr),
    so a start close to the ridge y = 0 first slides towards the saddle and sits on a
    plateau for about log(1 / |y0|) / log(1 + 2 lr) steps before it escapes. Runs
    ``nnlab.optim.SGD``; returns ``max_steps`` if it never escapes. See chapter 5.
    """
    lr = check_real(lr, "lr", "saddle_escape", low=0.0, low_inclusive=False)
    max_steps = check_positive_int(max_steps, "max_steps", "saddle_escape")
    p = Parameter(np.array([1.0, float(y0)]))
    opt = SGD([p], lr)
    for step in range(1, max_steps + 1):
        opt.zero_grad()
        p.grad += (2 * p.value[0], -2 * p.value[1])
        opt.step()
        if p.value[0] ** 2 - p.value[1] ** 2 < threshold:
            return step
    return max_steps
