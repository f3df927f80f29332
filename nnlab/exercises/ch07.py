"""Chapter 7 (initialization): the graded exercises.

Two of them return RANDOM arrays, so they cannot be compared entry by entry with a
reference. :class:`InitializerExercise` judges a draw by its statistics instead, on
large draws (at least 60,000 entries) of non-square shapes:

* the shape must be ``(fan_out, fan_in)`` as asked, and the dtype floating point;
* the mean must be 0 within 6 standard errors;
* the variance must be within ``VAR_RTOL`` (5%) of the formula. The sample variance of
  n >= 60,000 draws has a relative standard deviation of at most sqrt(2 / n) = 0.58%, so a
  right answer is 8.6 standard deviations inside the tolerance, whatever correct way it
  samples (``tests/test_exercises_ch07.py`` draws hundreds of times to show it), while
  every catalogued mistake is off by 14% or more on some case: swapped fans (non-square
  shapes), std taken for the variance, a missing sqrt(3) or factor 2, fan_in + fan_out
  in He. A wrong variance that equals a known mistake is named in the message;
* the distribution must be the one asked: a normal has kurtosis E[w^4] / E[w^2]^2 = 3, a
  uniform 1.8 (tolerance 0.3, about 15 standard errors), and a uniform U(-a, a) never
  leaves [-a, a];
* two calls with the same seed must return the same array, and a different seed a
  different one (the rng is the only source of randomness, as everywhere in nnlab).

The third exercise, ``predicted_std``, is deterministic and checked against
:func:`nnlab.explore.ch07.predicted_preactivation_std`, with typical mistakes named.

>>> from nnlab.exercises import ch07
>>> ch07.he_normal.check(my_he_normal)     # doctest: +SKIP
✓ he_normal: passed (6 random cases)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab import init as nn_init
from nnlab.exercises._core import Case, Exercise, Outcome, ValueCase
from nnlab.exercises.ch02 import StrictExercise
from nnlab.explore.ch07 import RELU_STD_FACTOR, predicted_preactivation_std

__all__ = [
    "EXERCISES",
    "KURTOSIS_TOL",
    "VAR_RTOL",
    "InitializerExercise",
    "he_normal",
    "predicted_std",
    "xavier_uniform",
]

# Headings of book/07_initialization/lesson.ipynb (tests/test_exercises_ch07.py keeps them in sync).
SECTION_SCHEMES = "7.4 Xavier and He initialization"
SECTION_RECURSION = "7.2 Variance through a layer"

VAR_RTOL = 0.05
KURTOSIS_TOL = 0.3
MEAN_SIGMAS = 6.0
_KURTOSIS = {"normal": 3.0, "uniform": 1.8}

# (fan_out, fan_in): no two fans equal, fan_in both smaller and larger than fan_out, and
# at least 60,000 entries each. Cases 5 and 6 repeat case 1's shape: the same seed must
# give the same array, another seed another one.
_SHAPES = [(300, 200), (100, 600), (40, 2500), (600, 150)]


def _draw_cases(rng: np.random.Generator) -> list[Case]:
    seeds = [int(s) for s in rng.integers(0, 2**31, size=len(_SHAPES) + 1)]
    cases: list[Case] = [ValueCase((shape, seed), ("shape", "rng")) for shape, seed in zip(_SHAPES, seeds)]
    cases.append(ValueCase((_SHAPES[0], seeds[0]), ("shape", "rng")))
    cases.append(ValueCase((_SHAPES[0], seeds[-1]), ("shape", "rng")))
    return cases


@dataclass
class InitializerExercise(Exercise):
    """An exercise whose answer draws a random weight; judged by its statistics.

    Attributes
    ----------
    variance : callable
        ``variance(fan_in, fan_out) -> float``, the variance the draw must have.
    formula : str
        The variance as the message shows it, e.g. "2 / fan_in".
    distribution : {"normal", "uniform"}
    diagnoses : sequence of (str, callable)
        Typical mistakes: ``(what it is, variance(fan_in, fan_out) it produces)``.
    """

    variance: Callable[[int, int], float] = lambda fan_in, fan_out: 0.0
    formula: str = ""
    distribution: str = "normal"
    diagnoses: Sequence[tuple[str, Callable[[int, int], float]]] = ()

    def judge(self, shape: tuple[int, int], w: Any) -> str | None:
        """None if ``w`` is a plausible draw for ``shape``; otherwise what is wrong with it."""
        fan_out, fan_in = shape
        if not isinstance(w, np.ndarray):
            return f"should return a numpy array of shape {shape}; received {type(w).__name__}"
        if w.shape != tuple(shape):
            hint = ""
            if w.shape == (fan_in, fan_out):
                hint = (" - that is (fan_in, fan_out), transposed: a weight has shape "
                        "(out_features, in_features), as nnlab.Linear.weight, so return the "
                        "shape you were given")
            return f"has the wrong shape: expected {tuple(shape)}, received {tuple(w.shape)}{hint}"
        if w.dtype.kind != "f":
            return f"should hold floating-point numbers; received dtype {w.dtype}"
        if not np.all(np.isfinite(w)):
            return "contains NaN or inf"
        w = w.astype(np.float64)
        expected = self.variance(fan_in, fan_out)
        n = w.size
        mean = float(w.mean())
        if abs(mean) > MEAN_SIGMAS * np.sqrt(expected / n):
            return (f"the mean of the entries is {mean:.4g}; it should be 0 (within "
                    f"+-{MEAN_SIGMAS * np.sqrt(expected / n):.2g} for {n} draws). Are the draws "
                    f"symmetric about 0?")
        var = float(np.mean(w**2))  # the mean is 0: the second moment is the variance
        if abs(var / expected - 1) > VAR_RTOL:
            problem = (f"the variance of the entries is {var:.4g}; expected {self.formula} = "
                       f"{expected:.4g} (fan_in = shape[1] = {fan_in}, fan_out = shape[0] = "
                       f"{fan_out}), a ratio of {var / expected:.3g}")
            for what, wrong in self.diagnoses:
                if abs(var / wrong(fan_in, fan_out) - 1) <= VAR_RTOL:
                    return f"{problem}.\n  Your variance equals {what}"
            return problem
        kurtosis = float(np.mean(w**4)) / var**2
        if self.distribution == "uniform":
            bound = np.sqrt(3.0 * expected)
            largest = float(np.abs(w).max())
            if largest > bound * (1 + 1e-6):
                return (f"has an entry of magnitude {largest:.4g}, outside [-a, a] with a = "
                        f"sqrt(3 Var W) = {bound:.4g}: the entries should be uniform, and these "
                        f"look {'normal' if abs(kurtosis - 3.0) < KURTOSIS_TOL else 'not uniform'} "
                        f"(kurtosis {kurtosis:.2f}; a uniform has 1.8, a normal 3)")
        if abs(kurtosis - _KURTOSIS[self.distribution]) > KURTOSIS_TOL:
            other = "uniform" if self.distribution == "normal" else "normal"
            looks = other if abs(kurtosis - _KURTOSIS[other]) < KURTOSIS_TOL else f"not {self.distribution}"
            return (f"has the right variance, but the entries look {looks}: their kurtosis "
                    f"E[w^4] / E[w^2]^2 is {kurtosis:.2f}, and a {self.distribution} "
                    f"distribution has {_KURTOSIS[self.distribution]:g}")
        return None

    def verdict(self, cases: Sequence[Case], outcomes: Sequence[Outcome]) -> str | None:
        for case, outcome in zip(cases, outcomes):
            if outcome.raised:
                if outcome.error_type == "NotImplementedError":
                    return (f"{self.name}: not attempted yet - replace `raise NotImplementedError()` "
                            f"with your code. {self.reread()}")
                return (f"{self.name} raised {outcome.error_type}: {outcome.error_message}\n"
                        f"  on input {case.describe()}.\n  {self.reread()}")
            problem = self.judge(case.args[0], outcome.value)
            if problem:
                return f"{self.name}: {problem}\n  on input {case.describe()}.\n  {self.reread()}"
        first, same_seed, other_seed = outcomes[0].value, outcomes[-2].value, outcomes[-1].value
        if not np.array_equal(first, same_seed):
            return (f"{self.name}: two calls with the same rng ({cases[0].describe()}) returned "
                    f"different arrays. Draw only from np.random.default_rng(rng), never from "
                    f"np.random's global functions.\n  {self.reread()}")
        if np.array_equal(first, other_seed):
            return (f"{self.name}: calls with different seeds ({cases[0].describe()} and "
                    f"{cases[-1].describe()}) returned the same array: use the rng you are "
                    f"given.\n  {self.reread()}")
        return None


def _nnlab_draw(fn: Callable[..., np.ndarray]) -> Callable[[tuple[int, int], int], np.ndarray]:
    def draw(shape: tuple[int, int], rng: int) -> np.ndarray:
        return fn(shape, rng=rng)

    return draw


# --- Exercise 1: He normal ---------------------------------------------------------------

he_normal = InitializerExercise(
    name="he_normal",
    chapter=7,
    section=SECTION_SCHEMES,
    make_cases=_draw_cases,
    references=[("nnlab.init.he_normal", _nnlab_draw(nn_init.he_normal))],
    hints=(
        ("He initialization for ReLU layers: W_ij ~ N(0, 2 / fan_in), equation (ch7-he). For a "
         "weight of shape (out_features, in_features), fan_in is shape[1]."),
        ("numpy's rng.normal(loc, scale, size) takes the STANDARD DEVIATION as scale, not the "
         "variance: scale = sqrt(2 / fan_in)."),
        ("gen = np.random.default_rng(rng); fan_in = shape[1]; "
         "return gen.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)"),
    ),
    variance=lambda fan_in, fan_out: 2.0 / fan_in,
    formula="2 / fan_in",
    distribution="normal",
    diagnoses=(
        (("2 / fan_out: fan_in and fan_out are swapped (a weight has shape (fan_out, fan_in), so "
          "fan_in = shape[1])"), lambda fi, fo: 2.0 / fo),
        (("(2 / fan_in)^2: you passed the variance 2 / fan_in where numpy expects the standard "
          "deviation; take its square root"), lambda fi, fo: (2.0 / fi) ** 2),
        ("2 / (fan_in + fan_out), Xavier's variance: He's uses fan_in alone", lambda fi, fo: 2.0 / (fi + fo)),
        ("1 / fan_in: the factor 2, which makes up for ReLU zeroing half its inputs, is missing",
         lambda fi, fo: 1.0 / fi),
        (("(2 / fan_out)^2: fan_in and fan_out swapped, and the variance passed as the standard "
          "deviation"), lambda fi, fo: (2.0 / fo) ** 2),
    ),
)


# --- Exercise 2: Xavier uniform ------------------------------------------------------------

xavier_uniform = InitializerExercise(
    name="xavier_uniform",
    chapter=7,
    section=SECTION_SCHEMES,
    make_cases=_draw_cases,
    references=[("nnlab.init.xavier_uniform", _nnlab_draw(nn_init.xavier_uniform))],
    hints=(
        ("Xavier/Glorot: Var W = 2 / (fan_in + fan_out), equation (ch7-xavier), drawn from a "
         "uniform distribution U(-a, a) symmetric about 0."),
        ("U(-a, a) has variance a^2 / 3, so a must be sqrt(3 Var W) = sqrt(6 / (fan_in + fan_out)). "
         "fan_in = shape[1], fan_out = shape[0]."),
        ("gen = np.random.default_rng(rng); a = np.sqrt(6.0 / (shape[0] + shape[1])); "
         "return gen.uniform(-a, a, size=shape)"),
    ),
    variance=lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
    formula="2 / (fan_in + fan_out)",
    distribution="uniform",
    diagnoses=(
        (("2 / (3 (fan_in + fan_out)): the bound a = sqrt(2 / (fan_in + fan_out)) is missing the "
          "factor sqrt(3); U(-a, a) has variance a^2 / 3, not a^2"), lambda fi, fo: 2.0 / (3 * (fi + fo))),
        ("12 / (fan_in + fan_out)^2: the bound is 6 / (fan_in + fan_out), without the square root",
         lambda fi, fo: 12.0 / (fi + fo) ** 2),
        ("2 / fan_in, He's variance: Xavier's averages fan_in and fan_out", lambda fi, fo: 2.0 / fi),
        ("1 / (fan_in + fan_out): the factor 2 of 2 / (fan_in + fan_out) is missing",
         lambda fi, fo: 1.0 / (fi + fo)),
    ),
)


# --- Exercise 3: the predicted std of every layer -------------------------------------------


@dataclass(frozen=True)
class _PrintedCase(Case):
    """A case described by its values, short arrays printed whole (they are random)."""

    def describe(self) -> str:
        parts = []
        for name, a in zip(self.names, self.args):
            shown = f"array of shape {a.shape}: {np.array2string(a, precision=4, separator=', ')}" \
                if isinstance(a, np.ndarray) else repr(a)
            parts.append(f"{name}={shown}")
        return ", ".join(parts)


def _predicted_cases(rng: np.random.Generator) -> list[Case]:
    names = ("fan_ins", "weight_vars", "input_second_moment", "activation")
    cases = []
    for fan_ins, q0, activation, scheme in [
        ([64, 32, 32, 32], 0.82, "relu", "he"),
        ([10, 20, 5], 1.7, "relu", "random"),
        ([8, 8, 8, 8, 8, 8], 1.0, "linear", "xavier"),
        ([50, 30], 2.5, "linear", "random"),
        ([100], 0.5, "relu", "random"),
        ([7, 13, 29, 3, 11], 0.3, "relu", "random"),
    ]:
        n = np.array(fan_ins, dtype=float)
        if scheme == "he":
            v = 2.0 / n
        elif scheme == "xavier":
            v = 2.0 / (n + n)
        else:
            v = rng.uniform(0.5, 3.0, size=len(n)) / n
        cases.append(_PrintedCase((list(fan_ins), v, float(q0), activation), names))
    return cases


def _predicted_reference(fan_ins, weight_vars, input_second_moment, activation):
    return predicted_preactivation_std(fan_ins, weight_vars, input_second_moment, activation)


def _recursion(fan_ins, weight_vars, q0, keep_first, keep, sqrt=True):
    # Variants of the recursion, each a typical mistake (used only to name them).
    out, q = [], q0 * keep_first
    for n, v in zip(fan_ins, weight_vars):
        var_z = n * v * q
        out.append(var_z)
        q = keep * var_z
    out = np.array(out)
    return np.sqrt(out) if sqrt else out


def _keep(activation):
    return 0.5 if activation == "relu" else 1.0


predicted_std = StrictExercise(
    name="predicted_std",
    chapter=7,
    section=SECTION_RECURSION,
    make_cases=_predicted_cases,
    references=[("nnlab.explore.ch07.predicted_preactivation_std", _predicted_reference)],
    hints=(
        ("Equation (ch7-recursion): Var z^(l) = n_l v_l E[(h^(l-1))^2], with E[(h^(0))^2] = "
         "input_second_moment (the input is not a ReLU output), and after a ReLU "
         "E[h^2] = Var z / 2."),
        ("Keep a running second moment q: start with q = input_second_moment; for each layer "
         "var_z = n * v * q, record it, then q = var_z / 2 for ReLU (q = var_z for linear). The "
         "next layer needs E[h^2], not Var h: the ReLU output's mean is not 0."),
        ("q = input_second_moment; out = []; for n, v in zip(fan_ins, weight_vars): "
         "var_z = n * v * q; out.append(var_z); q = var_z / 2 if activation == 'relu' else var_z; "
         "then return np.sqrt(np.array(out))"),
    ),
    diagnoses=(
        (("the recursion without the factor 1/2: after a ReLU, E[h^2] = Var z / 2, since half of "
          "z is set to 0"), lambda f, v, q, a: _recursion(f, v, q, 1.0, 1.0)),
        ("the variances Var z^(l): the question asks for the standard deviations, their square roots",
         lambda f, v, q, a: _recursion(f, v, q, 1.0, _keep(a), sqrt=False)),
        (("the recursion with Var h = Var z (1/2 - 1/(2 pi)) in place of E[h^2] = Var z / 2: "
          "the next layer sees the second moment of h, and a ReLU output does not have mean 0"),
         lambda f, v, q, a: _recursion(f, v, q, 1.0, RELU_STD_FACTOR**2 if a == "relu" else 1.0)),
        (("the recursion with the input's second moment halved too: the input x is data, not "
          "a ReLU output, so Var z^(1) = n_1 v_1 E[x^2]"),
         lambda f, v, q, a: _recursion(f, v, q, _keep(a), _keep(a))),
        ("the recursion with sqrt(v) in place of the variance v",
         lambda f, v, q, a: _recursion(f, np.sqrt(v), q, 1.0, _keep(a))),
    ),
)


EXERCISES: dict[str, Exercise] = {ex.name: ex for ex in (he_normal, xavier_uniform, predicted_std)}
