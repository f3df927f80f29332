"""The exercise framework: one object per exercise, with ``check``, ``hint`` and ``solution``.

An :class:`Exercise` knows how to draw random inputs of several shapes, how to compute
the right answer with nnlab's own implementation, and how to say what is wrong with a
student's answer. The same object serves the student, who calls ``check(my_function)``
while working, and the grader, which runs the very same check in a clean process
(:mod:`nnlab.exercises._isolation`), so the feedback a student gets and the grade they
get can never disagree.

A check calls the student's function on every case, then compares each result with
every reference (nnlab's implementation and, for gradients, finite differences). The
first disagreement becomes an ``AssertionError`` that names the input shapes, what was
expected, what was received, and the section of the book to re-read. When the wrong
answer is a typical mistake (:meth:`Exercise.explain`), the message says which, on the line
before the section to re-read.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Exercise", "Case", "ValueCase", "Outcome", "call_safely", "compare", "describe_shape"]

# Tolerances for float64 answers computed in a different but equivalent order.
RTOL = 1e-6
ATOL = 1e-8


@dataclass(frozen=True)
class Case:
    """One set of arguments for the student's function, with a readable description.

    ``note`` says what is special about the input, e.g. "logits near +1000".
    """

    args: tuple[Any, ...]
    names: tuple[str, ...]
    note: str = ""

    def describe(self) -> str:
        """'X (4, 3), W (2, 3), b (2,)' - what a student needs to reproduce the input."""
        described = ", ".join(f"{n} {describe_shape(a)}" for n, a in zip(self.names, self.args))
        return f"{described} ({self.note})" if self.note else described


@dataclass(frozen=True)
class ValueCase(Case):
    """A case whose arrays are described by their shape and its other arguments by value.

    'w (3,), lr=0.1, shape=(300, 200)': for the numbers a student must see to reproduce
    the input (a learning rate, a seed, a shape given as an argument).
    """

    def describe(self) -> str:
        return ", ".join(f"{n} {describe_shape(a)}" if isinstance(a, np.ndarray) else f"{n}={a!r}"
                         for n, a in zip(self.names, self.args))


@dataclass(frozen=True)
class Outcome:
    """What one call of the student's function did: returned ``value`` or raised."""

    value: Any = None
    error_type: str | None = None
    error_message: str = ""

    @property
    def raised(self) -> bool:
        return self.error_type is not None


def describe_shape(x: Any) -> str:
    """The shape of an array as '(4, 3)', or the value of a small non-array."""
    if isinstance(x, np.ndarray):
        return str(tuple(x.shape))
    if isinstance(x, (list, tuple)) and len(x) <= 8:
        return repr(list(x)) if isinstance(x, list) else repr(x)
    return type(x).__name__


def _copy_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    # A student function that edits its input in place must not corrupt the reference.
    return tuple(a.copy() if isinstance(a, np.ndarray) else list(a) if isinstance(a, list) else a
                 for a in args)


def call_safely(fn: Callable[..., Any], args: tuple[Any, ...]) -> Outcome:
    """Call ``fn(*args)`` on copies of ``args``; record the result or the exception."""
    try:
        return Outcome(value=fn(*_copy_args(args)))
    except Exception as exc:  # the student's code may raise anything; we report it
        return Outcome(error_type=type(exc).__name__, error_message=str(exc)[:500])


