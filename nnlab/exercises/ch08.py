"""Chapter 8 (normalization): the graded exercises.

- ``batchnorm_forward(x, gamma, beta, eps) -> (out, cache)``: batch normalization in
  training mode, checked (``out``; the cache is the student's own) against
  :class:`nnlab.BatchNorm1d`;
- ``batchnorm_backward(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``: its full backward
  pass, against :meth:`nnlab.BatchNorm1d.backward` and central differences;
- ``layernorm_backward(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``: layer
  normalization's backward pass, against :meth:`nnlab.LayerNorm.backward` and central
  differences.

The central differences (:func:`nnlab.gradcheck.numerical_gradient`) are of the scalar
sum(dout * y), whose gradient is what a backward pass receiving ``dout`` computes; they
share no code with nnlab. When a wrong answer matches a typical mistake (the mean and
variance terms left out, a sum over the wrong axis, a dropped 1/N), the message names it.

>>> from nnlab.exercises import ch08
>>> ch08.batchnorm_backward.check(my_batchnorm_backward)     # doctest: +SKIP
✓ batchnorm_backward: passed (6 random cases)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab.exercises._core import Case, Exercise, Outcome
from nnlab.gradcheck import numerical_gradient
from nnlab.normalization import BatchNorm1d, LayerNorm

__all__ = ["batchnorm_forward", "batchnorm_backward", "layernorm_backward", "EXERCISES"]

# Headings of book/08_normalization/lesson.ipynb (tests/test_exercises_ch08.py keeps them in sync).
SECTION_FORWARD = "8.1 Batch normalization: the forward pass"
SECTION_BACKWARD = "8.2 The backward pass on a computational graph"
SECTION_LAYER = "8.4 Layer normalization"

Diagnosis = Callable[[tuple[Any, ...], Any], "str | None"]


@dataclass
class _DiagnosedExercise(Exercise):
    """An exercise whose failure message adds the likely cause of a wrong answer.

    ``diagnose(args, got)`` compares the student's result on the failing input with the
    results of typical mistakes and returns one sentence naming the one it matches.
    ``returns_cache``: the student returns ``(out, cache)`` and only ``out`` is judged.
    """

    diagnose: Diagnosis | None = None
    returns_cache: bool = False
    note_format: str = "Likely cause: {}"

    def explain(self, case: Case, got: Any) -> str | None:
        return self.diagnose(case.args, got) if self.diagnose is not None else None

    def _judged(self, outcome: Outcome) -> Outcome | str:
        if outcome.raised or not self.returns_cache:
            return outcome
        value = outcome.value
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            received = (f"a {type(value).__name__} of {len(value)} items"
                        if isinstance(value, (tuple, list)) else type(value).__name__)
            return (f"{self.name} should return a tuple (out, cache) of 2 items; received "
                    f"{received}. Return the cache as the second item, even if backward "
                    "does not use it")
        return Outcome(value=value[0])

    def verdict(self, cases: Sequence[Case], outcomes: Sequence[Outcome]) -> str | None:
        for case, outcome in zip(cases, outcomes):
            judged = self._judged(outcome)
            if isinstance(judged, str):
                return f"{judged}.\n  {self.reread()}"
            problem = super().verdict([case], [judged])
            if problem is not None:
                return problem
        return None


def _close(a: Any, b: Any) -> bool:
    a = np.asarray(a, dtype=np.float64)
    return a.shape == np.shape(b) and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))


def _item(got: Any, i: int) -> Any:
    """Item ``i`` of a returned tuple, or ``got`` itself for a single array."""
    return got[i] if isinstance(got, (tuple, list)) else got


# --- the forward pass -------------------------------------------------------------------


def _standardise(x: np.ndarray, axis: int, eps: float, *, ddof: int = 0,
                 eps_outside: bool = False) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) over ``axis``, or one of the typical mistakes."""
    centred = x - x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, ddof=ddof, keepdims=True)
    return centred / (np.sqrt(var) + eps) if eps_outside else centred / np.sqrt(var + eps)


