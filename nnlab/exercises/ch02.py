"""Chapter 2 (activation functions): the graded exercises.

Each exercise is checked against nnlab itself and, for derivatives, against central
differences of nnlab's function: ``stable_sigmoid`` against
:func:`nnlab.activations.sigmoid`, ``sigmoid_grad`` against
:func:`nnlab.activations.sigmoid_grad`, ``leaky_relu_backward`` against
:meth:`nnlab.LeakyReLU.backward` and ``gelu_tanh_grad`` against
:func:`nnlab.activations.gelu_grad` with ``approximate="tanh"``.

Two things are special to this chapter.

* **Floating-point warnings are errors.** A naive sigmoid ``1 / (1 + np.exp(-z))``
  returns the right numbers even at z = -1000 (``exp(1000)`` overflows to inf and
  1 / inf = 0), and numpy only prints "RuntimeWarning: overflow encountered in exp".
  The exercise is to avoid that overflow, so the checks run the student's function
  under ``np.errstate(over="raise", invalid="raise", divide="raise")``: the warning
  becomes an exception, with a message saying what to do about it. ``check`` does that
  in the notebook; in the hidden tests the grader's runner process does it itself
  (``float_errors="raise"``), so nothing in the student's kernel can switch it off.
* **Known bugs are named.** When an answer is wrong and equals what a typical mistake
  computes (the slope on the wrong side, the derivative taken at z instead of at
  sigma(z), ...), the message says so (the exercises' ``diagnoses``).

>>> from nnlab.exercises import ch02
>>> ch02.stable_sigmoid.check(my_stable_sigmoid)     # doctest: +SKIP
✓ stable_sigmoid: passed (5 random cases)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab import activations as act
from nnlab.exercises._core import Case, Exercise, Outcome

__all__ = [
    "EXERCISES",
    "StrictExercise",
    "gelu_tanh_grad",
    "leaky_relu_backward",
    "sigmoid_grad",
    "stable_sigmoid",
]

# Headings of book/02_activations/lesson.ipynb (tests/test_exercises_ch02.py keeps them in sync).
SECTION_STABLE = "2.7 A numerically stable sigmoid"
SECTION_SIGMOID_TANH = "2.3 Derivatives of the sigmoid and tanh"
SECTION_RELU_GELU = "2.4 Derivatives of ReLU, leaky ReLU and GELU"

# Central-difference step: error ~ step^2 * |f'''| + 1e-16 / step, about 1e-10 here.
_FD_STEP = 1e-6


_EXP_ADVICE = (
    "exp(x) overflows to inf for x > 709.78: make sure every exp in your code only ever "
    "sees arguments <= 0, e.g. exp(-|z|). Note that np.where(cond, a, b) computes BOTH a "
    "and b for every entry."
)


def _raise_on_float_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run under np.errstate(over/invalid/divide="raise"), with a helpful message.

    The wrapper refers to nothing of nnlab (only numpy and builtins), so cloudpickle
    ships it by value into the grader's runner process, which never imports nnlab.
    """

    @functools.wraps(fn)
    def strict(*args: Any) -> Any:
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                return fn(*args)
        except FloatingPointError as exc:
            arrays = [a for a in args if isinstance(a, np.ndarray) and a.size]
            span = ""
            if arrays:
                lo = min(float(a.min()) for a in arrays)
                hi = max(float(a.max()) for a in arrays)
                span = f" The input holds values from {lo:g} to {hi:g}."
            advice = " " + _EXP_ADVICE if "exp" in str(exc) else ""
            raise FloatingPointError(
                f"{exc} (numpy would only print a RuntimeWarning; this check treats it as an "
                f"error).{span}{advice}"
            ) from None

    return strict


@dataclass
class StrictExercise(Exercise):
    """An :class:`Exercise` whose answers run with numpy floating-point errors raised.

    Its ``diagnoses`` (typical wrong answers) are named as "Your result equals ...".
    """

    float_errors: str | None = "raise"  # the grader's runner applies it too

    def strict(self, answer: Callable[..., Any]) -> Callable[..., Any]:
        """``answer`` as ``check`` runs it in the notebook, with a helpful overflow message."""
        return _raise_on_float_errors(answer) if callable(answer) else answer

    def check(self, answer: Callable[..., Any]) -> None:
        """As :meth:`Exercise.check`, with floating-point warnings turned into errors."""
        super().check(self.strict(answer))

    def verdict(self, cases: Sequence[Case], outcomes: Sequence[Outcome]) -> str | None:
        problem = super().verdict(cases, outcomes)
        if problem is None:
            return None
        if "raised FloatingPointError" in problem and "in exp" in problem and "exp(-|z|)" not in problem:
            # Judged in the grader's runner, the answer ran without the notebook's wrapper.
            head, sep, tail = problem.rpartition("\n  Re-read")
            return f"{head}\n  {_EXP_ADVICE}{sep}{tail}"
        return problem