def compare(expected: Any, got: Any, what: str = "the result",
            item_names: Sequence[str] = ()) -> str | None:
    """None if ``got`` matches ``expected``; otherwise one line saying how it differs.

    Arrays must agree in shape and, within ``RTOL``/``ATOL``, in value; tuples are
    compared element by element (``item_names`` names the items); integers exactly.
    """
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)):
            return f"{what} should be a tuple of {len(expected)} items; received {type(got).__name__}"
        if len(got) != len(expected):
            return f"{what} should have {len(expected)} items; received {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            label = f"{item_names[i]} (item {i} of {what})" if i < len(item_names) else f"item {i} of {what}"
            problem = compare(e, g, label)
            if problem:
                return problem
        return None
    if isinstance(expected, (int, np.integer)) and not isinstance(expected, bool):
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            if isinstance(got, (float, np.floating)) and float(got).is_integer():
                got = int(got)
            else:
                return f"{what} should be an int; received {type(got).__name__} ({got!r:.60})"
        if int(got) != int(expected):
            return f"{what}: expected {int(expected)}, received {int(got)}"
        return None
    expected = np.asarray(expected)
    if not isinstance(got, np.ndarray):
        if isinstance(got, (float, int, np.floating, np.integer)) and expected.ndim == 0:
            got = np.asarray(got)
        else:
            return (f"{what} should be a numpy array of shape {tuple(expected.shape)}; "
                    f"received {type(got).__name__}")
    if got.shape != expected.shape:
        return f"{what} has the wrong shape: expected {tuple(expected.shape)}, received {tuple(got.shape)}"
    if got.dtype.kind not in "fiu":
        return f"{what} should hold numbers; received dtype {got.dtype}"
    got = got.astype(np.float64)
    if not np.all(np.isfinite(got)):
        return f"{what} contains NaN or inf"
    err = np.abs(got - expected)
    bad = err > ATOL + RTOL * np.abs(expected)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {idx}" if idx else ""
        return (f"{what} has the right shape {tuple(expected.shape)} but wrong values: "
                f"{int(bad.sum())} of {bad.size} entries differ{where}, expected {expected[idx]:.6g}, "
                f"received {got[idx]:.6g} (largest difference {err.max():.3g})")
    return None