# Batch sizes and widths all differ, so that normalising over the wrong axis cannot pass
# by accident; eps is sometimes large, so that its place (inside the square root or not)
# shows; features have different scales and offsets, as pre-activations do.
_BN_SHAPES = [(4, 3, 1e-5), (2, 5, 1e-3), (7, 2, 0.1), (16, 6, 1e-5), (5, 1, 0.5), (9, 4, 1e-2)]


def _bn_inputs(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = rng.uniform(0.3, 3.0, size=d)
    offset = rng.normal(0.0, 2.0, size=d)
    x = rng.normal(size=(n, d)) * scale + offset
    gamma = rng.uniform(0.5, 2.0, size=d) * rng.choice([-1.0, 1.0], size=d)
    beta = rng.normal(size=d)
    return x, gamma, beta


def _forward_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, d, eps in _BN_SHAPES:
        x, gamma, beta = _bn_inputs(rng, n, d)
        cases.append(Case((x, gamma, beta, eps), ("x", "gamma", "beta", "eps")))
    return cases


def _batchnorm(gamma: np.ndarray, beta: np.ndarray, eps: float) -> BatchNorm1d:
    """An nnlab.BatchNorm1d in training mode holding exactly gamma, beta and eps."""
    bn = BatchNorm1d(gamma.size, eps=eps)
    bn.weight.value[...] = gamma
    bn.bias.value[...] = beta
    return bn


def _forward_reference(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    return _batchnorm(gamma, beta, eps)(x)


def _diagnose_forward(args: tuple[Any, ...], got: Any) -> str | None:
    x, gamma, beta, eps = args
    mistakes = [
        (gamma * _standardise(x, 1, eps) + beta,
         "you normalised each example (row) over its features, axis=1; batch normalization "
         "normalises each feature (column) over the batch: mean and variance with axis=0"),
        (gamma * _standardise(x, 0, eps, ddof=1) + beta,
         "the unbiased variance (dividing by N - 1); the batch is normalised with the biased "
         "one, the mean of (x - mu)^2 (np.var's default, ddof=0)"),
        (gamma * _standardise(x, 0, eps, eps_outside=True) + beta,
         "eps is added outside the square root, (x - mu) / (sqrt(var) + eps); it belongs "
         "inside: (x - mu) / sqrt(var + eps)"),
        (_standardise(x, 0, eps),
         "out is x_hat: the scale gamma and the shift beta are missing (out = gamma * x_hat + beta)"),
        (_standardise(x, 0, eps) + beta,
         "the scale gamma is missing (out = gamma * x_hat + beta)"),
        (gamma * _standardise(x, 0, eps),
         "the shift beta is missing (out = gamma * x_hat + beta)"),
    ]
    for wrong, cause in mistakes:
        if _close(got, wrong):
            return cause
    return None


batchnorm_forward = _DiagnosedExercise(
    name="batchnorm_forward",
    chapter=8,
    section=SECTION_FORWARD,
    make_cases=_forward_cases,
    references=[("nnlab.BatchNorm1d in train mode", _forward_reference)],
    returns_cache=True,
    diagnose=_diagnose_forward,
    hints=(
        "Each feature (column j) is standardised with the mean and variance of that column "
        "over the batch: x has shape (N, D), and the statistics have shape (D,).",
        "mu = x.mean(axis=0), var = x.var(axis=0) (biased: divide by N); "
        "x_hat = (x - mu) / sqrt(var + eps), with eps inside the square root. Then scale and shift.",
        "x_hat = (x - mu) / np.sqrt(var + eps); out = gamma * x_hat + beta; return out together "
        "with a cache such as (x_hat, gamma, 1 / np.sqrt(var + eps)).",
    ),
)


# --- the backward passes ----------------------------------------------------------------


def _backward_cases(rng: np.random.Generator, shapes: Sequence[tuple[int, int, float]]) -> list[Case]:
    cases = []
    for n, d, eps in shapes:
        x, gamma, _ = _bn_inputs(rng, n, d)
        dout = rng.normal(size=(n, d))
        cases.append(Case((dout, x, gamma, eps), ("dout", "x", "gamma", "eps")))
    return cases


def _module_reference(module: Any, dout: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, ...]:
    module(x)
    dx = module.backward(dout)
    return dx, module.weight.grad, module.bias.grad


def _numerical(normalise: Callable[[np.ndarray, float], np.ndarray], dout: np.ndarray,
               x: np.ndarray, gamma: np.ndarray, eps: float) -> tuple[np.ndarray, ...]:
    # dout is dL/dy, so the gradients are those of the scalar sum(dout * y).
    beta = np.zeros(x.shape[1])

    def f(_: np.ndarray) -> float:
        return float(np.sum(dout * (gamma * normalise(x, eps) + beta)))

    return numerical_gradient(f, x), numerical_gradient(f, gamma), numerical_gradient(f, beta)


def _candidate_dx(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float,
                  axis: int) -> dict[str, np.ndarray]:
    """dx of the correct formula (statistics over ``axis``) and of its typical mistakes."""
    n = x.shape[axis]
    x_hat = _standardise(x, axis, eps)
    inv_std = 1.0 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    dx_hat = dout * gamma
    mean_term = dx_hat.sum(axis=axis, keepdims=True)
    var_term = x_hat * np.sum(dx_hat * x_hat, axis=axis, keepdims=True)
    return {
        "right": inv_std / n * (n * dx_hat - mean_term - var_term),
        "no statistics terms": inv_std * dx_hat,
        "no mean term": inv_std / n * (n * dx_hat - var_term),
        "no variance term": inv_std / n * (n * dx_hat - mean_term),
        "no 1/n": inv_std * (n * dx_hat - mean_term - var_term),
    }


def _diagnose_backward(axis: int, got: Any, args: tuple[Any, ...]) -> str | None:
    dout, x, gamma, eps = args
    n_name, over = ("N", "the batch (axis=0)") if axis == 0 else ("D", "the features of each example (axis=1)")
    dx = _item(got, 0)
    cand = _candidate_dx(dout, x, gamma, eps, axis)
    other = _candidate_dx(dout, x, gamma, eps, 1 - axis)["right"]
    causes = {
        "no statistics terms": (
            "dx = gamma * dout / sqrt(var + eps) treats the mean and the variance as constants; "
            f"both depend on every x_i of {over}, which adds the mean term -sum(dx_hat) and the "
            "variance term -x_hat * sum(dx_hat * x_hat)"),
        "no mean term": (
            "the mean term is missing: mu depends on every x_i, which adds -sum(dx_hat) inside "
            "the bracket"),
        "no variance term": (
            "the variance term is missing: var depends on every x_i, which adds "
            "-x_hat * sum(dx_hat * x_hat) inside the bracket"),
        "no 1/n": (
            f"dx is {n_name} times too large: the factor 1/{n_name} in front of the bracket is missing"),
    }
    for key, cause in causes.items():
        if _close(dx, cand[key]):
            return cause
    if _close(dx, other):
        if axis == 0:
            return ("dx uses the statistics of each example over its features (axis=1), as layer "
                    "norm does; batch norm's sums run over the batch (axis=0)")
        return ("dx sums over the batch (axis=0), as batch norm does; layer norm's statistics, "
                "and so the sums of its backward pass, run over the features of each example (axis=1)")
    if _close(dx, cand["right"]):
        dgamma = _item(got, 1)
        if np.shape(dgamma) != (x.shape[1],):
            return ("dgamma and dbeta have one entry per feature: sum the contributions of the "
                    "examples, over axis=0, whatever the normalization's own axis")
        return "dx is right; look at dgamma = sum(dout * x_hat, axis=0) and dbeta = sum(dout, axis=0)"
    sums = np.sum(np.asarray(dx, dtype=np.float64), axis=axis)
    if np.shape(dx) == x.shape and not np.allclose(sums, 0.0, atol=1e-8 * max(1.0, float(np.abs(dx).max()))):
        return (f"dx should sum to zero over {over}: adding the same number to all of those x "
                "leaves x_hat unchanged, so the loss cannot change along that direction. Yours "
                "does not; check the axis of every sum and mean")
    return None


# A batch of one is kept out of batch norm (its variance is 0) but included for layer norm.
_BN_BACKWARD_SHAPES = [(4, 3, 1e-5), (2, 5, 1e-3), (7, 2, 0.1), (6, 1, 1e-5), (10, 4, 1e-2), (3, 7, 1e-5)]
_LN_BACKWARD_SHAPES = [(4, 3, 1e-5), (2, 5, 1e-3), (7, 2, 0.1), (1, 6, 1e-5), (10, 4, 1e-2), (3, 8, 1e-5)]


def _bn_backward_reference(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray,
                           eps: float) -> tuple[np.ndarray, ...]:
    return _module_reference(_batchnorm(gamma, np.zeros_like(gamma), eps), dout, x)


def _bn_numerical(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float) -> tuple[np.ndarray, ...]:
    return _numerical(lambda a, e: _standardise(a, 0, e), dout, x, gamma, eps)


batchnorm_backward = _DiagnosedExercise(
    name="batchnorm_backward",
    chapter=8,
    section=SECTION_BACKWARD,
    make_cases=lambda rng: _backward_cases(rng, _BN_BACKWARD_SHAPES),
    references=[("nnlab.BatchNorm1d.backward in train mode", _bn_backward_reference),
                ("central differences of sum(dout * y)", _bn_numerical)],
    output_names=("dx", "dgamma", "dbeta"),
    diagnose=lambda args, got: _diagnose_backward(0, got, args),
    hints=(
        "Recompute the forward pass first: mu, var, inv_std = 1 / sqrt(var + eps) and x_hat, "
        "all per feature (axis=0). dgamma and dbeta come straight from y = gamma * x_hat + beta.",
        "dx_hat = dout * gamma. x_i reaches the loss along three paths: directly through x_hat_i, "
        "through the mean mu and through the variance var; each path adds a term. Sum over the "
        "batch (axis=0).",
        "dx = inv_std / N * (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)); "
        "dgamma = (dout * x_hat).sum(axis=0); dbeta = dout.sum(axis=0).",
    ),
)


def _layernorm(gamma: np.ndarray, eps: float) -> LayerNorm:
    ln = LayerNorm(gamma.size, eps=eps)
    ln.weight.value[...] = gamma
    return ln


def _ln_backward_reference(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray,
                           eps: float) -> tuple[np.ndarray, ...]:
    return _module_reference(_layernorm(gamma, eps), dout, x)


def _ln_numerical(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float) -> tuple[np.ndarray, ...]:
    return _numerical(lambda a, e: _standardise(a, 1, e), dout, x, gamma, eps)


layernorm_backward = _DiagnosedExercise(
    name="layernorm_backward",
    chapter=8,
    section=SECTION_LAYER,
    make_cases=lambda rng: _backward_cases(rng, _LN_BACKWARD_SHAPES),
    references=[("nnlab.LayerNorm.backward", _ln_backward_reference),
                ("central differences of sum(dout * y)", _ln_numerical)],
    output_names=("dx", "dgamma", "dbeta"),
    diagnose=lambda args, got: _diagnose_backward(1, got, args),
    hints=(
        "Layer norm is batch norm with the roles of the axes swapped: the mean and variance of "
        "each example (row) over its D features, axis=1 with keepdims=True. gamma and beta are "
        "still per feature.",
        "The derivation of section 8.2 holds word for word with N replaced by D and the sums "
        "taken over axis=1. dgamma and dbeta still sum over the examples (axis=0).",
        "dx = inv_std / D * (D * dx_hat - dx_hat.sum(axis=1, keepdims=True) "
        "- x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True)), with dx_hat = dout * gamma.",
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (batchnorm_forward, batchnorm_backward, layernorm_backward)
}
