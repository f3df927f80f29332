"""Chapter 4's graded exercises: the reference solutions pass, every catalogued bug fails
with a message that points at it, and the two references (nnlab, central differences) agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import nnlab.exercises as exercises
from nnlab.exercises import ch04
from nnlab.exercises._core import _copy_args, compare
from student_bugs import catalogue, compile_bug

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/04_backprop/graded.ipynb"
LESSON = ROOT / "book/04_backprop/lesson.ipynb"


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    nb = json.loads(GRADED.read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return {name: namespace[name] for name in ch04.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch04.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch04.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(ch04.EXERCISES))
def test_nnlab_and_central_differences_agree_on_every_case(name):
    # The check demands agreement with both; if they disagreed, no answer could pass.
    exercise = ch04.EXERCISES[name]
    (_, nnlab_ref), (_, numerical_ref) = exercise.references
    for case in exercise.cases():
        expected = nnlab_ref(*_copy_args(case.args))
        assert compare(expected, numerical_ref(*_copy_args(case.args)),
                       item_names=exercise.output_names) is None, case.describe()


def test_relu_inputs_stay_away_from_the_kink():
    # Central differences straddling a ReLU kink would be wrong; the cases keep |Z1| > eps.
    for case in ch04.mlp_backward.cases():
        X, _, W1, b1 = case.args[:4]
        assert np.abs(X @ W1.T + b1).min() > 1e-3


# The bug catalogue (tests/student_bugs/ch04.py) runs in tests/test_exercises.py, where ch04 is
# registered in CHAPTERS like every chapter.


def test_a_constant_factor_is_named_only_when_it_explains_the_error():
    def linear_backward(X, W, G):
        return G @ W, -(G.T @ X), G.sum(axis=0)

    with pytest.raises(AssertionError, match=r"every entry of dW is -1 times the right one"):
        ch04.linear_backward.check(linear_backward)

    def shifted(X, W, G):
        return G @ W, G.T @ X + 1.0, G.sum(axis=0)

    with pytest.raises(AssertionError) as info:
        ch04.linear_backward.check(shifted)
    assert "times the right one" not in str(info.value)


def test_cases_are_reproducible_and_cover_several_shapes():
    for exercise in ch04.EXERCISES.values():
        a, b = exercise.cases(), exercise.cases()
        assert len(a) >= 4
        for ca, cb in zip(a, b):
            for x, y in zip(ca.args, cb.args):
                np.testing.assert_array_equal(x, y)
        assert len({c.describe() for c in a}) == len(a), exercise.name


def test_graded_solutions_are_refused_and_hints_are_tiered(capsys):
    for exercise in ch04.EXERCISES.values():
        assert len(exercise.hints) == 3
        with pytest.raises(RuntimeError, match="graded exercise"):
            exercise.solution()
    ch04.mlp_backward.hint(3)
    assert "(Z1 > 0)" in capsys.readouterr().out


def test_sections_named_by_the_checks_exist_in_the_lesson():
    headings = set()
    for cell in json.loads(LESSON.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch04.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))


def test_graded_notebook_checks_every_exercise_and_grades_it_in_isolation():
    nb = json.loads(GRADED.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade")]
    for name in ch04.EXERCISES:
        assert any(f"ch04.{name}.check({name})" in s and f'_grade("ch04.{name}", {name})' in s
                   for s in sources), name


def test_grade_runs_the_same_check_in_a_separate_process(capsys):
    exercises.grade("ch04.sigmoid_delta", SOLUTIONS["sigmoid_delta"])
    assert capsys.readouterr().out.startswith("✓ sigmoid_delta: passed the hidden tests")
    with pytest.raises(AssertionError, match=r"every entry of dW1 is 8 times the right one"):
        exercises.grade("ch04.mlp_backward",
                        compile_bug(catalogue("ch04")["mlp_backward"][1], "mlp_backward"))
