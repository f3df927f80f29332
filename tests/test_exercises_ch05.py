"""Chapter 5's graded exercises: the reference solutions pass, every catalogued bug fails
with a message that names it, and the typical mistakes the checks recognise really differ
from the right answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import nnlab.exercises as exercises
from nnlab.exercises import ch05
from nnlab.exercises._core import _copy_args, compare
from student_bugs import catalogue, compile_bug

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/05_training/graded.ipynb"
LESSON = ROOT / "book/05_training/lesson.ipynb"


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    nb = json.loads(GRADED.read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution") or cell["metadata"].get(
                "nbgrader", {}).get("grade_id") == "setup":
            exec("".join(cell["source"]), namespace)
    return {name: namespace[name] for name in ch05.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch05.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch05.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


@pytest.mark.parametrize("name, bug", [
    pytest.param(name, bug, id=f"ch05.{name}: {bug.name}")
    for name, bugs in catalogue("ch05").items() for bug in bugs
])
def test_each_catalogued_bug_fails_with_a_message_that_points_at_it(name, bug):
    exercise = ch05.EXERCISES[name]
    with pytest.raises(AssertionError) as info, np.errstate(all="ignore"):
        exercise.check(compile_bug(bug, name))
    message = str(info.value)
    assert re.search(bug.symptom, message), message
    assert message.rstrip().endswith(f"Re-read chapter 5, section '{exercise.section}'.")


def test_every_graded_exercise_has_at_least_three_catalogued_bugs():
    bugs = catalogue("ch05")
    assert set(bugs) == set(ch05.EXERCISES)
    assert all(len(b) >= 3 for b in bugs.values())


@pytest.mark.parametrize("name", sorted(ch05.EXERCISES))
def test_every_recognised_mistake_differs_from_the_right_answer_on_every_case(name):
    # Otherwise a right answer could be "diagnosed", or a mistake could pass.
    exercise = ch05.EXERCISES[name]
    for case in exercise.cases():
        expected = exercise.references[0][1](*_copy_args(case.args))
        with np.errstate(all="ignore"):
            mistakes = exercise.mistakes(*_copy_args(case.args))
        for cause, result in mistakes:
            if name == "adam_step" and case.args[4] >= 100 and "eps" in cause:
                continue  # eps = 1e-8 with v far above it: inside or outside the root agree
            assert compare(expected, result, item_names=exercise.output_names), (case.describe(), cause)


def test_the_right_loop_written_out_equals_nnlab_fit_and_stops_early():
    for case in ch05.train.cases():
        expected = ch05._fit_reference(*case.args)
        assert compare(expected, ch05._loop(case.args)) is None
        epochs = case.args[9]
        assert len(expected[0]) < epochs  # early stopping happens in every case...
        assert expected[1] < len(expected[0]) - 1  # ...and the best epoch is not the last


def test_references_start_from_a_step_that_is_not_the_first():
    # nnlab's SGD copies the gradient into the buffer on step 1; the exercise's velocity
    # is an existing buffer, so the reference must take the general rule b = mu b + g.
    w, g, b = np.ones(2), np.full(2, 2.0), np.full(2, 3.0)
    w_new, b_new = ch05._momentum_reference(w, g, b, 0.1, 0.5)
    np.testing.assert_allclose(b_new, 0.5 * 3.0 + 2.0)
    np.testing.assert_allclose(w_new, 1.0 - 0.1 * 3.5)


def test_adam_reference_matches_the_textbook_formula_on_the_first_step():
    w, g = np.array([0.5, -1.0]), np.array([0.2, -3.0])
    w_new, m, v = ch05._adam_reference(w, g, np.zeros(2), np.zeros(2), 0, 0.1, 0.9, 0.999, 1e-8)
    # Bias-corrected first step: m_hat = g, v_hat = g^2, so the step is lr * sign(g).
    np.testing.assert_allclose(w_new, w - 0.1 * np.sign(g), rtol=1e-7)
    np.testing.assert_allclose(m, 0.1 * g)
    np.testing.assert_allclose(v, 0.001 * g**2)


def test_cases_are_reproducible_and_cover_several_shapes():
    for exercise in ch05.EXERCISES.values():
        a, b = exercise.cases(), exercise.cases()
        assert len(a) >= 4
        for ca, cb in zip(a, b):
            for x, y in zip(ca.args, cb.args):
                np.testing.assert_array_equal(x, y)
        assert len({c.describe() for c in a}) == len(a), exercise.name


def test_graded_solutions_are_refused_and_hints_are_tiered():
    for exercise in ch05.EXERCISES.values():
        assert len(exercise.hints) == 3
        with pytest.raises(RuntimeError, match="graded exercise"):
            exercise.solution()


def test_sections_named_by_the_checks_exist_in_the_lesson():
    headings = set()
    for cell in json.loads(LESSON.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch05.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))


def test_graded_notebook_checks_every_exercise_and_grades_it_in_isolation():
    nb = json.loads(GRADED.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade")]
    for name in ("sgd_momentum_step", "adam_step"):
        assert any(f"ch05.{name}.check({name})" in s and f'_grade("ch05.{name}", {name})' in s
                   for s in sources), name
    assert any("ch05.train.check(train)" in s and '_grade("ch05.train", ch05.on_data(train))' in s
               for s in sources)


def test_grade_runs_the_training_loop_in_a_separate_process(capsys):
    exercises.grade("ch05.train", ch05.on_data(SOLUTIONS["train"]))
    assert capsys.readouterr().out.startswith("✓ train: passed the hidden tests")
    bug = catalogue("ch05")["train"][0]
    with pytest.raises(AssertionError, match=r"Likely cause: the model keeps the weights of the last"):
        exercises.grade("ch05.train", ch05.on_data(compile_bug(bug, "train")))


def test_not_attempted_and_wrong_return_types_read_clearly():
    def train(model, loss_fn, optimizer, X, y, X_val, y_val, epochs, batch_size, patience, rng):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match=r"^train: not attempted yet"):
        ch05.train.check(train)
    with pytest.raises(AssertionError, match=r"should be a tuple of 2 items; received ndarray"):
        ch05.sgd_momentum_step.check(lambda w, grad, velocity, lr, momentum: w)