@dataclass
class Exercise:
    """A checkable exercise.

    Parameters
    ----------
    name : str
        The function the student writes, e.g. ``"linear_forward"``.
    chapter : int
        The chapter it belongs to; with ``section`` it says what to re-read.
    section : str
        The title of the section of the lesson that teaches it.
    make_cases : callable
        ``make_cases(rng) -> list[Case]``: inputs of several shapes, drawn from ``rng``.
    references : sequence of (label, callable)
        Independent ways to compute the right answer: nnlab's implementation first,
        then e.g. finite differences for a gradient. The answer must agree with all.
    hints : sequence of str
        Tiered hints, from a nudge to nearly the answer.
    graded : bool
        Graded exercises never reveal their solution.
    solution_code : str
        The solution shown by :meth:`solution` (practice exercises only).
    output_names : sequence of str
        Names of the items when the answer is a tuple, e.g. ``("W", "b")``.
    float_errors : {None, "raise"}
        With ``"raise"``, answers run under ``np.errstate(over=, invalid=, divide="raise")``,
        in the notebook and in the grader's runner alike, so an overflow that numpy would
        only warn about fails the check.
    diagnoses : sequence of (str, callable)
        Typical mistakes: ``(what it is, function computing it from the same arguments)``.
        A wrong answer that equals one of them is told what it is (see :meth:`explain`).
    note_format : str
        How the explanation of a wrong answer reads in the message, e.g. ``"Note: {}."``.
    """

    name: str
    chapter: int
    section: str
    make_cases: Callable[[np.random.Generator], list[Case]]
    references: Sequence[tuple[str, Callable[..., Any]]]
    hints: Sequence[str] = field(default_factory=tuple)
    graded: bool = True
    solution_code: str = ""
    output_names: Sequence[str] = ()
    float_errors: str | None = None
    diagnoses: Sequence[tuple[str, Callable[..., Any]]] = ()
    note_format: str = "Your result equals {}."

    @property
    def id(self) -> str:
        """'ch01.linear_forward': the name the grader uses."""
        return f"ch{self.chapter:02d}.{self.name}"

    @property
    def seed(self) -> int:
        # Stable across runs and machines (unlike hash()), so a grade is reproducible.
        return zlib.crc32(self.id.encode())

    def cases(self) -> list[Case]:
        """The inputs the check uses, the same every time."""
        return self.make_cases(np.random.default_rng(self.seed))

    def reread(self) -> str:
        return f"Re-read chapter {self.chapter}, section '{self.section}'."

    def expected(self, case: Case) -> Any:
        """The right answer on ``case``, by the first reference (nnlab's own)."""
        return self.references[0][1](*_copy_args(case.args))

    def explain(self, case: Case, got: Any) -> str | None:
        """What the wrong answer ``got`` on ``case`` is, if it is a typical mistake; else None.

        By default: the first of ``diagnoses`` whose function returns ``got`` on the same
        arguments. A chapter overrides this to recognise a mistake some other way (a
        constant factor, rows that do not sum to one, ...).
        """
        with np.errstate(all="ignore"):  # a typical mistake may well overflow
            for what, wrong in self.diagnoses:
                if compare(wrong(*_copy_args(case.args)), got) is None:
                    return what
        return None

    def _explanation_line(self, case: Case, got: Any) -> str:
        """The line :meth:`explain` adds to the message, or "" if it has nothing to say."""
        try:
            explanation = self.explain(case, got)
        except Exception:  # a malformed answer: the plain message says enough
            return ""
        return f"\n  {self.note_format.format(explanation)}" if explanation else ""

    def verdict(self, cases: Sequence[Case], outcomes: Sequence[Outcome]) -> str | None:
        """None if every outcome is right; otherwise the message that explains the first error."""
        for case, outcome in zip(cases, outcomes):
            if outcome.raised:
                if outcome.error_type == "NotImplementedError":
                    return (f"{self.name}: not attempted yet - replace `raise NotImplementedError()` "
                            f"with your code. {self.reread()}")
                return (f"{self.name} raised {outcome.error_type}: {outcome.error_message}\n"
                        f"  on input {case.describe()}.\n  {self.reread()}")
            for label, reference in self.references:
                expected = reference(*_copy_args(case.args))
                problem = compare(expected, outcome.value, item_names=self.output_names)
                if problem:
                    return (f"{self.name}: {problem}\n  on input {case.describe()}"
                            f" (compared with {label}).{self._explanation_line(case, outcome.value)}"
                            f"\n  {self.reread()}")
        return None

    def check(self, answer: Callable[..., Any]) -> None:
        """Run ``answer`` on fresh random inputs of several shapes; print ✓ or raise.

        Raises
        ------
        AssertionError
            Naming the input, what was expected and what was received, and the section
            to re-read; "not attempted yet" if ``answer`` raises NotImplementedError.
        """
        if not callable(answer):
            raise AssertionError(f"{self.name}: check expected your function; got {type(answer).__name__}")
        cases = self.cases()
        problem = self.verdict(cases, [call_safely(answer, c.args) for c in cases])
        if problem:
            raise AssertionError(problem)
        print(f"✓ {self.name}: passed ({len(cases)} random cases)")

    def hint(self, n: int = 1) -> None:
        """Print hint ``n`` (1 is a nudge; the last is nearly the answer)."""
        if not self.hints:
            print(f"{self.name} has no hints. {self.reread()}")
            return
        if not 1 <= n <= len(self.hints):
            raise ValueError(f"{self.name}.hint expected n in 1..{len(self.hints)}; got {n}")
        print(f"Hint {n}/{len(self.hints)} for {self.name}: {self.hints[n - 1]}")

    def solution(self) -> None:
        """Print the solution of a practice exercise; graded exercises refuse."""
        if self.graded:
            raise RuntimeError(
                f"{self.name} is a graded exercise: its solution is not available. "
                f"Use {self.name}.hint(1) .. hint({len(self.hints)}) and {self.reread()}"
            )
        print(self.solution_code)

    def __repr__(self) -> str:
        kind = "graded" if self.graded else "practice"
        return f"<{kind} exercise {self.id}: check(fn), hint(1..{len(self.hints)})>"
