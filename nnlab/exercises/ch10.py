"""Chapter 10 (capacity and regularization): the graded exercises.

- ``l2_regularize(loss, W, b, dW, db, lam) -> (total, dW_total, db_total)``: add the L2
  penalty (lambda / 2) ||W||_F^2 of one Linear layer's weights to the loss and its gradient
  lambda W to dW, leaving the bias alone; against ``nnlab.optim.SGD(weight_decay=lam)``
  (which adds lambda W to the gradient of whatever it is given) and against central
  differences of the penalty.
- ``dropout(x, grad_out, p, seed, training) -> (y, grad_x)``: inverted dropout forward
  and backward, the mask drawn once as ``np.random.default_rng(seed).random(x.shape) >= p``;
  against :class:`nnlab.Dropout` and central differences through the same mask.
- ``l1_regularize(loss, W, b, dW, db, lam) -> (total, dW_total, db_total)``: the L1
  penalty lambda ||W||_1 and its subgradient lambda sign(W) (0 at w = 0), derived by the
  student (the lesson writes out only L2's); against the formula and central differences.

When an answer is wrong in one of the typical ways (a decayed bias, lambda where lambda/2
belongs, a sign error; no 1/(1-p), 1/p, a mask in eval mode, a second mask in backward;
L2's gradient in L1, a subgradient of +lambda at 0), the message says which.

>>> from nnlab.exercises import ch10
>>> ch10.dropout.check(my_dropout)     # doctest: +SKIP
✓ dropout: passed (6 random cases)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlab.exercises._core import Case, Exercise
from nnlab.gradcheck import numerical_gradient
from nnlab.layers import Dropout, Linear
from nnlab.optim import SGD

__all__ = ["l2_regularize", "dropout", "l1_regularize", "EXERCISES"]

# Headings of book/10_capacity/lesson.ipynb (tests/test_exercises_ch10.py keeps them in sync).
SECTION_L2 = "Weight decay: a penalty becomes a gradient term"
SECTION_DROPOUT = "Dropout"


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
        cases.append(Case((loss, W, b, dW, db, lam), ("loss", "W", "b", "dW", "db", "lam")))
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


def _l2_diagnosis(args: tuple[Any, ...], got: Any) -> str | None:
    """The typical mistake a wrong (loss, dW, db) shows, if any."""
    got = _triple(got)
    if got is None:
        return None
    loss, W, b, dW, db, lam = args
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


l2_regularize = Exercise(
    diagnose=_l2_diagnosis,
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
        ("Add the penalty to the loss and its gradient to the weight's gradient; the bias is "
         "not penalised."),
        ("loss is a number, W and dW share one shape, b and db another; return (loss, dW, db) "
         "with the bias gradient unchanged. ‖W‖² sums the squares of ALL entries."),
        'ℒ_total = ℒ + (λ/2) ‖W‖_F²,  ∂ℒ_total/∂W = ∂ℒ/∂W + λ W,  ∂ℒ_total/∂b = ∂ℒ/∂b.',
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
        cases.append(Case((x, grad_out, p, seed, training),
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


def _dropout_diagnosis(args: tuple[Any, ...], got: Any) -> str | None:
    """The typical mistake a wrong (y, grad_x) shows, if any."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return None
    x, grad_out, p, seed, training = args
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


dropout = Exercise(
    diagnose=_dropout_diagnosis,
    name="dropout",
    chapter=10,
    section=SECTION_DROPOUT,
    make_cases=_dropout_cases,
    references=[("nnlab.Dropout(p, rng=np.random.default_rng(seed))", _dropout_reference),
                ("central differences through the same mask", _dropout_numerical)],
    output_names=("y", "grad_x"),
    note_format="Note: {}.",
    hints=(
        ("Draw the uniform random numbers once, from a generator seeded with seed, and keep "
         "unit i where its number is ≥ p (p is the probability of DROPPING a unit)."),
        ("The numbers u, the mask r and the output all have x's shape; the backward pass "
         "multiplies grad_out by the same mask, scaling included. In eval mode nothing is "
         "random."),
        ("Training: y = x ⊙ r/(1 − p) and ∂ℒ/∂x = ∂ℒ/∂y ⊙ r/(1 − p), with r_i = 𝟙[u_i ≥ p]; "
         "eval: y = x and ∂ℒ/∂x = ∂ℒ/∂y."),
    ),
)


# --- Exercise 3: the L1 penalty and its subgradient (derived, not shown in the lesson) -------
# Chapter 5 already grades early stopping (its training loop); chapter 10 asks instead for
# the other classic penalty, whose derivative the lesson does not write out: |w| has no
# derivative at 0, and the subgradient used by every library there is 0 (sign(0) = 0).

