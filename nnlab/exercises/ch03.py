"""Chapter 3 (loss functions): the graded exercises.

Each exercise is checked against nnlab itself, and gradients also against central
differences of nnlab's loss: ``log_softmax`` against :func:`nnlab.activations.log_softmax`
(on logits as large as 1000, where the naive formula overflows), ``cross_entropy_grad``
against :class:`nnlab.CrossEntropyLoss`'s backward, and ``bce_with_logits`` (value and
gradient) against :class:`nnlab.BCEWithLogitsLoss`.

When an answer is wrong, the check also looks at *how* it is wrong (N times too large,
rows that do not sum to zero, an overflow to inf) and names the likely cause.

>>> from nnlab.exercises import ch03
>>> ch03.log_softmax.check(my_log_softmax)     # doctest: +SKIP
✓ log_softmax: passed (6 random cases)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab.activations import log_softmax as _nnlab_log_softmax
from nnlab.exercises._core import Case, Exercise
from nnlab.gradcheck import numerical_gradient
from nnlab.losses import BCEWithLogitsLoss, CrossEntropyLoss

__all__ = ["log_softmax", "cross_entropy_grad", "bce_with_logits", "EXERCISES"]

# Headings of book/03_losses/lesson.ipynb (tests/test_exercises_ch03.py keeps them in sync).
SECTION_LSE = "3.6 Log-sum-exp: why a naive softmax overflows"
SECTION_GRAD = "3.5 The gradient of softmax cross-entropy is p - y"
SECTION_BCE = "3.4 Two classes: binary cross-entropy with logits"


@dataclass
class DiagnosedExercise(Exercise):
    """An exercise whose failure message adds the likely cause of a wrong answer.

    ``diagnose(args, got)`` looks at the student's result for the inputs ``args``
    and returns one sentence naming a typical mistake the result shows, or None.
    """

    diagnose: Callable[[tuple[Any, ...], Any], str | None] | None = None

    def verdict(self, cases: Any, outcomes: Any) -> str | None:
        # Case by case, so that the diagnosis is made on the very input that failed.
        for case, outcome in zip(cases, outcomes):
            problem = super().verdict([case], [outcome])
            if problem is None:
                continue
            cause = None
            if self.diagnose is not None and not outcome.raised:
                try:
                    cause = self.diagnose(case.args, outcome.value)
                except Exception:  # a result of the wrong type or shape: no diagnosis
                    cause = None
            return f"{problem}\n  Likely cause: {cause}" if cause else problem
        return None


def _close(a: Any, b: Any) -> bool:
    return bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))


def _as_float_array(x: Any) -> np.ndarray | None:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a


# --- Exercise 1: a stable log-softmax ---------------------------------------------------

_LSE_SHAPES = [(4, 3), (1, 5), (6, 2), (3, 7)]


def _lse_cases(rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = [
        Case((rng.normal(scale=2.0, size=shape),), ("Z",)) for shape in _LSE_SHAPES
    ]
    # Large logits that lie close together: exp overflows to inf without the max shift,
    # although every probability is well away from 0.
    cases.append(Case((1000.0 + rng.normal(scale=2.0, size=(3, 4)),), ("Z",),
                           note="logits near +1000"))
    # Rows centred far apart and spread widely within each row: some probabilities
    # underflow to exactly 0, so log(softmax) is -inf, and a max taken over the whole
    # array (or the wrong axis) underflows whole rows.
    offsets = np.array([[800.0], [0.0], [-800.0], [300.0], [-50.0]])
    cases.append(Case((offsets + rng.normal(scale=300.0, size=(5, 3)),), ("Z",),
                           note="rows centred at -800 .. 800 with spread 300"))
    return cases


def _lse_reference(Z: np.ndarray) -> np.ndarray:
    return _nnlab_log_softmax(Z, axis=1)


def _lse_diagnose(args: tuple[Any, ...], got: Any) -> str | None:
    (Z,) = args
    got = _as_float_array(got)
    if got is None or got.shape != Z.shape:
        return None
    expected = _lse_reference(Z)
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(got)
        whole_rows = bad.all(axis=1)
        if whole_rows.any() and (Z.max(axis=1)[whole_rows] > 709).all():
            return ("exp overflowed (exp(710) is already inf in float64, and inf / inf is nan): "
                    "subtract each row's maximum from the logits before taking exp.")
        if whole_rows.any():
            return ("a whole row's exp(z - m) underflowed to 0, so log of its sum is -inf: shift "
                    "each row by its OWN maximum, Z.max(axis=1, keepdims=True), not by one "
                    "maximum for the whole array or for each column.")
        if bad.any():
            return ("the log of a probability that rounded to 0 is -inf: do not take np.log of a "
                    "softmax; compute z - logsumexp(z), with logsumexp = m + log(sum(exp(z - m))) "
                    "and m the maximum of each row (axis=1).")
        offset = got - expected
        if np.allclose(offset, offset[:, :1], rtol=1e-6, atol=1e-6):
            if np.allclose(offset[:, 0], Z.max(axis=1), rtol=1e-6, atol=1e-6):
                return ("each row is off by exactly its maximum m: after shifting by m, add m back, "
                        "logsumexp(z) = m + log(sum(exp(z - m))).")
            if not np.allclose(np.exp(got).sum(axis=1), 1.0, rtol=1e-6):
                return ("exp of each row of your result should sum to 1; normalise over the classes, "
                        "axis=1, with keepdims=True so the row sums broadcast.")
        if not np.allclose(np.exp(got).sum(axis=1), 1.0, rtol=1e-6):
            return ("exp of each row of your result should sum to 1: normalise over the classes "
                    "(axis=1), not over the examples (axis=0) or the whole array.")
    return None


log_softmax = DiagnosedExercise(
    name="log_softmax",
    chapter=3,
    section=SECTION_LSE,
    make_cases=_lse_cases,
    references=[("nnlab.activations.log_softmax(Z, axis=1)", _lse_reference)],
    diagnose=_lse_diagnose,
    hints=(
        ("log softmax(z)_i = z_i - log(sum_j exp(z_j)). Each row of Z is one example; the sum "
         "runs over the classes, axis=1."),
        ("Shifting every logit of a row by the same constant m does not change the result. "
         "Choose m = the row's maximum: then every exponent is <= 0 and exp cannot overflow."),
        ("m = Z.max(axis=1, keepdims=True); return Z - m - np.log(np.exp(Z - m).sum(axis=1, "
         "keepdims=True)). Never take np.log of a softmax: a probability that underflows to 0 "
         "gives -inf."),
    ),
)


# --- Exercise 2: the gradient of softmax cross-entropy ----------------------------------

# N != C in every case, so that a softmax over the wrong axis cannot pass by symmetry.
_CE_SHAPES = [(4, 3), (1, 5), (6, 2), (5, 7), (8, 4)]


def _ce_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, classes in _CE_SHAPES:
        Z = rng.normal(scale=2.0, size=(batch, classes))
        y = rng.integers(0, classes, size=batch)
        cases.append(Case((Z, y), ("Z", "y")))
    return cases


def _ce_reference(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    criterion = CrossEntropyLoss()
    criterion(Z, y)
    return criterion.backward()


def _ce_numerical(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    criterion = CrossEntropyLoss()
    return numerical_gradient(lambda z: criterion(z, y), Z)


def _ce_diagnose(args: tuple[Any, ...], got: Any) -> str | None:
    Z, y = args
    got = _as_float_array(got)
    if got is None or got.shape != Z.shape:
        return None
    expected = _ce_reference(Z, y)
    n, c = Z.shape
    if n > 1 and _close(got, n * expected):
        return (f"every entry is N = {n} times too large: the loss is the MEAN over the N rows "
                f"of the batch, so its gradient is (p - y) / N.")
    if _close(got, expected / c):
        return (f"every entry is C = {c} times too small: divide by the batch size N (rows), "
                f"not by the number of entries N * C.")
    if _close(got, -expected):
        return "the sign is flipped: the gradient is p - y (probabilities minus one-hot), not y - p."
    row_sums = got.sum(axis=1)
    if _close(row_sums, np.full(n, 1.0 / n)) or _close(row_sums, np.ones(n)):
        return ("each row of your gradient sums to 1 (or 1/N); it should sum to 0, because p and "
                "the one-hot y both sum to 1: did you forget to subtract the one-hot of y?")
    if not _close(row_sums, np.zeros(n)):
        return ("each row should sum to 0, and does not: is the softmax taken over the classes "
                "(axis=1, each row sums to 1), not over the batch (axis=0)?")
    return None


cross_entropy_grad = DiagnosedExercise(
    name="cross_entropy_grad",
    chapter=3,
    section=SECTION_GRAD,
    make_cases=_ce_cases,
    references=[
        ("nnlab.CrossEntropyLoss().backward()", _ce_reference),
        ("central differences of nnlab.CrossEntropyLoss", _ce_numerical),
    ],
    diagnose=_ce_diagnose,
    hints=(
        ("For one example, dL/dz = p - onehot(y) with p = softmax(z). The loss of a batch is the "
         "mean over its N rows."),
        ("Build P = softmax of each row (axis=1), then subtract 1 at the true class of each row: "
         "P[np.arange(N), y] -= 1. Do not forget the mean."),
        ("P = np.exp(Z - Z.max(axis=1, keepdims=True)); P /= P.sum(axis=1, keepdims=True); "
         "P[np.arange(len(y)), y] -= 1; return P / len(y)."),
    ),
)


# --- Exercise 3: binary cross-entropy with logits, value and gradient -------------------

_BCE_SHAPES = [(5, 1), (4, 3), (1, 1), (7,)]


def _bce_cases(rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    for shape in _BCE_SHAPES:
        z = rng.normal(scale=3.0, size=shape)
        y = rng.integers(0, 2, size=shape).astype(np.float64)
        cases.append(Case((z, y), ("z", "y")))
    # Soft targets: y may be any probability, not only 0 or 1.
    cases.append(Case((rng.normal(scale=2.0, size=(3, 2)), rng.uniform(0, 1, size=(3, 2))),
                           ("z", "y"), note="targets anywhere in [0, 1]"))
    # Confident logits, right and wrong: sigmoid rounds to exactly 0 or 1 and exp(-z)
    # overflows, so only the stable form stays finite.
    z = np.array([[800.0, -800.0], [-750.0, 750.0], [40.0, -40.0], [2.0, -3.0]])
    y = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    cases.append(Case((z, y), ("z", "y"), note="logits up to +-800"))
    return cases


def _bce_reference(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    criterion = BCEWithLogitsLoss()
    loss = criterion(z, y)
    return loss, criterion.backward()


def _bce_numerical(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    criterion = BCEWithLogitsLoss()
    return criterion(z, y), numerical_gradient(lambda p: criterion(p, y), z)


def _bce_diagnose(args: tuple[Any, ...], got: Any) -> str | None:
    z, y = args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return None
    loss, grad = _as_float_array(got[0]), _as_float_array(got[1])
    expected_loss, expected_grad = _bce_reference(z, y)
    n = z.size
    if loss is not None and loss.size == 1:
        value = float(loss.reshape(()))
        if not np.isfinite(value):
            return ("the loss overflowed: log(sigmoid(z)) is -inf once sigmoid rounds to 0 or 1, and "
                    "exp(-z) is inf for z = -800. Use the stable form "
                    "max(z, 0) - z*y + log(1 + exp(-|z|)).")
        if n > 1 and _close(value, n * expected_loss):
            return f"the loss is n = {n} times too large: take the mean over all entries, not the sum."
        if _close(value, -expected_loss):
            return "the loss has the wrong sign: it is minus the log-likelihood, so it is >= 0."
    if grad is not None and grad.shape == z.shape:
        if not np.all(np.isfinite(grad)):
            return ("the gradient overflowed: compute sigmoid(z) without exp of a large positive "
                    "number (nnlab.activations.sigmoid shows how), or use 1 / (1 + exp(-z)) only "
                    "where z >= 0.")
        if n > 1 and _close(grad, n * expected_grad):
            return f"the gradient is n = {n} times too large: the loss is a mean, so divide by n."
        if _close(grad, -expected_grad):
            return "the gradient has the wrong sign: it is sigmoid(z) - y."
    return None


bce_with_logits = DiagnosedExercise(
    name="bce_with_logits",
    chapter=3,
    section=SECTION_BCE,
    make_cases=_bce_cases,
    references=[
        ("nnlab.BCEWithLogitsLoss (value and backward)", _bce_reference),
        ("nnlab.BCEWithLogitsLoss's value and its central differences", _bce_numerical),
    ],
    output_names=("loss", "grad"),
    diagnose=_bce_diagnose,
    hints=(
        ("Per entry, the loss is -[y log sigma(z) + (1 - y) log(1 - sigma(z))]; the result is the "
         "mean over all entries. Written with logs of sigmoids it overflows for |z| ~ 800."),
        ("log sigma(z) = -log(1 + exp(-z)) and log(1 - sigma(z)) = -z - log(1 + exp(-z)), so the "
         "entry's loss is z - z*y + log(1 + exp(-z)); for z < 0 rewrite it so no exp of a large "
         "positive number appears. The gradient of the mean is (sigma(z) - y) / n."),
        ("loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))); for sigma use "
         "e = np.exp(-np.abs(z)) and np.where(z >= 0, 1 / (1 + e), e / (1 + e)); "
         "grad = (sigma - y) / z.size; return loss, grad."),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (log_softmax, cross_entropy_grad, bce_with_logits)
}
