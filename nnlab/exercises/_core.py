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

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlab.exercises._wire import FORBIDDEN_ERROR, NUMPY_ONLY, ImportGuard, forbidden_use

__all__ = ["Exercise", "Case", "Outcome", "call_safely", "compare", "describe_argument", "describe_shape",
           "same"]

# Tolerances for float64 answers computed in a different but equivalent order.
RTOL = 1e-6
ATOL = 1e-8


@dataclass(frozen=True)
class Case:
    """One set of arguments for the student's function, with a readable description.

    ``note`` says what is special about the input, e.g. "logits near +1000";
    ``by_value`` names the arguments a student must see by value to reproduce the input
    (a curve of losses, a short vector of norms); other arrays are described by shape,
    lists of arrays by their shapes, and numbers, words and short tuples by value.
    """

    args: tuple[Any, ...]
    names: tuple[str, ...]
    note: str = ""
    by_value: tuple[str, ...] = ()

    def describe(self) -> str:
        """'X (4, 3), W (2, 3), lr=0.1' - what a student needs to reproduce the input."""
        described = ", ".join(describe_argument(n, a, n in self.by_value)
                              for n, a in zip(self.names, self.args))
        return f"{described} ({self.note})" if self.note else described


@dataclass(frozen=True)
class Outcome:
    """What one call of the student's function did: returned ``value`` or raised."""

    value: Any = None
    error_type: str | None = None
    error_message: str = ""

    @property
    def raised(self) -> bool:
        return self.error_type is not None


def describe_argument(name: str, x: Any, by_value: bool = False) -> str:
    """How one argument reads in a message: 'X (4, 3)', 'lr=0.1', 'weights [(5, 4), (3, 5)]'."""
    if isinstance(x, np.ndarray):
        if not by_value:
            return f"{name} {tuple(x.shape)}"
        values = [f"{v:.4g}" for v in np.ravel(x)]
        if len(values) > 8:
            values = [*values[:4], f"... ({x.size} values)", *values[-2:]]
        return f"{name} [{', '.join(values)}]"
    if isinstance(x, list) and x and all(isinstance(a, np.ndarray) for a in x):
        return f"{name} [{', '.join(str(tuple(a.shape)) for a in x)}]"
    if isinstance(x, (float, np.floating)) and not isinstance(x, bool):
        return f"{name}={float(x):.6g}"
    if isinstance(x, (bool, int, str, np.integer)) or (isinstance(x, (list, tuple)) and len(x) <= 8):
        return f"{name}={x!r}"
    return f"{name} {describe_shape(x)}"


def describe_shape(x: Any) -> str:
    """The shape of an array as '(4, 3)', or the value of a small non-array."""
    if isinstance(x, np.ndarray):
        return str(tuple(x.shape))
    if isinstance(x, (list, tuple)) and len(x) <= 8:
        return repr(list(x)) if isinstance(x, list) else repr(x)
    return type(x).__name__


def _copy_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    # A student function that edits its input in place must not corrupt the reference.
    return tuple(a.copy() if isinstance(a, np.ndarray)
                 else [x.copy() if isinstance(x, np.ndarray) else x for x in a] if isinstance(a, list)
                 else a for a in args)


def call_safely(fn: Callable[..., Any], args: tuple[Any, ...], *, float_errors: str | None = None,
                scrub: bool = True) -> Outcome:
    """Call ``fn(*args)`` on copies of ``args`` under the numpy-only policy; record what happened.

    While ``fn`` runs, only numpy and the standard library can be imported
    (:class:`~nnlab.exercises._wire.ImportGuard`; ``scrub=False`` when the exercise itself
    passes nnlab objects in). With ``float_errors="raise"``, numpy's overflow, invalid and
    divide warnings are errors, as in the grader's runner.
    """
    errstate = {"over": "raise", "invalid": "raise", "divide": "raise"} if float_errors == "raise" else {}
    guard = ImportGuard(scrub=scrub)
    try:
        with guard, np.errstate(**errstate):
            outcome = Outcome(value=fn(*_copy_args(args)))
    except Exception as exc:  # the student's code may raise anything; we report it
        outcome = Outcome(error_type=type(exc).__name__, error_message=str(exc)[:500])
    if guard.forbidden:
        return Outcome(error_type=FORBIDDEN_ERROR, error_message=guard.forbidden)
    return outcome


