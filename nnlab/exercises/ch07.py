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
from nnlab.exercises._core import Case, Exercise
from nnlab.explore.ch07 import RELU_STD_FACTOR, predicted_preactivation_std

__all__ = [
    "EXERCISES",
    "KURTOSIS_TOL",
    "VAR_RTOL",
    "DrawStatistics",
    "he_normal",
    "orthogonal",
    "predicted_std",
    "xavier_uniform",
]

# Headings of book/07_initialization/lesson.ipynb (tests/test_exercises_ch07.py keeps them in sync).
SECTION_SCHEMES = "Xavier and He initialization"
SECTION_RECURSION = "Variance through a layer"
SECTION_ORTHOGONAL = "Orthogonal initialization and dynamical isometry"

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
    cases: list[Case] = [Case((shape, seed), ("shape", "rng")) for shape, seed in zip(_SHAPES, seeds)]
    cases.append(Case((_SHAPES[0], seeds[0]), ("shape", "rng")))
    cases.append(Case((_SHAPES[0], seeds[-1]), ("shape", "rng")))
    return cases


@dataclass(frozen=True)
class DrawStatistics:
    """The judge of an initializer: a random draw is judged by its statistics (no subclass).

    ``Exercise(judge=DrawStatistics(...), judge_all=same_seed_same_draw)``.

    Attributes
    ----------
    variance : callable
        ``variance(fan_in, fan_out) -> float``, the variance the draw must have.
    formula : str
        The variance as the message shows it, e.g. "2 / fan_in".
    distribution : {"normal", "uniform"}
    mistakes : sequence of (str, callable)
        Typical mistakes: ``(what it is, variance(fan_in, fan_out) it produces)``.
    """

    variance: Callable[[int, int], float]
    formula: str
    distribution: str = "normal"
    mistakes: Sequence[tuple[str, Callable[[int, int], float]]] = ()

    def __call__(self, case: Case, w: Any) -> str | None:
        return self.statistics(case.args[0], w)

    def statistics(self, shape: tuple[int, int], w: Any) -> str | None:
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
            for what, wrong in self.mistakes:
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



def same_seed_same_draw(cases: Sequence[Case], answers: Sequence[Any]) -> str | None:
    """The same rng gives the same array (cases 0 and -2), another rng another (case -1)."""
    first, same_seed, other_seed = answers[0], answers[-2], answers[-1]
    if not np.array_equal(first, same_seed):
        return (f"two calls with the same rng ({cases[0].describe()}) returned different arrays. "
                f"Draw only from np.random.default_rng(rng), never from np.random's global functions.")
    if np.array_equal(first, other_seed):
        return (f"calls with different seeds ({cases[0].describe()} and {cases[-1].describe()}) "
                f"returned the same array: use the rng you are given.")
    return None


def _nnlab_draw(fn: Callable[..., np.ndarray]) -> Callable[[tuple[int, int], int], np.ndarray]:
    def draw(shape: tuple[int, int], rng: int) -> np.ndarray:
        return fn(shape, rng=rng)

    return draw


# --- Exercise 1: He normal ---------------------------------------------------------------

