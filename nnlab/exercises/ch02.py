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

import math
from collections.abc import Callable

import numpy as np

from nnlab import activations as act
from nnlab.exercises._core import Case, Exercise

__all__ = [
    "EXERCISES",
    "gelu_tanh_grad",
    "leaky_relu_backward",
    "silu_grad",
    "sigmoid_grad",
    "stable_sigmoid",
]

# Headings of book/02_activations/lesson.ipynb (tests/test_exercises_ch02.py keeps them in sync).
SECTION_STABLE = "A numerically stable sigmoid"
SECTION_SIGMOID_TANH = "Derivatives of the sigmoid and tanh"
SECTION_RELU_GELU = "Derivatives of ReLU, leaky ReLU and GELU"

# Central-difference step: error ~ step^2 * |f'''| + 1e-16 / step, about 1e-10 here.
_FD_STEP = 1e-6


_EXP_ADVICE = (
    "exp(x) overflows to inf for x > 709.78: make sure every exp in your code only ever "
    "sees arguments <= 0, e.g. exp(-|z|). Note that np.where(cond, a, b) computes BOTH a "
    "and b for every entry."
)


# Floating-point errors are errors here (``float_errors="raise"``: in the notebook and in the
# grader's runner alike); an overflow in exp gets this advice.
_STRICT = {"float_errors": "raise",
           "advice": ((r"raised FloatingPointError: overflow encountered in exp", _EXP_ADVICE),)}


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


