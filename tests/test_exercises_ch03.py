"""Chapter 3's graded exercises: the likely-cause diagnoses are right, and the checks really
exercise the numerically hard inputs. (Reference solutions, the bug catalogue and isolated
grading of every exercise: tests/test_exercises.py.)"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from exercise_support import reference_solutions
from student_bugs import catalogue, compile_bug

from nnlab.exercises import ch03
from nnlab.exercises._core import Outcome

SOLUTIONS = reference_solutions("ch03")


def test_each_catalogued_bug_names_a_likely_cause():
    for name, catalogued in catalogue("ch03").items():
        for bug in catalogued:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the overflow bugs overflow
                with pytest.raises(AssertionError) as info:
                    ch03.EXERCISES[name].check(compile_bug(bug, name))
            assert "Likely cause: " in str(info.value), (bug.name, str(info.value))


def test_checks_include_logits_that_break_the_naive_formulas():
    # Without these cases the stability the chapter teaches would go ungraded.
    def naive_log_softmax(Z):
        return np.log(np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True))

    with np.errstate(all="ignore"):
        outcomes = [Outcome(value=naive_log_softmax(c.args[0])) for c in ch03.log_softmax.cases()]
    assert any(not np.all(np.isfinite(o.value)) for o in outcomes)
    large = [c for c in ch03.bce_with_logits.cases() if np.abs(c.args[0]).max() >= 700]
    assert large, "no BCE case overflows exp(-z)"


def test_cross_entropy_cases_never_have_square_logits():
    # N == C would let a softmax over the wrong axis pass by symmetry on that case.
    for case in ch03.cross_entropy_grad.cases():
        n, c = case.args[0].shape
        assert n != c


def test_a_right_answer_is_never_given_a_likely_cause():
    for name, exercise in ch03.EXERCISES.items():
        for case in exercise.cases():
            assert exercise.diagnose(case.args, SOLUTIONS[name](*case.args)) is None, name


def test_a_wrong_type_gets_the_plain_message_without_a_crash():
    with pytest.raises(AssertionError, match=r"should be a numpy array of shape \(4, 3\); received list"):
        ch03.log_softmax.check(lambda Z: Z.tolist())
    with pytest.raises(AssertionError, match=r"should be a tuple of 2 items; received float"):
        ch03.bce_with_logits.check(lambda z, y: 0.0)


