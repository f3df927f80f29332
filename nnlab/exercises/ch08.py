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
from typing import Any

import numpy as np

from nnlab.exercises._core import Case, Exercise
from nnlab.gradcheck import numerical_gradient
from nnlab.normalization import BatchNorm1d, LayerNorm

__all__ = ["batchnorm_forward", "batchnorm_backward", "layernorm_backward", "batchnorm_eval",
           "EXERCISES"]

# Headings of book/08_normalization/lesson.ipynb (tests/test_exercises_ch08.py keeps them in sync).
SECTION_FORWARD = "Batch normalization: the forward pass"
SECTION_BACKWARD = "The backward pass on a computational graph"
SECTION_LAYER = "Layer normalization"
SECTION_EVAL = "Train mode and eval mode: running statistics"

Diagnosis = Callable[[tuple[Any, ...], Any], "str | None"]


_LIKELY = "Likely cause: {}"


def _out_of_pair(value: Any) -> Any:
    """``out`` of the ``(out, cache)`` a forward pass returns (only ``out`` is judged)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        received = (f"a {type(value).__name__} of {len(value)} items"
                    if isinstance(value, (tuple, list)) else type(value).__name__)
        raise ValueError(f"batchnorm_forward should return a tuple (out, cache) of 2 items; received "
                         f"{received}. Return the cache as the second item, even if backward "
                         "does not use it")
    return value[0]


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


batchnorm_forward = Exercise(
    note_format=_LIKELY,
    name="batchnorm_forward",
    chapter=8,
    section=SECTION_FORWARD,
    make_cases=_forward_cases,
    references=[("nnlab.BatchNorm1d in train mode", _forward_reference)],
    unpack=_out_of_pair,
    diagnose=_diagnose_forward,
    hints=(
        ("Each feature (column) is standardised with the mean and variance of that column over"
         " the batch, then scaled by γ and shifted by β."),
        ("x is (N, D); the statistics, γ and β are (D,). Return (out, cache): out has x's "
         "shape; the cache holds whatever a backward pass would need."),
        ("μ_j = (1/N) Σ_n x_nj, s_j² = (1/N) Σ_n (x_nj − μ_j)² (biased), x̂_nj = (x_nj − "
         "μ_j)/√(s_j² + ε), y_nj = γ_j x̂_nj + β_j."),
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


batchnorm_backward = Exercise(
    note_format=_LIKELY,
    name="batchnorm_backward",
    chapter=8,
    section=SECTION_BACKWARD,
    make_cases=lambda rng: _backward_cases(rng, _BN_BACKWARD_SHAPES),
    references=[("nnlab.BatchNorm1d.backward in train mode", _bn_backward_reference),
                ("central differences of sum(dout * y)", _bn_numerical)],
    output_names=("dx", "dgamma", "dbeta"),
    diagnose=lambda args, got: _diagnose_backward(0, got, args),
    hints=(
        ("Recompute the forward quantities first. x_nj reaches the loss along three paths: "
         "directly through x̂_nj, through the mean μ_j and through the variance s_j²; each "
         "path adds a term."),
        ("dout and x are (N, D); γ, dgamma and dbeta are (D,): they sum over the batch. dx has"
         " x's shape; the sums in its formula run over the batch, one per feature."),
        ("With g = dout ⊙ γ and r_j = 1/√(s_j² + ε): ∂ℒ/∂x_nj = (r_j/N) (N g_nj − Σ_m g_mj − "
         "x̂_nj Σ_m g_mj x̂_mj); ∂ℒ/∂γ_j = Σ_n dout_nj x̂_nj; ∂ℒ/∂β_j = Σ_n dout_nj."),
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


layernorm_backward = Exercise(
    note_format=_LIKELY,
    name="layernorm_backward",
    chapter=8,
    section=SECTION_LAYER,
    make_cases=lambda rng: _backward_cases(rng, _LN_BACKWARD_SHAPES),
    references=[("nnlab.LayerNorm.backward", _ln_backward_reference),
                ("central differences of sum(dout * y)", _ln_numerical)],
    output_names=("dx", "dgamma", "dbeta"),
    diagnose=lambda args, got: _diagnose_backward(1, got, args),
    hints=(
        ("Layer norm is batch norm with the axes swapped: each example (row) is standardised "
         "over its D features. The derivation of section 8.2 holds word for word."),
        ("dout and x are (N, D), γ is (D,). The statistics are per row, an (N, 1) column; "
         "dgamma and dbeta still sum over the examples and are (D,)."),
        ("With g = dout ⊙ γ and r_n = 1/√(s_n² + ε) per row: ∂ℒ/∂x_nj = (r_n/D) (D g_nj − Σ_k "
         "g_nk − x̂_nj Σ_k g_nk x̂_nk); ∂ℒ/∂γ_j = Σ_n dout_nj x̂_nj; ∂ℒ/∂β_j = Σ_n dout_nj."),
    ),
)


# --- Exercise 4: eval mode after some training steps ------------------------------------------
# The student puts the pieces together: the running averages over several batches (with
# the unbiased variance and rho = momentum on the NEW statistic, PyTorch's convention),
# then a test batch normalised with them, not with its own statistics.

_EVAL_SETTINGS = [(3, (8, 4), (5, 4)), (1, (6, 3), (2, 3)), (5, (4, 2), (7, 2)), (2, (10, 5), (1, 5)),
                  (4, (3, 6), (4, 6))]


def _eval_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for (k, (n, d), test), momentum in zip(_EVAL_SETTINGS, (0.1, 0.3, 0.05, 0.5, 0.2)):
        shift, scale = rng.normal(scale=2.0, size=d), rng.uniform(0.5, 3.0, size=d)
        batches = [shift + scale * rng.normal(size=(n, d)) for _ in range(k)]
        x = shift + scale * rng.normal(size=test)
        gamma, beta = rng.uniform(0.5, 2.0, size=d), rng.normal(size=d)
        cases.append(Case((batches, x, gamma, beta, momentum, 1e-5),
                          ("batches", "x", "gamma", "beta", "momentum", "eps")))
    return cases


def _eval_reference(batches: list[np.ndarray], x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                    momentum: float, eps: float) -> np.ndarray:
    bn = BatchNorm1d(gamma.size, eps=eps, momentum=momentum)
    bn.weight.value[...] = gamma
    bn.bias.value[...] = beta
    for batch in batches:
        bn(batch)
    bn.eval()
    return bn(x)


def _eval_variant(batches, x, gamma, beta, momentum, eps, *, ddof=1, swap=False, start_var=1.0,
                  last_only=False, own_stats=False):
    mean, var = np.zeros(x.shape[1]), np.full(x.shape[1], start_var)
    for batch in batches:
        m, v = batch.mean(axis=0), batch.var(axis=0, ddof=ddof)
        r = 1 - momentum if swap else momentum
        mean, var = (m, v) if last_only else ((1 - r) * mean + r * m, (1 - r) * var + r * v)
    if own_stats:
        mean, var = x.mean(axis=0), x.var(axis=0)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


batchnorm_eval = Exercise(
    name="batchnorm_eval",
    chapter=8,
    section=SECTION_EVAL,
    make_cases=_eval_cases,
    references=[("nnlab.BatchNorm1d(momentum=momentum): the batches in train mode, then eval()",
                 _eval_reference),
                ("the running averages written out", lambda *a: _eval_variant(*a))],
    note_format=_LIKELY,
    hints=(
        ("Training batches do two things you need here: nothing to the output you return, but "
         "they move the running mean and variance. At test time the layer normalises with those "
         "running statistics, never with the test batch's own."),
        ("Each batch is (N_k, D), x is (N, D), γ, β and the running statistics are (D,). Start "
         "from the running mean 0 and variance 1 (as nnlab and PyTorch do); the answer has x's "
         "shape."),
        ("After each batch: μ_run ← (1 − ρ) μ_run + ρ μ_B and s²_run ← (1 − ρ) s²_run + ρ · N_k "
         "s²_B/(N_k − 1) (the unbiased variance), ρ = momentum. Then y = γ ⊙ (x − μ_run)/√(s²_run "
         "+ ε) + β."),
    ),
    diagnose=lambda args, got: next(
        (what for what, kw in (
            ("the running variance is updated with the biased batch variance; PyTorch and nnlab "
             "keep the unbiased one, N/(N - 1) times larger", {"ddof": 0}),
            ("the momentum weighs the old running value: rho = momentum multiplies the NEW batch "
             "statistic, (1 - rho) the running one", {"swap": True}),
            ("the running variance starts at 0; it starts at 1 (and the running mean at 0)",
             {"start_var": 0.0}),
            ("only the last batch's statistics are used; the running statistics are averages "
             "over all the batches seen", {"last_only": True}),
            ("x is normalised with its own mean and variance (train mode); in eval mode the "
             "running statistics are used", {"own_stats": True}),
        ) if _close(_eval_variant(*args, **kw), got)), None),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (batchnorm_forward, batchnorm_backward, layernorm_backward, batchnorm_eval)
}