stable_sigmoid = Exercise(
    **_STRICT,
    name="stable_sigmoid",
    chapter=2,
    section=SECTION_STABLE,
    make_cases=_sigmoid_cases,
    references=[("nnlab.activations.sigmoid", act.sigmoid)],
    hints=(
        ("σ(z) = 1/(1 + e^{−z}) is right mathematically, but e^{−z} overflows to ∞ for z < "
         "−709.78. Find a form of σ(z) in which the exponential only ever sees numbers ≤ 0."),
        ("The answer has the shape of z, entry by entry. Treat the entries with z ≥ 0 and "
         "those with z < 0 differently (a boolean mask of z's shape); if you compute both "
         "forms everywhere and then select, neither form may overflow anywhere."),
        ("With e = exp(−|z|) ∈ (0, 1]: σ(z) = 1/(1 + e) for z ≥ 0 and σ(z) = e/(1 + e) for z <"
         " 0 (multiply the numerator and the denominator of 1/(1 + e^{−z}) by e^{z})."),
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


sigmoid_grad = Exercise(
    **_STRICT,
    name="sigmoid_grad",
    chapter=2,
    section=SECTION_SIGMOID_TANH,
    make_cases=_sigmoid_cases,
    references=[("nnlab.activations.sigmoid_grad", act.sigmoid_grad),
                ("central differences of nnlab.activations.sigmoid", _sigmoid_fd)],
    hints=(
        ("Differentiate σ(z) = 1/(1 + e^{−z}) and write the result with σ(z) itself (equation "
         "(ch2-sigmoid-grad)): it is a function of σ(z), not of z."),
        ("Same shape as z. Compute s = σ(z) once, stably (your stable_sigmoid, or its idea "
         "again), then combine entrywise; a derivative written with (1 + e^{−z})² overflows at"
         " z = −1000."),
        'σ′(z) = σ(z) (1 − σ(z)).',
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


leaky_relu_backward = Exercise(
    **_STRICT,
    name="leaky_relu_backward",
    chapter=2,
    section=SECTION_RELU_GELU,
    make_cases=_leaky_cases,
    references=[("nnlab.LeakyReLU.backward", _leaky_reference),
                ("central differences of nnlab.activations.leaky_relu", _leaky_fd)],
    hints=(
        ("The backward pass of an entrywise activation multiplies the upstream gradient by the"
         " local derivative, entry by entry."),
        ("grad_out and z have the same shape, and so has the answer. The local derivative "
         "depends only on the sign of z, the layer's input (not of grad_out)."),
        ("∂ℒ/∂z_i = (∂ℒ/∂y_i) φ′(z_i), with φ′(z) = 1 for z > 0 and φ′(z) = α (negative_slope)"
         " for z ≤ 0."),
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


gelu_tanh_grad = Exercise(
    **_STRICT,
    name="gelu_tanh_grad",
    chapter=2,
    section=SECTION_RELU_GELU,
    make_cases=_gelu_cases,
    references=[("nnlab.activations.gelu_grad(z, approximate='tanh')", _gelu_tanh_reference),
                ("central differences of nnlab.activations.gelu(z, approximate='tanh')",
                 _gelu_tanh_fd)],
    hints=(
        ("g(z) = ½ z (1 + tanh u) with u = √(2/π) (z + 0.044715 z³) is a product of z and ½(1 "
         "+ tanh u): use the product rule, then the chain rule for tanh u."),
        ("Everything is entrywise: the answer has the shape of z. Compute u, t = tanh u and "
         "du/dz once, as arrays of z's shape."),
        ("g′(z) = ½ (1 + t) + ½ z (1 − t²) u′(z), with t = tanh u and u′(z) = √(2/π) (1 + 3 · "
         "0.044715 z²)."),
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



# --- Exercise 5: the derivative of SiLU (not in nnlab: derived from its formula) ---------------

def _silu_cases(rng: np.random.Generator) -> list[Case]:
    # GELU's inputs, and logits where a naive sigmoid overflows.
    return [*_gelu_cases(rng), Case((rng.permutation(_EXTREMES),), ("z",), note="|z| up to 1000")]


def _silu(z: np.ndarray) -> np.ndarray:
    return z * act.sigmoid(z)


def _silu_reference(z: np.ndarray) -> np.ndarray:
    s = act.sigmoid(z)
    return s * (1 + z * (1 - s))


def _silu_fd(z: np.ndarray) -> np.ndarray:
    return _central_difference(_silu, z)


silu_grad = Exercise(
    **_STRICT,
    name="silu_grad",
    chapter=2,
    section=SECTION_SIGMOID_TANH,
    make_cases=_silu_cases,
    references=[("sigma(z) (1 + z (1 - sigma(z))), with nnlab.activations.sigmoid", _silu_reference),
                ("central differences of z * nnlab.activations.sigmoid(z)", _silu_fd)],
    hints=(
        ("SiLU (also called swish) is silu(z) = z σ(z): a product of z and the sigmoid. "
         "Differentiate it with the product rule, and reuse what you know of σ′."),
        ("Entrywise: the answer has z's shape. Compute s = σ(z) once, stably (exercise 1's "
         "idea): the checks include z = ±50 and beyond, where a naive e^{−z} overflows."),
        ("silu′(z) = σ(z) + z σ′(z) = σ(z) + z σ(z)(1 − σ(z)) = σ(z) (1 + z (1 − σ(z)))."),
    ),
    diagnoses=(
        ("sigma(z) alone: the product rule has a second term, z sigma'(z)",
         lambda z: act.sigmoid(z)),
        ("z sigma'(z) alone: the product rule has a first term, sigma(z) (the derivative of z "
         "times sigma(z))", lambda z: z * act.sigmoid_grad(z)),
        ("sigma'(z) = sigma(z) (1 - sigma(z)): that is the sigmoid's derivative, not SiLU's",
         act.sigmoid_grad),
        ("silu(z) = z sigma(z): that is the function, not its derivative", _silu),
        ("sigma(z) (1 + z (1 + sigma(z))): the sign inside sigma' = sigma (1 - sigma) is wrong",
         lambda z: act.sigmoid(z) * (1 + z * (1 + act.sigmoid(z)))),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in (stable_sigmoid, sigmoid_grad, leaky_relu_backward, gelu_tanh_grad, silu_grad)
}
