"""Chapter 10 (capacity and regularization): the graded exercises.

- ``l2_regularize(loss, W, b, dW, db, lam) -> (total, dW_total, db_total)``: add the L2
  penalty (lambda / 2) ||W||_F^2 of one Linear layer's weights to the loss and its gradient
  lambda W to dW, leaving the bias alone; against ``nnlab.optim.SGD(weight_decay=lam)``
  (which adds lambda W to the gradient of whatever it is given) and against central
  differences of the penalty.
- ``dropout(x, grad_out, p, seed, training) -> (y, grad_x)``: inverted dropout forward
  and backward, the mask drawn once as ``np.random.default_rng(seed).random(x.shape) >= p``;
  against :class:`nnlab.Dropout` and central differences through the same mask.
- ``early_stopping(train_loss, val_loss, patience) -> (best_epoch, epochs_run)``: which
  epoch's weights early stopping keeps, and how many epochs it trains; against
  :func:`nnlab.fit` itself, driven by a loss that replays the given curves.

When an answer is wrong in one of the typical ways (a decayed bias, lambda where lambda/2
belongs, a sign error; no 1/(1-p), 1/p, a mask in eval mode, a second mask in backward;
the training loss, counting from 1, the last epoch), the message says which.

>>> from nnlab.exercises import ch10
>>> ch10.dropout.check(my_dropout)     # doctest: +SKIP
✓ dropout: passed (6 random cases)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab.exercises._core import Case, Exercise, describe_shape
from nnlab.gradcheck import numerical_gradient
from nnlab.layers import Dropout, Linear
from nnlab.optim import SGD
from nnlab.train import fit

__all__ = ["l2_regularize", "dropout", "early_stopping", "EXERCISES"]

# Headings of book/10_capacity/lesson.ipynb (tests/test_exercises_ch10.py keeps them in sync).
SECTION_L2 = "10.3 Weight decay: a penalty becomes a gradient term"
SECTION_DROPOUT = "10.4 Dropout"
SECTION_EARLY = "10.5 Early stopping"


@dataclass(frozen=True)
class _ValueCase(Case):
    """A Case that shows scalars and short 1-D curves by value, arrays by shape."""

    def describe(self) -> str:
        parts = []
        for name, arg in zip(self.names, self.args):
            if isinstance(arg, np.ndarray) and arg.ndim == 1 and name.endswith("loss"):
                shown = [f"{v:.3g}" for v in arg[:4]]
                parts.append(f"{name} [{', '.join(shown)}, ... ({arg.size} epochs)]")
            elif isinstance(arg, (bool, int, float, np.integer, np.floating)):
                parts.append(f"{name}={arg!r}" if not isinstance(arg, float) else f"{name}={arg:.6g}")
            else:
                parts.append(f"{name} {describe_shape(arg)}")
        return ", ".join(parts)


def _close(a: Any, b: Any) -> bool:
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-10))


def _triple(got: Any) -> tuple[Any, Any, Any] | None:
    return tuple(got) if isinstance(got, (tuple, list)) and len(got) == 3 else None  # type: ignore[return-value]


# --- Exercise 1: the L2 penalty and its gradient -------------------------------------------

# (W shape, lambda): no two dimensions equal, a single output unit, a large and a tiny lambda.
_L2_SHAPES = [((3, 4), 0.1), ((1, 5), 0.05), ((6, 2), 0.3), ((4, 7), 1e-3), ((2, 3), 2.0)]


def _l2_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for (d_out, d_in), lam in _L2_SHAPES:
        W = rng.normal(size=(d_out, d_in))
        b = rng.normal(size=d_out) + 1.0  # clearly non-zero, so a decayed bias shows
        dW, db = rng.normal(scale=0.1, size=(d_out, d_in)), rng.normal(scale=0.1, size=d_out)
        loss = float(rng.uniform(0.1, 2.0))
        cases.append(_ValueCase((loss, W, b, dW, db, lam), ("loss", "W", "b", "dW", "db", "lam")))
    return cases


def _l2_reference(loss: float, W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray,
                  lam: float) -> tuple[float, np.ndarray, np.ndarray]:
    # nnlab's SGD adds lam * p to the gradient of every parameter it is given; given the
    # weight only, one step with lr = 1 moves W by exactly dW + lam W.
    layer = Linear(W.shape[1], W.shape[0], init="zeros")
    layer.weight.value[...] = W
    layer.weight.grad[...] = dW
    SGD([layer.weight], lr=1.0, weight_decay=lam).step()
    return loss + 0.5 * lam * float(np.sum(W * W)), W - layer.weight.value, db.copy()


def _l2_numerical(loss: float, W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray,
                  lam: float) -> tuple[float, np.ndarray, np.ndarray]:
    def penalty(w: np.ndarray) -> float:
        return 0.5 * lam * float(np.linalg.norm(w) ** 2)

    return loss + penalty(W), dW + numerical_gradient(penalty, W.copy()), db.copy()


class _L2Exercise(Exercise):
    def explain(self, case: Case, got: Any) -> str | None:
        got = _triple(got)
        if got is None:
            return None
        loss, W, b, dW, db, lam = case.args
        total, g_W, g_b = got
        sq_W, sq_b = float(np.sum(W * W)), float(np.sum(b * b))
        if _close(g_b, db + lam * b) or _close(total, loss + 0.5 * lam * (sq_W + sq_b)):
            return ("the bias is decayed too: the penalty (lambda/2) ||W||^2 holds the weights "
                    "only, so the loss gets no b term and db is returned unchanged")
        if _close(total, loss) and _close(g_W, dW + lam * W):
            return ("the gradient has its lambda W, but the loss is returned without the penalty "
                    "(lambda/2) ||W||^2 that the gradient comes from")
        if _close(total, loss + lam * sq_W):
            return "the penalty is lambda ||W||^2; it should be (lambda/2) ||W||^2, whose gradient is lambda W"
        if _close(total, loss + lam * np.sqrt(sq_W)) or _close(total, loss + 0.5 * lam * np.sqrt(sq_W)):
            return "the penalty uses the norm ||W||, not its square ||W||^2 = np.sum(W ** 2)"
        if _close(g_W, dW - lam * W):
            return ("sign error: d/dW (lambda/2) ||W||^2 = + lambda W, added to dW; gradient descent "
                    "then subtracts it, shrinking the weights")
        if _close(g_W, dW + 2 * lam * W) or _close(g_W, dW + 0.5 * lam * W):
            return ("the gradient does not match the penalty: with (lambda/2) ||W||^2 the factor 2 of "
                    "the square cancels the 1/2, so the gradient is exactly lambda W")
        if _close(g_W, dW):
            return "dW is returned unchanged: the penalty's gradient lambda W must be added to it"
        return None


l2_regularize = _L2Exercise(
    name="l2_regularize",
    chapter=10,
    section=SECTION_L2,
    make_cases=_l2_cases,
    references=[("nnlab.optim.SGD(weight_decay=lam) on the weight, and loss + (lam/2) ||W||^2",
                 _l2_reference),
                ("central differences of the penalty", _l2_numerical)],
    output_names=("total", "dW_total", "db_total"),
    note_format="Note: {}.",
    hints=(
        "Three things to return: the penalised loss, the penalised weight gradient and the bias "
        "gradient. Only the weights W are penalised; the bias b is not.",
        "total = loss + (lam / 2) * np.sum(W ** 2): the squared Frobenius norm is the sum of the "
        "squares of all entries. Differentiate it entry by entry: d/dW_ij (lam/2) W_ij^2 = lam W_ij.",
        "return loss + 0.5 * lam * np.sum(W ** 2), dW + lam * W, db (float, array, array).",
    ),
)


# --- Exercise 2: inverted dropout, forward and backward -------------------------------------

# (x shape, p, training): p = 0.5 is avoided, since 1/p = 1/(1-p) there would hide a bug.
_DROPOUT_SHAPES = [((4, 3), 0.25, True), ((1, 7), 0.6, True), ((5, 2), 0.1, True),
                   ((3, 6), 0.4, False), ((8, 5), 0.75, True), ((2, 9), 0.0, True)]


def _dropout_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, p, training in _DROPOUT_SHAPES:
        x = rng.normal(size=shape)
        grad_out = rng.normal(size=shape)
        seed = int(rng.integers(0, 2**31 - 1))
        cases.append(_ValueCase((x, grad_out, p, seed, training),
                                ("x", "grad_out", "p", "seed", "training")))
    return cases


def _dropout_layer(p: float, seed: int, training: bool) -> Dropout:
    layer = Dropout(p, rng=np.random.default_rng(seed))
    layer.train(training)
    return layer


def _dropout_reference(x: np.ndarray, grad_out: np.ndarray, p: float, seed: int,
                       training: bool) -> tuple[np.ndarray, np.ndarray]:
    layer = _dropout_layer(p, seed, training)
    y = layer(x)
    return y, layer.backward(grad_out)


def _dropout_numerical(x: np.ndarray, grad_out: np.ndarray, p: float, seed: int,
                       training: bool) -> tuple[np.ndarray, np.ndarray]:
    # A fresh layer per evaluation draws the same mask from the same seed, so the
    # function differentiated is y(x) = x * mask with the mask held fixed.
    def f(v: np.ndarray) -> float:
        return float(np.sum(grad_out * _dropout_layer(p, seed, training)(v)))

    return _dropout_layer(p, seed, training)(x), numerical_gradient(f, x.copy())


class _DropoutExercise(Exercise):
    def explain(self, case: Case, got: Any) -> str | None:
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return None
        x, grad_out, p, seed, training = case.args
        y, g = got
        draws = np.random.default_rng(seed)
        u = draws.random(x.shape)
        keep = u >= p
        if not training:
            if not _close(y, x) or not _close(g, grad_out):
                return ("in eval mode (training=False) dropout is the identity: y = x and "
                        "grad_x = grad_out, no mask, no scaling")
            return None
        if _close(y, x * keep):
            return (f"no 1/(1-p) scaling: the kept units must be divided by the keep probability "
                    f"1 - p = {1 - p:g}, so that E[y] = x")
        if _close(y, x * keep / p):
            return f"scaled by 1/p; p = {p:g} is the DROP probability, so divide by 1 - p = {1 - p:g}"
        if _close(y, x * (u < p) / (1 - p)) or _close(y, x * (u < p) / p):
            return (f"units are KEPT with probability p; p = {p:g} is the probability of dropping "
                    "a unit, so keep where rng.random(x.shape) >= p")
        second = draws.random(x.shape) >= p
        if _close(y, x * keep / (1 - p)):
            if _close(g, grad_out * second / (1 - p)) or _close(g, grad_out * second):
                return ("the backward pass drew a new mask; it must reuse the mask of the forward "
                        "pass, since the gradient flows only through the units that were kept")
            if _close(g, grad_out * keep):
                return "grad_x lacks the 1/(1-p): y = x * mask / (1 - p), so dy/dx carries it too"
            if _close(g, grad_out):
                return "grad_x = grad_out ignores the mask: no gradient reaches a dropped unit"
        return None


dropout = _DropoutExercise(
    name="dropout",
    chapter=10,
    section=SECTION_DROPOUT,
    make_cases=_dropout_cases,
    references=[("nnlab.Dropout(p, rng=np.random.default_rng(seed))", _dropout_reference),
                ("central differences through the same mask", _dropout_numerical)],
    output_names=("y", "grad_x"),
    note_format="Note: {}.",
    hints=(
        "Draw the random numbers once: u = np.random.default_rng(seed).random(x.shape). A unit "
        "is kept where u >= p (p is the probability of DROPPING it).",
        "Inverted dropout scales the kept units by 1 / (1 - p) in training, so that E[y] = x; "
        "then eval mode needs no change at all: y = x. The backward pass multiplies grad_out "
        "by the very same mask, scaling included.",
        "if not training: return x, grad_out. Otherwise mask = (u >= p) / (1 - p); "
        "return x * mask, grad_out * mask.",
    ),
)


# --- Exercise 3: early stopping -------------------------------------------------------------


def _curves(rng: np.random.Generator, n: int, low_at: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """A falling, noisy training curve and a U-shaped validation curve, rounded to 3 decimals.

    The training curve wobbles (mini-batch noise) and flattens, so its lowest point is not
    the last epoch: answers that watch it, or keep the last epoch, fail differently.
    """
    t = np.arange(n)
    train = np.round(1.0 / (1.0 + 0.3 * t) + 0.1 + rng.uniform(0.0, 0.03, size=n), 3)
    val = 0.3 + 0.6 / (1.0 + 0.5 * t) + 0.004 * np.maximum(t - low_at, 0) + rng.normal(scale=noise, size=n)
    return train, np.round(val, 3)


def _early_cases(rng: np.random.Generator) -> list[Case]:
    specs = []
    train, val = _curves(rng, 30, 12, 0.003)
    specs.append((train, val, 5))                      # a U shape: stops
    train, val = _curves(rng, 12, 40, 0.0)
    specs.append((train, val, 3))                      # still improving: runs every epoch
    train, val = _curves(rng, 20, 6, 0.002)
    val[9] = val[7] = val[7:12].min() - 0.01           # a tie for the best: the first one wins
    specs.append((train, val, 4))
    train, val = _curves(rng, 16, 5, 0.004)
    specs.append((train, val, 1))                      # impatient: stops at the first rise
    train, val = _curves(rng, 25, 8, 0.002)
    stop_seen = 8 + 3
    val[stop_seen + 4:] = val[: stop_seen + 1].min() - 0.05  # better epochs come, too late
    specs.append((train, val, 3))
    train, val = _curves(rng, 18, 9, 0.003)
    specs.append((train, val, 18))                     # patience longer than the run
    return [_ValueCase((tr, va, pat), ("train_loss", "val_loss", "patience")) for tr, va, pat in specs]


class _ReplayLoss:
    """A stand-in loss for :func:`nnlab.fit` that returns the given curves, epoch by epoch.

    With one training batch per epoch, fit calls the loss twice per epoch: once on the
    batch (training), once in :func:`nnlab.train.evaluate` (validation).
    """

    def __init__(self, train_loss: np.ndarray, val_loss: np.ndarray) -> None:
        self.curves = (train_loss, val_loss)
        self.calls = 0
        self.shape: tuple[int, ...] = (1, 1)

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        self.shape = pred.shape
        epoch, phase = divmod(self.calls, 2)
        self.calls += 1
        return float(self.curves[phase][epoch])

    def backward(self) -> np.ndarray:
        return np.zeros(self.shape)


def _early_reference(train_loss: np.ndarray, val_loss: np.ndarray, patience: int) -> tuple[int, int]:
    model = Linear(1, 1, init="zeros")
    X = np.zeros((1, 1))
    history = fit(model, _ReplayLoss(train_loss, val_loss), SGD(model.parameters(), lr=0.0),
                  X, X, epochs=len(val_loss), batch_size=1, X_val=X, y_val=X,
                  patience=patience, progress=False)
    return int(history.best_epoch), history.epochs


def _early_rule(train_loss: np.ndarray, val_loss: np.ndarray, patience: int) -> tuple[int, int]:
    # The rule written out once more, independently of nnlab.fit.
    best, waited = 0, 0
    for epoch in range(1, len(val_loss)):
        if val_loss[epoch] < val_loss[best]:
            best, waited = epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best, epoch + 1
    return best, len(val_loss)


class _EarlyExercise(Exercise):
    def explain(self, case: Case, got: Any) -> str | None:
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return None
        train_loss, val_loss, patience = case.args
        best, run = self.expected(case)
        try:
            got_best, got_run = int(got[0]), int(got[1])
        except (TypeError, ValueError):
            return None
        if got_best != best:
            if got_best >= run and got_best == int(np.argmin(val_loss)):
                return (f"this epoch comes after training stopped (after {run} epochs): the "
                        "validation losses of epochs never trained cannot be used")
            if got_best == int(np.argmin(train_loss[:run])) or got_best == int(np.argmin(train_loss)):
                return ("this is the epoch of the lowest TRAINING loss; early stopping watches the "
                        "validation loss, which is what tells over-fitting apart from progress")
            if got_best == best + 1:
                return "one too many: epochs are counted from 0 here, as History.best_epoch does"
            if got_best in (run - 1, len(val_loss) - 1):
                return ("this is the last epoch trained; early stopping keeps (restores) the weights "
                        "of the epoch with the lowest validation loss")
            ties = np.flatnonzero(val_loss[:run] == val_loss[best])
            if len(ties) > 1 and got_best == ties[-1]:
                return ("with a tie, the FIRST best epoch wins: only a strictly lower validation "
                        "loss counts as an improvement")
        if got_run != run:
            if got_run == run + 1 or got_run == run - 1:
                return (f"stopping is off by one: stop right after the epoch in which the count of "
                        f"epochs without improvement reaches patience = {patience}")
            if got_run == len(val_loss) and run < len(val_loss):
                return "training never stopped early: count the epochs without improvement"
        return None


early_stopping = _EarlyExercise(
    name="early_stopping",
    chapter=10,
    section=SECTION_EARLY,
    make_cases=_early_cases,
    references=[("nnlab.fit(..., patience=patience) replaying these curves", _early_reference),
                ("the rule of the exercise", _early_rule)],
    output_names=("best_epoch", "epochs_run"),
    note_format="Note: {}.",
    hints=(
        "Walk through the epochs in order, as training would, keeping the best validation loss "
        "so far, its epoch, and how many epochs in a row have not improved on it.",
        "An epoch improves only if its validation loss is STRICTLY lower than the best so far. "
        "Stop after the epoch at which the count of non-improving epochs reaches patience; "
        "epochs after that were never trained, so you may not look at them.",
        "best, waited = 0, 0; for e in range(1, len(val_loss)): if val_loss[e] < val_loss[best]: "
        "best, waited = e, 0; else: waited += 1 and if waited >= patience: return best, e + 1. "
        "After the loop: return best, len(val_loss).",
    ),
)


EXERCISES: dict[str, Exercise] = {ex.name: ex for ex in (l2_regularize, dropout, early_stopping)}