def _central_difference(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray) -> np.ndarray:
    return (f(z + _FD_STEP) - f(z - _FD_STEP)) / (2 * _FD_STEP)


# --- Exercise 1: a numerically stable sigmoid ----------------------------------------

# Entries where a naive formula overflows (|z| > 709.78), where sigma is subnormal
# (-745 < z < -708), and ordinary ones; both signs.
_EXTREMES = np.array([-1000.0, -745.0, -720.0, -50.0, -1.5, 0.0, 2.0, 50.0, 720.0, 1000.0])


def _sigmoid_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case((rng.normal(size=6),), ("z",)),
        Case((rng.normal(scale=4.0, size=(3, 5)),), ("z",)),
        Case((rng.permutation(_EXTREMES),), ("z",)),
        Case((rng.normal(scale=300.0, size=(4, 2, 3)),), ("z",)),
        Case((np.array([-1000.0]),), ("z",)),
    ]
    return cases


def _naive_sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


stable_sigmoid = StrictExercise(
    name="stable_sigmoid",
    chapter=2,
    section=SECTION_STABLE,
    make_cases=_sigmoid_cases,
    references=[("nnlab.activations.sigmoid", act.sigmoid)],
    hints=(
        ("1 / (1 + np.exp(-z)) is right mathematically, but for z < -709.78 np.exp(-z) "
         "overflows to inf. Find a form of sigma(z) in which exp only sees numbers <= 0."),
        ("For z < 0, multiply the numerator and the denominator of 1 / (1 + exp(-z)) by "
         "exp(z): sigma(z) = exp(z) / (1 + exp(z)). For z >= 0 the usual form is safe. "
         "Both are e / (1 + e) or 1 / (1 + e) with e = exp(-|z|)."),
        ("e = np.exp(-np.abs(z)); return np.where(z >= 0, 1 / (1 + e), e / (1 + e)). "
         "Careful: np.where evaluates both branches everywhere, so neither may overflow."),
    ),
    diagnoses=(
        (("sigma(-z), not sigma(z): the two branches are swapped (for z >= 0, sigma(z) = "
          "1 / (1 + e) with e = exp(-|z|))"), lambda z: act.sigmoid(-z)),
        (("sigma(|z|), which is wrong for z < 0: there e must be exp(-|z|) = exp(z), "
          "not exp(-z)"), lambda z: act.sigmoid(np.abs(z))),
    ),
)


# --- Exercise 2: the derivative of the sigmoid ------------------------------------------


def _sigmoid_fd(z: np.ndarray) -> np.ndarray:
    return _central_difference(act.sigmoid, z)


sigmoid_grad = StrictExercise(
    name="sigmoid_grad",
    chapter=2,
    section=SECTION_SIGMOID_TANH,
    make_cases=_sigmoid_cases,
    references=[("nnlab.activations.sigmoid_grad", act.sigmoid_grad),
                ("central differences of nnlab.activations.sigmoid", _sigmoid_fd)],
    hints=(
        ("Equation (ch2-sigmoid-grad) of the lesson: sigma'(z) = sigma(z) (1 - sigma(z)). "
         "The product is of sigma(z), not of z."),
        ("Compute s = sigma(z) first, in a way that does not overflow (your stable_sigmoid "
         "from exercise 1, or the same idea written again), then combine."),
        ("s = stable_sigmoid(z); return s * (1 - s). Differentiating 1 / (1 + exp(-z)) "
         "directly gives exp(-z) / (1 + exp(-z))**2, which overflows at z = -1000."),
    ),
    diagnoses=(
        ("z (1 - z): sigma' = s (1 - s) must be evaluated at s = sigma(z), not at z",
         lambda z: z * (1 - z)),
        ("sigma(z) (1 + sigma(z)): the sign in sigma (1 - sigma) is wrong",
         lambda z: act.sigmoid(z) * (1 + act.sigmoid(z))),
        ("sigma(z): that is the function, not its derivative", act.sigmoid),
    ),
)


# --- Exercise 3: leaky ReLU backward -----------------------------------------------------

_LEAKY_SHAPES = [((5,), 0.01), ((3, 4), 0.2), ((2, 3, 4), 0.1), ((1, 6), 0.3), ((7, 2), 0.05)]


def _leaky_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, slope in _LEAKY_SHAPES:
        grad_out = rng.normal(size=shape)
        # Away from the kink at 0, where the derivative is a convention, not a limit.
        z = rng.normal(size=shape)
        z = np.where(np.abs(z) < 1e-3, 1e-3, z)
        cases.append(Case((grad_out, z, slope), ("grad_out", "z", "negative_slope")))
    return cases


def _leaky_reference(grad_out: np.ndarray, z: np.ndarray, negative_slope: float) -> np.ndarray:
    layer = act.LeakyReLU(negative_slope)
    layer(z)
    return layer.backward(grad_out)


