"""Chapter 2's graded exercises: reference solutions pass, catalogued bugs fail with a
message naming the bug, floating-point warnings count as errors in check and grade alike."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from student_bugs import catalogue, compile_bug

from nnlab import exercises
from nnlab.exercises import ch02

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/02_activations/graded.ipynb"
LESSON = ROOT / "book/02_activations/lesson.ipynb"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    namespace: dict = {"np": np}
    for cell in _cells(GRADED):
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)  # noqa: S102 - our own notebook
    return {name: namespace[name] for name in ch02.EXERCISES}


SOLUTIONS = reference_solutions()
NAIVE = compile_bug(catalogue("ch02")["stable_sigmoid"][0], "stable_sigmoid")


@pytest.mark.parametrize("name", sorted(ch02.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch02.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


def _bugs():
    for name, bugs in catalogue("ch02").items():
        for bug in bugs:
            yield pytest.param(name, bug, id=f"{name}: {bug.name}")


@pytest.mark.parametrize("name, bug", _bugs())
def test_each_catalogued_bug_fails_with_a_message_that_points_at_it(name, bug):
    exercise = ch02.EXERCISES[name]
    with pytest.raises(AssertionError) as info:
        exercise.check(compile_bug(bug, name))
    message = str(info.value)
    assert re.search(bug.symptom, message), message
    assert message.endswith(f"Re-read chapter 2, section '{exercise.section}'.")


def test_every_exercise_has_at_least_three_catalogued_bugs():
    bugs = catalogue("ch02")
    assert set(bugs) == set(ch02.EXERCISES)
    assert all(len(b) >= 3 for b in bugs.values())


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
    strict = ch02.stable_sigmoid.strict(lambda z: np.exp(-np.abs(z)))
    np.testing.assert_array_equal(strict(np.array([1000.0])), [0.0])


def test_a_right_answer_with_a_different_error_is_not_misdiagnosed():
    def stable_sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)) + 1e-3

    with pytest.raises(AssertionError) as info:
        ch02.stable_sigmoid.check(stable_sigmoid)
    assert "Your result equals" not in str(info.value)


def test_cases_reach_the_extremes_and_cover_several_shapes():
    for exercise in ch02.EXERCISES.values():
        cases = exercise.cases()
        assert len(cases) >= 4
        assert len({c.describe() for c in cases}) == len(cases), exercise.name
    extremes = np.concatenate([c.args[0].ravel() for c in ch02.stable_sigmoid.cases()])
    assert extremes.min() == -1000.0 and extremes.max() == 1000.0


def test_sections_named_by_the_checks_exist_in_the_lesson():
    headings = set()
    for cell in _cells(LESSON):
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch02.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))


def test_graded_notebook_checks_and_grades_every_exercise_strictly():
    sources = ["".join(c["source"]) for c in _cells(GRADED)
               if c["metadata"].get("nbgrader", {}).get("grade")]
    for name in ch02.EXERCISES:
        cell = next(s for s in sources if f"ch02.{name}.check({name})" in s)
        # No wrapper made in the student's kernel: the runner applies the policy itself.
        assert f'_grade("ch02.{name}", {name})' in cell


# --- the isolated grader ---------------------------------------------------------------


def test_grade_passes_the_reference_in_a_separate_process(capsys):
    exercises.grade("ch02.stable_sigmoid", SOLUTIONS["stable_sigmoid"])
    assert capsys.readouterr().out.startswith("✓ stable_sigmoid: passed the hidden tests")


def test_grade_fails_the_naive_sigmoid_in_a_separate_process():
    # The runner, which imports no nnlab, raises on the overflow itself, and the judge
    # adds the advice the notebook's check gives.
    with pytest.raises(AssertionError, match=r"(?s)raised FloatingPointError: overflow encountered in exp.*exp\(-\|z\|\)"):
        exercises.grade("ch02.stable_sigmoid", NAIVE)


def test_grade_names_the_bug_too():
    bug = catalogue("ch02")["leaky_relu_backward"][0]
    with pytest.raises(AssertionError, match=re.escape(bug.symptom.replace("\\", "")[:40])):
        exercises.grade("ch02.leaky_relu_backward", compile_bug(bug, "leaky_relu_backward"))