he_normal = Exercise(
    name="he_normal",
    chapter=7,
    section=SECTION_SCHEMES,
    make_cases=_draw_cases,
    references=[("nnlab.init.he_normal", _nnlab_draw(nn_init.he_normal))],
    hints=(
        ("He initialization keeps the variance of a ReLU network's pre-activations constant: "
         "Var W = 2/fan_in (equation (ch7-he)), normal with mean 0."),
        ("shape = (fan_out, fan_in), as nnlab.Linear.weight: fan_in is its second entry. Draw "
         "the whole array from a generator made from the rng you are given; numpy's normal "
         "takes the standard deviation, not the variance."),
        'W_ij ~ 𝒩(0, s_W²) with s_W = √(2/fan_in).',
    ),
    judge=DrawStatistics(
        variance=lambda fan_in, fan_out: 2.0 / fan_in,
        formula="2 / fan_in",
        distribution="normal",
        mistakes=(
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
    ),
    judge_all=same_seed_same_draw,
)


# --- Exercise 2: Xavier uniform ------------------------------------------------------------

xavier_uniform = Exercise(
    name="xavier_uniform",
    chapter=7,
    section=SECTION_SCHEMES,
    make_cases=_draw_cases,
    references=[("nnlab.init.xavier_uniform", _nnlab_draw(nn_init.xavier_uniform))],
    hints=(
        ("Xavier (Glorot) averages the two fans: Var W = 2/(n_in + n_out) with n_in = fan_in "
         "and n_out = fan_out (equation (ch7-xavier)), drawn uniformly and symmetric about 0."),
        ("shape = (fan_out, fan_in); draw the whole array at once from a generator made from "
         "the rng you are given. What you choose is the uniform's bound a, not its variance."),
        'U(−a, a) has variance a²/3, so W_ij ~ U(−a, a) with a = √(6/(n_in + n_out)).',
    ),
    judge=DrawStatistics(
        variance=lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
        formula="2 / (fan_in + fan_out)",
        distribution="uniform",
        mistakes=(
        (("2 / (3 (fan_in + fan_out)): the bound a = sqrt(2 / (fan_in + fan_out)) is missing the "
          "factor sqrt(3); U(-a, a) has variance a^2 / 3, not a^2"), lambda fi, fo: 2.0 / (3 * (fi + fo))),
        ("12 / (fan_in + fan_out)^2: the bound is 6 / (fan_in + fan_out), without the square root",
         lambda fi, fo: 12.0 / (fi + fo) ** 2),
        ("2 / fan_in, He's variance: Xavier's averages fan_in and fan_out", lambda fi, fo: 2.0 / fi),
        ("1 / (fan_in + fan_out): the factor 2 of 2 / (fan_in + fan_out) is missing",
         lambda fi, fo: 1.0 / (fi + fo)),
    ),
    ),
    judge_all=same_seed_same_draw,
)


# --- Exercise 3: the predicted std of every layer -------------------------------------------


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
        cases.append(Case((list(fan_ins), v, float(q0), activation), names, by_value=names))
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


predicted_std = Exercise(
    float_errors="raise",
    name="predicted_std",
    chapter=7,
    section=SECTION_RECURSION,
    make_cases=_predicted_cases,
    references=[("nnlab.explore.ch07.predicted_preactivation_std", _predicted_reference)],
    hints=(
        ("Propagate the second moment of each layer's input: a layer multiplies it by n_l v_l,"
         " and a ReLU halves it (equation (ch7-recursion)). The input x is data, not a ReLU "
         "output."),
        ("fan_ins and weight_vars have one entry per layer (L of them); the answer has shape "
         "(L,): one standard deviation per layer's pre-activations, the square roots of the "
         "variances."),
        ("q₀ = E[x²]; Var z^{(l)} = n_l v_l q_{l−1}; q_l = ½ Var z^{(l)} after a ReLU (q_l = "
         "Var z^{(l)} if linear); the answer is s_l = √(Var z^{(l)})."),
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



# --- Exercise 4: an orthogonal initializer, judged by its properties ---------------------------
# Exactly: the rows (or columns) are orthonormal. Statistically: the draw is uniform over
# such matrices (Haar). np.linalg.qr fixes no sign, so Q without the correction by
# sign(diag R) is biased: its diagonal has mean about -0.03, where a uniform draw's diagonal
# mean has standard deviation 1 / sqrt(rows * cols), at most 0.0041 on these shapes; the
# check rejects a mean beyond 5.5 of those (a right answer fails once in 10^7 draws).

ORTHO_SIGMAS = 5.5


def _orthogonal_judge(case: Case, w: Any) -> str | None:
    shape = tuple(case.args[0])
    rows, cols = shape
    if not isinstance(w, np.ndarray):
        return f"should return a numpy array of shape {shape}; received {type(w).__name__}"
    if w.shape != shape:
        hint = (" - that is (fan_in, fan_out), transposed: return the shape you were given"
                if w.shape == shape[::-1] else "")
        return f"has the wrong shape: expected {shape}, received {tuple(w.shape)}{hint}"
    if w.dtype.kind != "f" or not np.all(np.isfinite(w)):
        return "should hold finite floating-point numbers"
    w = w.astype(np.float64)
    gram, which = (w @ w.T, "rows") if rows <= cols else (w.T @ w, "columns")
    off = float(np.abs(gram - np.eye(len(gram))).max())
    if off > 1e-8:
        diag = np.diag(gram)
        detail = ""
        if np.allclose(gram, diag.mean() * np.eye(len(gram)), atol=1e-8):
            detail = (f": they are orthogonal but of squared norm {diag.mean():.4g}, not 1 (no gain "
                      "here)")
        return (f"is not (semi-)orthogonal: its {which} should be orthonormal ({'W W^T' if which == 'rows' else 'W^T W'}"
                f" = I), but it differs from I by up to {off:.3g}{detail}")
    k = min(rows, cols)
    mean = float(np.mean(w[np.arange(k), np.arange(k)]))
    sd = 1.0 / np.sqrt(rows * cols)
    if abs(mean) > 0.5:
        return (f"is orthogonal but not random: the mean of its diagonal entries is {mean:.4g}, as "
                "for the identity; draw a Gaussian matrix from the rng and orthonormalise it")
    if abs(mean) > ORTHO_SIGMAS * sd:
        return (f"is orthogonal but not uniformly random: the mean of its diagonal entries is "
                f"{mean:.4g}, while a uniform (Haar) draw gives 0 within +-{ORTHO_SIGMAS * sd:.2g}. "
                "np.linalg.qr fixes no sign: multiply each column of Q by the sign of R's "
                "diagonal entry")
    return None


orthogonal = Exercise(
    name="orthogonal",
    chapter=7,
    section=SECTION_ORTHOGONAL,
    make_cases=_draw_cases,
    references=[("nnlab.init.orthogonal", _nnlab_draw(nn_init.orthogonal))],
    judge=_orthogonal_judge,
    judge_all=same_seed_same_draw,
    hints=(
        ("An orthogonal weight preserves lengths: every singular value is 1. Make one from a "
         "random Gaussian matrix by orthonormalising it (a QR decomposition), in the orientation "
         "where Q has the shape you need."),
        ("shape = (fan_out, fan_in). If fan_out ≥ fan_in, Q of a (fan_out, fan_in) Gaussian "
         "matrix has orthonormal columns; otherwise decompose the (fan_in, fan_out) matrix and "
         "transpose Q. The sign of each column of Q is arbitrary until you fix it."),
        ("A = QR with A_ij ~ 𝒩(0, 1); Q′ = Q diag(sign(R_jj)) is uniformly distributed (Haar), "
         "with Q′ᵀQ′ = I."),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (he_normal, xavier_uniform, predicted_std, orthogonal)
}
