"""Chapter 10's graded exercises: the reference solutions pass, the two references agree,
the notes name the bug they explain and nothing else, and grading runs in isolation.
(The bug catalogue, tests/student_bugs/ch10.py, runs in tests/test_exercises.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import nnlab
from nnlab import exercises
from nnlab.exercises import ch10
from nnlab.exercises._core import _copy_args, compare

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/10_capacity/graded.ipynb"
LESSON = ROOT / "book/10_capacity/lesson.ipynb"


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    nb = json.loads(GRADED.read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return {name: namespace[name] for name in ch10.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch10.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch10.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(ch10.EXERCISES))
def test_the_two_references_agree_on_every_case(name):
    # The check demands agreement with both; if they disagreed, no answer could pass.
    exercise = ch10.EXERCISES[name]
    (_, first), (_, second) = exercise.references
    for case in exercise.cases():
        assert compare(first(*_copy_args(case.args)), second(*_copy_args(case.args)),
                       item_names=exercise.output_names) is None, case.describe()


def test_the_cases_cover_eval_mode_ties_and_runs_that_do_not_stop():
    dropout_modes = {case.args[4] for case in ch10.dropout.cases()}
    assert dropout_modes == {True, False}
    runs = [ch10._early_rule(*case.args) for case in ch10.early_stopping.cases()]
    lengths = [len(case.args[1]) for case in ch10.early_stopping.cases()]
    assert any(run < n for (_, run), n in zip(runs, lengths))
    assert any(run == n for (_, run), n in zip(runs, lengths))
    ties = [case for case, (best, run) in zip(ch10.early_stopping.cases(), runs)
            if np.sum(case.args[1][:run] == case.args[1][best]) > 1]
    assert ties


def test_the_l2_gradient_is_what_weight_decay_adds():
    # SGD(weight_decay=lam) steps along dW + lam W: the exercise's answer is that gradient.
    case = ch10.l2_regularize.cases()[0]
    _, W, _, dW, db, lam = case.args
    _, dW_total, db_total = SOLUTIONS["l2_regularize"](*_copy_args(case.args))
    layer = nnlab.Linear(W.shape[1], W.shape[0])
    layer.weight.value[...] = W
    layer.weight.grad[...] = dW
    nnlab.optim.SGD([layer.weight], lr=0.1, weight_decay=lam).step()
    np.testing.assert_allclose(layer.weight.value, W - 0.1 * dW_total, rtol=1e-12)
    np.testing.assert_array_equal(db_total, db)


def test_a_note_is_added_only_when_it_explains_the_error():
    def shifted(loss, W, b, dW, db, lam):
        total, g_W, g_b = SOLUTIONS["l2_regularize"](loss, W, b, dW, db, lam)
        return total, g_W + 1.0, g_b

    with pytest.raises(AssertionError) as info:
        ch10.l2_regularize.check(shifted)
    assert "Note:" not in str(info.value)


def test_grading_runs_in_a_separate_process(capsys):
    exercises.grade("ch10.early_stopping", SOLUTIONS["early_stopping"])
    assert "passed the hidden tests" in capsys.readouterr().out


def test_sections_named_by_the_checks_exist_in_the_lesson():
    if not LESSON.exists():
        pytest.skip("the chapter 10 lesson is not written yet")
    headings = set()
    for cell in json.loads(LESSON.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch10.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))
