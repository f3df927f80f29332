"""Chapter 2's graded exercises: floating-point warnings count as errors in check and grade
alike, and the cases reach the extremes. (What every chapter shares, reference solutions,
the bug catalogue, the notebook's wiring and isolated grading, is in tests/test_exercises.py.)"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from exercise_support import reference_solutions
from student_bugs import catalogue, compile_bug

from nnlab import exercises
from nnlab.exercises import ch02
from nnlab.exercises._core import call_safely

SOLUTIONS = reference_solutions("ch02")
NAIVE = compile_bug(catalogue("ch02")["stable_sigmoid"][0], "stable_sigmoid")


def test_the_naive_sigmoid_gives_the_right_numbers_and_only_a_warning():
    # Why the check must turn warnings into errors: the values alone would pass.
    z = np.array([-1000.0, 0.0, 1000.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = NAIVE(z)
    np.testing.assert_array_equal(values, [0.0, 0.5, 1.0])
    assert any("overflow encountered in exp" in str(w.message) for w in caught)


def test_strict_leaves_numpy_error_state_as_it_was():
    before = np.geterr()
    ch02.stable_sigmoid.check(SOLUTIONS["stable_sigmoid"])
    with pytest.raises(AssertionError):
        ch02.stable_sigmoid.check(NAIVE)
    assert np.geterr() == before


def test_underflow_is_not_an_error():
    # exp(-1000) underflows to 0 in any stable sigmoid; only overflow, invalid and
    # division by zero are mistakes.
    outcome = call_safely(lambda z: np.exp(-np.abs(z)), (np.array([1000.0]),), float_errors="raise")
    assert not outcome.raised
    np.testing.assert_array_equal(outcome.value, [0.0])


def test_a_right_answer_with_a_different_error_is_not_misdiagnosed():
    def stable_sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)) + 1e-3

    with pytest.raises(AssertionError) as info:
        ch02.stable_sigmoid.check(stable_sigmoid)
    assert "Your result equals" not in str(info.value)


def test_sigmoid_cases_reach_the_extremes():
    extremes = np.concatenate([c.args[0].ravel() for c in ch02.stable_sigmoid.cases()])
    assert extremes.min() == -1000.0 and extremes.max() == 1000.0


# --- the isolated grader ---------------------------------------------------------------


def test_grade_fails_the_naive_sigmoid_in_a_separate_process():
    # The runner, which imports no nnlab, raises on the overflow itself, and the judge
    # adds the advice the notebook's check gives.
    with pytest.raises(AssertionError, match=r"(?s)raised FloatingPointError: overflow encountered in exp.*exp\(-\|z\|\)"):
        exercises.grade("ch02.stable_sigmoid", NAIVE)


