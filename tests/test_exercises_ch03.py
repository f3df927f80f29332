"""Chapter 3's graded exercises: reference solutions pass (in the kernel and isolated),
every catalogued bug fails (tests/test_exercises.py runs the catalogue), the likely-cause
diagnoses are right, and the checks really exercise the numerically hard inputs."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from student_bugs import catalogue, compile_bug

import nnlab.exercises as exercises
from nnlab.exercises import ch03
from nnlab.exercises._core import Outcome

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/03_losses/graded.ipynb"
LESSON = ROOT / "book/03_losses/lesson.ipynb"


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    namespace: dict = {"np": np}
    for cell in json.loads(GRADED.read_text())["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return {name: namespace[name] for name in ch03.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch03.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch03.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(ch03.EXERCISES))
def test_reference_solution_passes_the_isolated_grader(name, capsys):
    exercises.grade(f"ch03.{name}", SOLUTIONS[name])
    assert capsys.readouterr().out.startswith(f"✓ {name}: passed the hidden tests")


@pytest.mark.parametrize("name", sorted(ch03.EXERCISES))
def test_the_isolated_grader_gives_the_same_diagnosis(name):
    # The judge process rebuilds the exercise by name, so the diagnosis must survive that.
    bug = catalogue("ch03")[name][0]
    with pytest.raises(AssertionError) as info:
        exercises.grade(f"ch03.{name}", compile_bug(bug, name))
    assert re.search(bug.symptom, str(info.value)), str(info.value)


def test_every_exercise_has_at_least_three_bugs_and_each_bug_names_a_cause():
    bugs = catalogue("ch03")
    assert set(bugs) == set(ch03.EXERCISES)
    for name, catalogued in bugs.items():
        assert len(catalogued) >= 3, name
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


def test_cases_are_reproducible_and_cover_several_shapes():
    for exercise in ch03.EXERCISES.values():
        a, b = exercise.cases(), exercise.cases()
        assert len(a) >= 4
        for ca, cb in zip(a, b):
            for x, y in zip(ca.args, cb.args):
                np.testing.assert_array_equal(x, y)
        assert len({c.describe() for c in a}) == len(a), exercise.name


def test_hints_are_tiered_and_solutions_refused():
    for exercise in ch03.EXERCISES.values():
        assert len(exercise.hints) == 3
        with pytest.raises(RuntimeError, match="graded exercise"):
            exercise.solution()


def test_sections_named_by_the_checks_exist_in_the_lesson():
    if not LESSON.exists():
        pytest.skip("the chapter 3 lesson is not written yet")
    headings = set()
    for cell in json.loads(LESSON.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch03.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))
