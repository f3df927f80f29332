"""Chapter 6's graded exercises: the reference solutions pass, the two references agree,
the notes name the bug they explain and nothing else, and grading runs in isolation.
(The bug catalogue, tests/student_bugs/ch06.py, runs in tests/test_exercises.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from student_bugs import catalogue, compile_bug

from nnlab import exercises
from nnlab.exercises import ch06
from nnlab.exercises._core import _copy_args, compare
from nnlab.explore.ch06 import diagnose

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/06_vanishing_gradients/graded.ipynb"
LESSON = ROOT / "book/06_vanishing_gradients/lesson.ipynb"


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    nb = json.loads(GRADED.read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return {name: namespace[name] for name in ch06.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch06.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch06.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


@pytest.mark.parametrize("name", ["layer_gradient_norms", "sigmoid_jacobian"])
def test_nnlab_and_central_differences_agree_on_every_case(name):
    # The check demands agreement with both; if they disagreed, no answer could pass.
    exercise = ch06.EXERCISES[name]
    (_, nnlab_ref), (_, numerical_ref) = exercise.references
    for case in exercise.cases():
        expected = nnlab_ref(*_copy_args(case.args))
        assert compare(expected, numerical_ref(*_copy_args(case.args)),
                       item_names=exercise.output_names) is None, case.describe()


def test_the_exercise_rules_are_the_chapter_rules():
    # The verdicts the exercise demands are those the lesson and the explorer use, and
    # the cases cover every verdict.
    verdicts = set()
    for case in ch06.diagnose_gradients.cases():
        (norms,) = case.args
        assert ch06._diag_rules(norms) == diagnose(norms)
        verdicts.add(diagnose(norms)[1])
    assert verdicts == {"vanishing", "exploding", "healthy"}


def test_the_sigmoid_bound_holds_on_every_case():
    # ||J||_2 <= prod ||W_l||_2 / 4 (the bound of section 6.2), on the exercise's own inputs.
    for case in ch06.sigmoid_jacobian.cases():
        J, bound = ch06._jac_reference(*case.args)
        assert np.linalg.norm(J, 2) <= bound * (1 + 1e-12)


def test_a_note_is_added_only_when_it_explains_the_error():
    def shifted(X, y, weights, biases):
        return SOLUTIONS["layer_gradient_norms"](X, y, weights, biases) + 1.0

    with pytest.raises(AssertionError) as info:
        ch06.layer_gradient_norms.check(shifted)
    assert "Note:" not in str(info.value)

    def wrong_word(norms):
        ratio, _ = SOLUTIONS["diagnose_gradients"](norms)
        return ratio, "fine"

    with pytest.raises(AssertionError, match=r"expected 'vanishing', received 'fine'") as info:
        ch06.diagnose_gradients.check(wrong_word)
    assert "Note:" not in str(info.value)


def test_a_function_that_returns_the_wrong_kind_of_thing_is_told_so():
    with pytest.raises(AssertionError, match=r"should be a tuple \(ratio, verdict\); received str"):
        ch06.diagnose_gradients.check(lambda norms: "vanishing")
    with pytest.raises(AssertionError, match=r"raised ZeroDivisionError"):
        ch06.diagnose_gradients.check(lambda norms: 1 / 0)


def test_cases_are_reproducible_and_cover_several_shapes():
    for exercise in ch06.EXERCISES.values():
        a, b = exercise.cases(), exercise.cases()
        assert len(a) >= 4
        for ca, cb in zip(a, b):
            for x, y in zip(ca.args, cb.args):
                for u, v in zip(x if isinstance(x, list) else [x], y if isinstance(y, list) else [y]):
                    np.testing.assert_array_equal(u, v)
        assert len({c.describe() for c in a}) == len(a), exercise.name
    # Lists of weights are described by their shapes, never printed whole.
    described = ch06.layer_gradient_norms.cases()[0].describe()
    assert described == "X (6, 4), y (6,), weights [(5, 4), (3, 5)], biases [(5,), (3,)]"


def test_graded_solutions_are_refused_and_hints_are_tiered(capsys):
    for exercise in ch06.EXERCISES.values():
        assert len(exercise.hints) == 3
        with pytest.raises(RuntimeError, match="graded exercise"):
            exercise.solution()
    ch06.sigmoid_jacobian.hint(3)
    assert "np.linalg.norm(W_l, 2)" in capsys.readouterr().out


def test_sections_named_by_the_checks_exist_in_the_lesson():
    headings = set()
    for cell in json.loads(LESSON.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch06.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))


def test_graded_notebook_checks_every_exercise_and_grades_it_in_isolation():
    nb = json.loads(GRADED.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade")]
    for name in ch06.EXERCISES:
        assert any(f"ch06.{name}.check({name})" in s and f'_grade("ch06.{name}", {name})' in s
                   for s in sources), name


def test_grade_runs_the_same_check_in_a_separate_process(capsys):
    exercises.grade("ch06.sigmoid_jacobian", SOLUTIONS["sigmoid_jacobian"])
    assert capsys.readouterr().out.startswith("✓ sigmoid_jacobian: passed the hidden tests")
    bugs = catalogue("ch06")
    with pytest.raises(AssertionError, match=r"Note: your norms are the right ones in reverse order"):
        exercises.grade("ch06.layer_gradient_norms",
                        compile_bug(bugs["layer_gradient_norms"][1], "layer_gradient_norms"))
    with pytest.raises(AssertionError, match=r"expected 'vanishing', received 'healthy'"):
        exercises.grade("ch06.diagnose_gradients",
                        compile_bug(bugs["diagnose_gradients"][1], "diagnose_gradients"))