_L1_SHAPES = [((3, 4), 0.1), ((1, 5), 0.5), ((6, 2), 0.01), ((4, 4), 1.0), ((2, 7), 0.3)]


def _l1_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for (d_out, d_in), lam in _L1_SHAPES:
        W = rng.normal(size=(d_out, d_in))
        W[rng.random(W.shape) < 0.3] = 0.0  # exact zeros, as L1 produces: sign(0) = 0 there
        W.flat[0] = 0.0
        b = rng.normal(size=d_out) + 1.0
        dW, db = rng.normal(scale=0.1, size=(d_out, d_in)), rng.normal(scale=0.1, size=d_out)
        loss = float(rng.uniform(0.1, 2.0))
        cases.append(Case((loss, W, b, dW, db, lam), ("loss", "W", "b", "dW", "db", "lam")))
    return cases


def _l1_reference(loss: float, W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray,
                  lam: float) -> tuple[float, np.ndarray, np.ndarray]:
    return loss + lam * float(np.sum(np.abs(W))), dW + lam * np.sign(W), db.copy()


def _l1_numerical(loss: float, W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray,
                  lam: float) -> tuple[float, np.ndarray, np.ndarray]:
    # Central differences of lam * sum|w|: at w = 0 exactly they give (|h| - |-h|) / 2h = 0,
    # the subgradient the exercise asks for.
    def penalty(w: np.ndarray) -> float:
        return lam * float(np.sum(np.abs(w)))

    return loss + penalty(W), dW + numerical_gradient(penalty, W.copy()), db.copy()


def _l1_variant(loss, W, b, dW, db, lam, *, factor=1.0, at_zero=0.0, grad=None, bias=False,
                in_loss=True, sign=1.0):
    g = np.where(W == 0, at_zero, np.sign(W)) if grad is None else grad
    total = loss + (factor * lam * float(np.sum(np.abs(W))) if in_loss else 0.0)
    total += factor * lam * float(np.sum(np.abs(b))) if bias else 0.0
    return (total, dW + sign * factor * lam * g,
            db + factor * lam * np.sign(b) if bias else db.copy())


l1_regularize = Exercise(
    name="l1_regularize",
    chapter=10,
    section=SECTION_L2,
    make_cases=_l1_cases,
    references=[("loss + lam ||W||_1 and its subgradient lam sign(W)", _l1_reference),
                ("central differences of the penalty", _l1_numerical)],
    output_names=("total", "dW_total", "db_total"),
    note_format="Note: {}.",
    hints=(
        ("The L1 penalty adds λ times the sum of the absolute values of the weights. Its "
         "derivative is a constant size λ, whatever the size of the weight, pointing towards 0."),
        ("loss is a number, W and dW share one shape, b and db another; return (loss, dW, db). "
         "Only W is penalised. Some entries of W are exactly 0: decide what the derivative of "
         "|w| is there."),
        ("ℒ_total = ℒ + λ Σ_ij |W_ij|;  ∂ℒ_total/∂W_ij = ∂ℒ/∂W_ij + λ sign(W_ij) with sign(0) "
         "= 0 (a subgradient, the one libraries use);  ∂ℒ_total/∂b = ∂ℒ/∂b."),
    ),
    diagnoses=(
        ("the gradient is L2's, lambda W; the L1 penalty lambda |w| has derivative "
         "lambda sign(w), the same size for every non-zero weight",
         lambda l, W, b, dW, db, lam: (l + lam * float(np.sum(np.abs(W))), dW + lam * W, db.copy())),
        ("the bias is penalised too: only the weights W are",
         lambda l, W, b, dW, db, lam: _l1_variant(l, W, b, dW, db, lam, bias=True)),
        ("a factor 1/2 crept in: the penalty is lambda ||W||_1, not (lambda/2) ||W||_1",
         lambda l, W, b, dW, db, lam: _l1_variant(l, W, b, dW, db, lam, factor=0.5)),
        ("the gradient has its lambda sign(W), but the loss is returned without the penalty",
         lambda l, W, b, dW, db, lam: _l1_variant(l, W, b, dW, db, lam, in_loss=False)),
        ("at w = 0 your subgradient is +lambda; |w| has no derivative there, and the "
         "subgradient to use is 0 (sign(0) = 0), so that a zero weight stays at zero",
         lambda l, W, b, dW, db, lam: _l1_variant(l, W, b, dW, db, lam, at_zero=1.0)),
        ("sign error: d/dw lambda |w| = + lambda sign(w), added to dW",
         lambda l, W, b, dW, db, lam: _l1_variant(l, W, b, dW, db, lam, sign=-1.0)),
    ),
)


EXERCISES: dict[str, Exercise] = {ex.name: ex for ex in (l2_regularize, dropout, l1_regularize)}