def _leaky_fd(grad_out: np.ndarray, z: np.ndarray, negative_slope: float) -> np.ndarray:
    return grad_out * _central_difference(lambda v: act.leaky_relu(v, negative_slope), z)


leaky_relu_backward = StrictExercise(
    name="leaky_relu_backward",
    chapter=2,
    section=SECTION_RELU_GELU,
    make_cases=_leaky_cases,
    references=[("nnlab.LeakyReLU.backward", _leaky_reference),
                ("central differences of nnlab.activations.leaky_relu", _leaky_fd)],
    hints=(
        ("The backward pass of an elementwise activation is dL/dz = grad_out * phi'(z): "
         "the upstream gradient times the local derivative, entry by entry."),
        ("phi(z) = z for z > 0 and negative_slope * z otherwise, so phi'(z) is 1 where "
         "z > 0 and negative_slope where z <= 0. The side is decided by the sign of z, "
         "the layer's input."),
         "return grad_out * np.where(z > 0, 1.0, negative_slope)",
    ),
    diagnoses=(
        (("grad_out * (1 on the negative side, negative_slope on the positive side): the "
          "slope belongs to z <= 0"),
         lambda g, z, a: g * np.where(z > 0, a, 1.0)),
        ("phi'(z) alone: the backward pass must multiply by grad_out",
         lambda g, z, a: np.where(z > 0, 1.0, a)),
        ("ReLU's backward (0 for z <= 0): a leaky ReLU passes negative_slope * grad_out there",
         lambda g, z, a: g * (z > 0)),
        ("leaky_relu(grad_out): the side must be chosen by the sign of z, not of grad_out",
         lambda g, z, a: np.where(g > 0, g, a * g)),
        ("grad_out * leaky_relu(z): that multiplies by the function, not by its derivative",
         lambda g, z, a: g * act.leaky_relu(z, a)),
    ),
)


# --- Exercise 4: the derivative of GELU's tanh approximation ------------------------------

_K = math.sqrt(2 / math.pi)
_C = 0.044715


def _gelu_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((rng.normal(size=7),), ("z",)),
        Case((rng.normal(scale=2.0, size=(4, 3)),), ("z",)),
        Case((np.linspace(-6.0, 6.0, 13),), ("z",)),
        Case((rng.normal(scale=3.0, size=(2, 3, 4)),), ("z",)),
        Case((np.array([-50.0, -0.7, 0.0, 0.5, 50.0]),), ("z",)),
    ]


def _gelu_tanh_reference(z: np.ndarray) -> np.ndarray:
    return act.gelu_grad(z, approximate="tanh")


def _gelu_tanh_fd(z: np.ndarray) -> np.ndarray:
    return _central_difference(lambda v: act.gelu(v, approximate="tanh"), z)


def _tanh_u(z: np.ndarray) -> np.ndarray:
    return np.tanh(_K * (z + _C * z**3))


gelu_tanh_grad = StrictExercise(
    name="gelu_tanh_grad",
    chapter=2,
    section=SECTION_RELU_GELU,
    make_cases=_gelu_cases,
    references=[("nnlab.activations.gelu_grad(z, approximate='tanh')", _gelu_tanh_reference),
                ("central differences of nnlab.activations.gelu(z, approximate='tanh')",
                 _gelu_tanh_fd)],
    hints=(
        ("g(z) = z * (1 + tanh(u)) / 2 with u = sqrt(2/pi) (z + 0.044715 z^3) is a product "
         "of z and (1 + tanh(u)) / 2: use the product rule."),
        ("d/dz tanh(u) = (1 - tanh(u)^2) du/dz by the chain rule, and "
         "du/dz = sqrt(2/pi) (1 + 3 * 0.044715 z^2)."),
         "t = np.tanh(u); return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * du_dz",
    ),
    diagnoses=(
        (("(1 + tanh(u)) / 2 only: the product rule has a second term, z times the derivative "
          "of (1 + tanh(u)) / 2"), lambda z: 0.5 * (1 + _tanh_u(z))),
        ("the derivative without du/dz: by the chain rule, tanh(u)' = (1 - tanh(u)^2) du/dz",
         lambda z: 0.5 * (1 + _tanh_u(z)) + 0.5 * z * (1 - _tanh_u(z) ** 2)),
        ("the derivative with (1 - tanh(u)) instead of (1 - tanh(u)^2)",
         lambda z: 0.5 * (1 + _tanh_u(z))
         + 0.5 * z * (1 - _tanh_u(z)) * _K * (1 + 3 * _C * z**2)),
        (("the derivative with du/dz = sqrt(2/pi) (1 + 0.044715 z^2): the derivative of z^3 "
          "is 3 z^2"),
         lambda z: 0.5 * (1 + _tanh_u(z))
         + 0.5 * z * (1 - _tanh_u(z) ** 2) * _K * (1 + _C * z**2)),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in (stable_sigmoid, sigmoid_grad, leaky_relu_backward, gelu_tanh_grad)
}
