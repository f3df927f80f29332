"""nnlab.exercises: the checks pass right answers, fail wrong ones with a useful message,
and the isolated grader cannot be fooled by code that patches numpy or the checks."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

import nnlab.exercises as exercises
from nnlab.exercises import ch01
from nnlab.exercises._core import Case, Exercise, compare
from student_bugs import catalogue, compile_bug

ROOT = Path(__file__).resolve().parents[1]
# Every chapter with a graded notebook has an exercise module and a bug catalogue.
CHAPTERS = {
    f"ch{p.parent.name[:2]}": importlib.import_module(f"nnlab.exercises.ch{p.parent.name[:2]}")
    for p in sorted((ROOT / "book").glob("*/graded.ipynb"))
}


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    nb = json.loads((ROOT / "book/01_feedforward/graded.ipynb").read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return {name: namespace[name] for name in ch01.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch01.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch01.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


def _bug_params():
    for chapter in CHAPTERS:
        for name, bugs in catalogue(chapter).items():
            for bug in bugs:
                yield pytest.param(chapter, name, bug, id=f"{chapter}.{name}: {bug.name}")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wrong code may overflow: that is the bug
@pytest.mark.parametrize("chapter, name, bug", _bug_params())
def test_each_catalogued_bug_fails_with_a_message_that_points_at_it(chapter, name, bug):
    exercise = getattr(CHAPTERS[chapter], name)
    with pytest.raises(AssertionError) as info:
        exercise.check(compile_bug(bug, name))
    message = str(info.value)
    assert re.search(bug.symptom, message), message
    assert f"Re-read chapter {exercise.chapter}, section '{exercise.section}'" in message


def test_every_graded_exercise_has_at_least_three_catalogued_bugs():
    for chapter, module in CHAPTERS.items():
        bugs = catalogue(chapter)
        assert set(bugs) == set(module.EXERCISES), chapter
        assert all(len(b) >= 3 for b in bugs.values()), chapter


def test_not_attempted_reads_as_such_not_as_a_crash():
    def linear_forward(X, W, b):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match=r"^linear_forward: not attempted yet - replace"):
        ch01.linear_forward.check(linear_forward)


def test_an_exception_is_reported_with_its_type_and_the_input_shapes():
    def linear_forward(X, W, b):
        return X @ W.T + b[3]

    with pytest.raises(AssertionError, match=r"raised IndexError: .*\n  on input X \(4, 3\), W \(2, 3\), b \(2,\)"):
        ch01.linear_forward.check(linear_forward)


def test_wrong_return_types_are_named():
    with pytest.raises(AssertionError, match=r"should be a numpy array of shape \(4, 2\); received list"):
        ch01.linear_forward.check(lambda X, W, b: (X @ W.T + b).tolist())
    with pytest.raises(AssertionError, match=r"should be a numpy array of shape \(4, 2\); received NoneType"):
        ch01.linear_forward.check(lambda X, W, b: None)
    with pytest.raises(AssertionError, match=r"should be a tuple of 2 items; received ndarray"):
        ch01.collapse_linear.check(lambda W1, b1, W2, b2: W2 @ W1)
    with pytest.raises(AssertionError, match=r"contains NaN or inf"):
        ch01.linear_forward.check(lambda X, W, b: X @ W.T + b + np.nan)


def test_code_that_only_works_on_one_shape_cannot_pass():
    first = ch01.linear_forward.cases()[0]
    memorised = ch01.linear_forward.references[0][1](*first.args)

    def linear_forward(X, W, b):
        return memorised

    with pytest.raises(AssertionError, match="wrong shape: expected \\(1, 3\\), received \\(4, 2\\)"):
        ch01.linear_forward.check(linear_forward)


def test_cases_are_reproducible_and_cover_several_shapes():
    for exercise in ch01.EXERCISES.values():
        a, b = exercise.cases(), exercise.cases()
        assert len(a) >= 4
        for ca, cb in zip(a, b):
            for x, y in zip(ca.args, cb.args):
                np.testing.assert_array_equal(x, y)
        assert len({c.describe() for c in a}) == len(a), exercise.name


def test_editing_the_input_in_place_does_not_corrupt_the_reference():
    def linear_forward(X, W, b):
        out = X @ W.T + b
        X[...] = 0.0
        W[...] = 0.0
        return out

    ch01.linear_forward.check(linear_forward)


def test_hints_are_tiered_and_graded_solutions_are_refused(capsys):
    ch01.linear_forward.hint(1)
    assert capsys.readouterr().out.startswith("Hint 1/3 for linear_forward:")
    ch01.linear_forward.hint(3)
    assert "X @ W.T + b" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"expected n in 1..3; got 4"):
        ch01.linear_forward.hint(4)
    with pytest.raises(RuntimeError, match="graded exercise: its solution is not available"):
        ch01.linear_forward.solution()


def test_practice_exercises_show_their_solution(capsys):
    practice = Exercise(
        name="double", chapter=1, section="Somewhere",
        make_cases=lambda rng: [Case((rng.normal(size=3),), ("x",))],
        references=[("2x", lambda x: 2 * x)], graded=False, solution_code="return 2 * x",
    )
    practice.solution()
    assert capsys.readouterr().out == "return 2 * x\n"
    practice.check(lambda x: x + x)


def test_compare_reports_first_differing_entry():
    problem = compare(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 5.0]]))
    assert problem == ("the result has the right shape (2, 2) but wrong values: 1 of 4 entries differ "
                       "at index (1, 1), expected 4, received 5 (largest difference 1)")
    assert compare(3, np.int64(3)) is None
    assert compare(3, 3.0) is None
    assert compare(3, True) is not None


def test_sections_named_by_the_checks_exist_in_the_lesson():
    lesson = ROOT / "book/01_feedforward/lesson.ipynb"
    if not lesson.exists():
        pytest.skip("the chapter 1 lesson is not written yet")
    headings = set()
    for cell in json.loads(lesson.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch01.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))


# --- the isolated grader ---------------------------------------------------------------


def test_grade_passes_the_reference_in_a_separate_process(capsys):
    exercises.grade("ch01.collapse_linear", SOLUTIONS["collapse_linear"])
    assert capsys.readouterr().out.startswith("✓ collapse_linear: passed the hidden tests")


def test_grade_is_not_fooled_by_patching_numpy_or_the_checks_in_the_notebook(monkeypatch):
    # What a student's earlier cell could do in the kernel that runs the hidden tests.
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    monkeypatch.setattr(Exercise, "check", lambda self, fn: None)
    monkeypatch.setattr(Exercise, "verdict", lambda self, cases, outcomes: None)
    with pytest.raises(AssertionError, match="raised ValueError: matmul"):
        exercises.grade("ch01.linear_forward", lambda X, W, b: X @ W + b)


def test_grade_is_not_fooled_by_a_function_that_patches_the_grader_process():
    def linear_forward(X, W, b):
        import builtins
        import sys

        import numpy

        numpy.allclose = lambda *a, **k: True
        builtins.abs = lambda x: 0
        for module in list(sys.modules.values()):
            if hasattr(module, "compare"):
                module.compare = lambda *a, **k: None
        return np.zeros((1, 1))

    with pytest.raises(AssertionError, match=r"wrong shape: expected \(4, 2\), received \(1, 1\)"):
        exercises.grade("ch01.linear_forward", linear_forward)


@pytest.mark.parametrize("body, symptom", [
    ("while True:\n        pass", r"did not finish within 3 s .*infinite loop"),
    ("import os\n    os._exit(0)", r"stopped the Python process that ran it \(exit code 0\)"),
    ("import sys\n    sys.exit(0)", r"raised SystemExit|stopped the Python process"),
])
def test_grade_survives_functions_that_hang_or_exit(body, symptom):
    namespace: dict = {}
    exec(f"def linear_forward(X, W, b):\n    {body}\n", namespace)
    with pytest.raises(AssertionError, match=symptom):
        exercises.grade("ch01.linear_forward", namespace["linear_forward"], timeout=3)


def test_grade_refuses_unknown_exercises():
    with pytest.raises(ValueError, match="exercise id like 'ch01.linear_forward'"):
        exercises.grade("linear_forward", lambda: None)
    with pytest.raises(ValueError, match="has no exercise named 'nope'"):
        exercises.grade("ch01.nope", lambda: None)
