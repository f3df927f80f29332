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

from typing import Any

import numpy as np

from nnlab.activations import log_softmax as _nnlab_log_softmax
from nnlab.exercises._core import Case, Exercise
from nnlab.gradcheck import numerical_gradient
from nnlab.losses import BCEWithLogitsLoss, CrossEntropyLoss

__all__ = ["log_softmax", "cross_entropy_grad", "bce_with_logits", "softmax_vjp", "EXERCISES"]

# Headings of book/03_losses/lesson.ipynb (tests/test_exercises_ch03.py keeps them in sync).
SECTION_LSE = "Log-sum-exp: why a naive softmax overflows"
SECTION_GRAD = "The gradient of softmax cross-entropy is p - y"
SECTION_BCE = "Two classes: binary cross-entropy with logits"
SECTION_SOFTMAX = "Classification: softmax and cross-entropy"


# A wrong answer that shows a typical mistake gets this line, naming it.
_LIKELY = "Likely cause: {}"


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
    # Whatever the seed: in every row one logit lies >= 450 above the centre and one >= 450
    # below it, so a probability always underflows (a gap of 900 > 745).
    Z = offsets + rng.normal(scale=300.0, size=(5, 3))
    Z[:, 0] = offsets[:, 0] + rng.uniform(450.0, 550.0, size=5)
    Z[:, 1] = offsets[:, 0] - rng.uniform(450.0, 550.0, size=5)
    cases.append(Case((rng.permuted(Z, axis=1),), ("Z",),
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


log_softmax = Exercise(
    note_format=_LIKELY,
    name="log_softmax",
    chapter=3,
    section=SECTION_LSE,
    make_cases=_lse_cases,
    references=[("nnlab.activations.log_softmax(Z, axis=1)", _lse_reference)],
    diagnose=_lse_diagnose,
    hints=(
        ("log softmax(z)_i = z_i − log Σ_j e^{z_j}: each row of Z is one example, and the sum "
         "runs over its classes. Never take the log of a softmax: a probability that "
         "underflows to 0 gives −∞."),
        ("Z is (N, C) and so is the answer. The normaliser log Σ_j e^{z_j} is one number per "
         "row: keep it as an (N, 1) column so that it broadcasts over the C classes."),
        ("With m = max_j z_j of the row: log softmax(z)_i = z_i − m − log Σ_j e^{z_j − m}; "
         "every exponent is ≤ 0, so nothing overflows."),
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


cross_entropy_grad = Exercise(
    note_format=_LIKELY,
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
        ("For one example, ∂ℓ/∂z = p − onehot(y) with p = softmax(z); the batch loss ℒ is the "
         "MEAN of the N examples' losses."),
        ("Z is (N, C), y holds N class indices; the answer is (N, C). In row n, subtract 1 at "
         "column y_n only (index with the pair of arrays rows 0..N−1 and y). The softmax needs"
         " the max shift of exercise 1."),
        '∂ℒ/∂Z_nk = (softmax(z_n)_k − [k = y_n]) / N.',
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


bce_with_logits = Exercise(
    note_format=_LIKELY,
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
        ("Per entry ℓ = −[y log σ(z) + (1 − y) log(1 − σ(z))], and the loss is the mean over "
         "all entries. Written with logs of sigmoids it overflows for |z| ≈ 800: rewrite it "
         "first."),
        ("z and y have the same shape; the loss is one number and the gradient has z's shape. "
         "n is the number of entries of z (all of them, not only the rows)."),
        ("ℓ(z, y) = max(z, 0) − z y + log(1 + e^{−|z|}) and ∂ℒ/∂z = (σ(z) − y)/n, with σ "
         "computed stably as in chapter 2."),
    ),
)


# --- Exercise 4: the softmax vector-Jacobian product (not in the lesson's code) ---------------
# The lesson differentiates softmax only inside cross-entropy (p - y). Here softmax stands
# alone and the gradient G = dL/dP arriving from above is arbitrary: the student derives
# the Jacobian diag(p) - p p^T and applies it to each row without building it.

_VJP_SHAPES = [(4, 3), (1, 5), (6, 2), (3, 7), (5, 4)]


def _vjp_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.normal(scale=2.0, size=shape), rng.normal(size=shape)), ("Z", "G"))
             for shape in _VJP_SHAPES]
    # Large logits: the softmax must be computed with the max shift.
    cases.append(Case((900.0 + rng.normal(scale=3.0, size=(3, 4)), rng.normal(size=(3, 4))),
                      ("Z", "G"), note="logits near +900"))
    return cases


def _softmax(Z: np.ndarray, axis: int = 1) -> np.ndarray:
    return np.exp(_nnlab_log_softmax(Z, axis=axis))


def _vjp_reference(Z: np.ndarray, G: np.ndarray) -> np.ndarray:
    # Row by row with the full Jacobian J = diag(p) - p p^T (symmetric): dL/dz = J g.
    P = _softmax(Z)
    return np.stack([(np.diag(p) - np.outer(p, p)) @ g for p, g in zip(P, G)])


def _vjp_numerical(Z: np.ndarray, G: np.ndarray) -> np.ndarray:
    return numerical_gradient(lambda V: float(np.sum(G * _softmax(V))), Z.copy())


softmax_vjp = Exercise(
    name="softmax_vjp",
    chapter=3,
    section=SECTION_SOFTMAX,
    make_cases=_vjp_cases,
    references=[("the Jacobian diag(p) - p p^T of nnlab's softmax, row by row", _vjp_reference),
                ("central differences of sum(G * softmax(Z))", _vjp_numerical)],
    note_format="Likely cause: {}.",
    diagnose=lambda args, got: (
        ("exp overflowed: compute the softmax with each row's maximum subtracted first (see "
         "'Log-sum-exp: why a naive softmax overflows')")
        if isinstance(got, np.ndarray) and got.dtype.kind == "f" and not np.all(np.isfinite(got))
        else None),
    hints=(
        ("Softmax couples the entries of a row: each p_k depends on every z_j. Write the "
         "Jacobian ∂p/∂z of one row, then apply its transpose to the row of G."),
        ("Z and G are (N, C) and so is the answer; rows are independent examples. The "
         "Jacobian of one row is (C, C), but you never need to build it: its product with a "
         "vector takes one number per row, an (N, 1) column."),
        ("∂p_k/∂z_j = p_k ([k = j] − p_j), so (∂ℒ/∂z)_j = Σ_k g_k p_k ([k = j] − p_j) = "
         "p_j (g_j − Σ_k g_k p_k)."),
    ),
    diagnoses=(
        ("G * p: only the diagonal of the Jacobian; every p_k also depends on the other z_j, "
         "which subtracts p_j times the sum over k of g_k p_k",
         lambda Z, G: G * _softmax(Z)),
        ("G * p (1 - p): the diagonal entries p_j (1 - p_j) of the Jacobian alone; the "
         "off-diagonal entries -p_k p_j are missing",
         lambda Z, G: G * _softmax(Z) * (1 - _softmax(Z))),
        ("the sign is flipped: it is p_j (g_j - sum_k g_k p_k), not p_j (sum_k g_k p_k - g_j)",
         lambda Z, G: -_vjp_reference(Z, G)),
        ("the sum over k runs down the batch (axis 0) instead of along each row's classes",
         lambda Z, G: _softmax(Z) * (G - (G * _softmax(Z)).sum(axis=0, keepdims=True))),
        ("the softmax is taken over the batch (axis 0) instead of each row",
         lambda Z, G: _softmax(Z, 0) * (G - (G * _softmax(Z, 0)).sum(axis=1, keepdims=True))),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (log_softmax, cross_entropy_grad, bce_with_logits, softmax_vjp)
}