def same(expected: Any, got: Any) -> bool:
    """``got`` equals ``expected`` within the tolerances of :func:`compare`."""
    try:
        return compare(expected, got) is None
    except Exception:  # a malformed answer is not the same
        return False


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
    """A checkable exercise, declared in its chapter file (no subclassing: every variation is a field).

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
        ``check`` draws them from a fixed seed; the grader from a seed drawn when it grades.
    references : sequence of (label, callable)
        Independent ways to compute the right answer: nnlab's implementation first,
        then e.g. finite differences for a gradient. The answer must agree with all.
    hints : sequence of str
        Tiered hints: the idea, then the shape bookkeeping, then the formula in
        mathematics (never a line of the solution: tests/test_exercises.py checks).
    graded : bool
        Graded exercises never reveal their solution.
    solution_code : str
        The solution shown by :meth:`solution` (practice exercises only).
    output_names : sequence of str
        Names of the items when the answer is a tuple, e.g. ``("W", "b")``.
    float_errors : {None, "raise"}
        With ``"raise"``, answers run under ``np.errstate(over=, invalid=, divide="raise")``,
        in the notebook and in the grader's runner alike.
    diagnoses : sequence of (str, callable)
        Typical mistakes: ``(what it is, function computing it from the same arguments)``.
        A wrong answer that equals one of them is told what it is.
    diagnose : callable, optional
        ``diagnose(args, got) -> str | None``: a typical mistake recognised some other way
        (a constant factor, a transposed result, ...). Tried before ``diagnoses``.
    note_format : str
        How a recognised mistake reads in the message, e.g. ``"Likely cause: {}."``.
    judge : callable, optional
        ``judge(case, got) -> str | None``: replaces the comparison with ``references``
        (a random draw judged by its statistics, a word compared as a word).
    judge_all : callable, optional
        ``judge_all(cases, answers) -> str | None``: a property of all answers together,
        once each is right (e.g. the same seed gives the same draw).
    unpack : callable, optional
        ``unpack(got)`` -> the part of the answer judged; raises ``ValueError(message)``
        when the answer is malformed (e.g. ``(out, cache)`` where only ``out`` is judged).
    advice : sequence of (str, str)
        ``(regular expression, advice)``: the advice is added to a message that matches.
    wrap : callable, optional
        ``wrap(fn)`` -> what is called on each case's arguments, for exercises whose
        function takes nnlab objects (chapter 5's training loop): the wrapper, defined in
        ``nnlab.exercises``, builds them from plain arrays. Applied by ``check`` and by the
        grader's runner alike.
    allowed : sequence of str
        Qualified names from forbidden packages the student may use, e.g.
        ``"nnlab.data.batches"``. Everything else outside numpy and the standard library
        is refused (see :mod:`nnlab.exercises._wire`).
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
    diagnose: Callable[[tuple[Any, ...], Any], str | None] | None = None
    note_format: str = "Your result equals {}."
    judge: Callable[[Case, Any], str | None] | None = None
    judge_all: Callable[[Sequence[Case], Sequence[Any]], str | None] | None = None
    unpack: Callable[[Any], Any] | None = None
    advice: Sequence[tuple[str, str]] = ()
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None
    allowed: Sequence[str] = ()

    @property
    def id(self) -> str:
        """'ch01.linear_forward': the name the grader uses."""
        return f"ch{self.chapter:02d}.{self.name}"

    @property
    def seed(self) -> int:
        """The seed of the cases ``check`` shows (stable across runs and machines, unlike hash())."""
        return zlib.crc32(self.id.encode())

    def cases(self, seed: int | None = None) -> list[Case]:
        """The inputs: ``check``'s (the same every time) or, given a grading ``seed``, the grader's.

        The grader's seed is drawn when it grades (:func:`nnlab.exercises.grade`), so the
        kernel cannot know the graded cases; a grade is reproduced by passing its seed.
        """
        if seed is None:
            return self.make_cases(np.random.default_rng(self.seed))
        return self.make_cases(np.random.default_rng([int(seed), self.seed]))

    def reread(self) -> str:
        return f"Re-read chapter {self.chapter}, section '{self.section}'."

    def expected(self, case: Case) -> Any:
        """The right answer on ``case``, by the first reference (nnlab's own)."""
        return self.references[0][1](*_copy_args(case.args))

    def explain(self, case: Case, got: Any) -> str | None:
        """What the wrong answer ``got`` on ``case`` is, if it is a typical mistake; else None."""
        with np.errstate(all="ignore"):  # a typical mistake may well overflow
            if self.diagnose is not None:
                what = self.diagnose(_copy_args(case.args), got)
                if what:
                    return what
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

    def forbidden_message(self, used: str) -> str:
        """The message of an answer that reached outside numpy and the standard library."""
        return (f"{self.name}: your function uses {used}; {NUMPY_ONLY}. Only your own code earns "
                f"points: write the computation yourself (this exercise scores 0 as it stands).\n"
                f"  {self.reread()}")

    def _advise(self, message: str) -> str:
        lines = [advice for pattern, advice in self.advice if re.search(pattern, message)]
        if not lines:
            return message
        head, sep, tail = message.rpartition("\n  Re-read")
        return "".join([head, *(f"\n  {line}" for line in lines), sep, tail])

    def _raised(self, case: Case, outcome: Outcome) -> str:
        if outcome.error_type == FORBIDDEN_ERROR:
            return self.forbidden_message(outcome.error_message)
        if outcome.error_type == "NotImplementedError":
            return (f"{self.name}: not attempted yet - replace `raise NotImplementedError()` "
                    f"with your code. {self.reread()}")
        detail = ""
        if outcome.error_type == "FloatingPointError" and self.float_errors == "raise":
            arrays = [a for a in case.args if isinstance(a, np.ndarray) and a.size and a.dtype.kind in "fiu"]
            span = (f" The input holds values from {min(float(a.min()) for a in arrays):g} to "
                    f"{max(float(a.max()) for a in arrays):g}.") if arrays else ""
            detail = (" (numpy would only print a RuntimeWarning; this check treats it as an "
                      f"error).{span}")
        first = f"{self.name} raised {outcome.error_type}: {outcome.error_message}{detail}"
        advice = "".join(f" {line}" for pattern, line in self.advice if re.search(pattern, first))
        return f"{first}{advice}\n  on input {case.describe()}.\n  {self.reread()}"

    def verdict(self, cases: Sequence[Case], outcomes: Sequence[Outcome]) -> str | None:
        """None if every outcome is right; otherwise the message that explains the first error."""
        answers = []
        for case, outcome in zip(cases, outcomes):
            if outcome.raised:
                return self._raised(case, outcome)
            got = outcome.value
            if self.unpack is not None:
                try:
                    got = self.unpack(got)
                except ValueError as exc:
                    return f"{self.name}: {exc}.\n  {self.reread()}"
            answers.append(got)
            if self.judge is not None:
                problem = self.judge(case, got)
                if problem:
                    return self._advise(f"{self.name}: {problem}\n  on input {case.describe()}."
                                        f"{self._explanation_line(case, got)}\n  {self.reread()}")
                continue
            # The first reference (nnlab's own) defines the right answer. The others (central
            # differences, a second derivation) are witnesses that it is right, checked by the
            # tests over many grading seeds; a witness's own error (a finite difference that
            # straddles a kink) must never cost a student the points.
            for label, reference in self.references[:1]:
                expected = reference(*_copy_args(case.args))
                problem = compare(expected, got, item_names=self.output_names)
                if problem:
                    return self._advise(f"{self.name}: {problem}\n  on input {case.describe()}"
                                        f" (compared with {label}).{self._explanation_line(case, got)}"
                                        f"\n  {self.reread()}")
        if self.judge_all is not None:
            problem = self.judge_all(cases, answers)
            if problem:
                return f"{self.name}: {problem}\n  {self.reread()}"
        return None

    def run(self, answer: Callable[..., Any], cases: Sequence[Case]) -> list[Outcome]:
        """The outcomes of ``answer`` on ``cases``, in this process, under the numpy-only policy."""
        call = self.wrap(answer) if self.wrap is not None else answer
        return [call_safely(call, c.args, float_errors=self.float_errors, scrub=self.wrap is None)
                for c in cases]

    def check(self, answer: Callable[..., Any]) -> None:
        """Run ``answer`` on random inputs of several shapes; print ✓ or raise.

        The same policy as the grader: the function may use numpy and the standard
        library, and nothing of nnlab (except what the exercise passes in), torch, jax,
        tensorflow, scipy, scikit-learn or autograd.

        Raises
        ------
        AssertionError
            Naming the input, what was expected and what was received, and the section
            to re-read; "not attempted yet" if ``answer`` raises NotImplementedError.
        """
        if not callable(answer):
            raise AssertionError(f"{self.name}: check expected your function; got {type(answer).__name__}")
        used = forbidden_use(answer, tuple(self.allowed))
        if used:
            raise AssertionError(self.forbidden_message(used))
        cases = self.cases()
        problem = self.verdict(cases, self.run(answer, cases))
        if problem:
            raise AssertionError(problem)
        print(f"✓ {self.name}: passed ({len(cases)} random cases)")

    def hint(self, n: int = 1) -> None:
        """Print hint ``n``: 1 the idea, 2 the shapes, 3 the formula in mathematics.

        The hint stays in the cell's output, so an instructor reading the submission sees
        which hints were asked for (book/instructors.md).
        """
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
