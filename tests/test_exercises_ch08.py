"""Chapter 8's graded exercises: the reference solutions pass, the two references (nnlab,
central differences) agree, and the checks name the mistakes they diagnose."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from student_bugs import catalogue, compile_bug

import nnlab.exercises as exercises
from nnlab.exercises import ch08
from nnlab.exercises._core import _copy_args, compare

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/08_normalization/graded.ipynb"
LESSON = ROOT / "book/08_normalization/lesson.ipynb"


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    nb = json.loads(GRADED.read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return {name: namespace[name] for name in ch08.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch08.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch08.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


@pytest.mark.parametrize("name", ["batchnorm_backward", "layernorm_backward"])
def test_nnlab_and_central_differences_agree_on_every_case(name):
    # The check demands agreement with both; if they disagreed, no answer could pass.
    exercise = ch08.EXERCISES[name]
    (_, nnlab_ref), (_, numerical_ref) = exercise.references
    for case in exercise.cases():
        expected = nnlab_ref(*_copy_args(case.args))
        assert compare(expected, numerical_ref(*_copy_args(case.args)),
                       item_names=exercise.output_names) is None, case.describe()


def test_batch_norm_cases_never_hold_a_batch_of_one_but_layer_norm_cases_do():
    assert all(c.args[1].shape[0] >= 2 for c in ch08.batchnorm_backward.cases())
    assert all(c.args[0].shape[0] >= 2 for c in ch08.batchnorm_forward.cases())
    assert any(c.args[1].shape[0] == 1 for c in ch08.layernorm_backward.cases())


def test_the_cache_is_the_students_own_but_must_be_there():
    def batchnorm_forward(x, gamma, beta, eps):
        x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
        return gamma * x_hat + beta, {"anything": "goes"}

    ch08.batchnorm_forward.check(batchnorm_forward)
    with pytest.raises(AssertionError, match=r"received a tuple of 3 items"):
        ch08.batchnorm_forward.check(lambda x, g, b, e: (x, x, x))


def test_a_diagnosis_is_given_only_when_a_mistake_explains_the_answer():
    def shifted(dout, x, gamma, eps):
        dx, dgamma, dbeta = SOLUTIONS["batchnorm_backward"](dout, x, gamma, eps)
        return dx + 0.5, dgamma, dbeta

    with pytest.raises(AssertionError) as info:
        ch08.batchnorm_backward.check(shifted)
    assert "Likely cause: dx should sum to zero over the batch" in str(info.value)

    def noisy(dout, x, gamma, eps):
        dx, dgamma, dbeta = SOLUTIONS["batchnorm_backward"](dout, x, gamma, eps)
        return dx, dgamma * 1.1, dbeta

    with pytest.raises(AssertionError) as info:
        ch08.batchnorm_backward.check(noisy)
    assert "Likely cause: dx is right; look at dgamma" in str(info.value)


def test_cases_are_reproducible_and_cover_several_shapes():
    for exercise in ch08.EXERCISES.values():
        a, b = exercise.cases(), exercise.cases()
        assert len(a) >= 5
        for ca, cb in zip(a, b):
            for x, y in zip(ca.args, cb.args):
                np.testing.assert_array_equal(x, y)
        assert len({c.describe() for c in a}) >= 1
        shapes = {c.args[0].shape for c in a} | {c.args[1].shape for c in a}
        assert len(shapes) >= 5, exercise.name


def test_graded_solutions_are_refused_and_hints_are_tiered(capsys):
    for exercise in ch08.EXERCISES.values():
        assert len(exercise.hints) == 3
        with pytest.raises(RuntimeError, match="graded exercise"):
            exercise.solution()
    ch08.layernorm_backward.hint(3)
    assert "axis=1, keepdims=True" in capsys.readouterr().out


def test_sections_named_by_the_checks_exist_in_the_lesson():
    headings = set()
    for cell in json.loads(LESSON.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch08.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))


def test_graded_notebook_checks_every_exercise_and_grades_it_in_isolation():
    nb = json.loads(GRADED.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade")]
    for name in ch08.EXERCISES:
        assert any(f"ch08.{name}.check({name})" in s and f'_grade("ch08.{name}", {name})' in s
                   for s in sources), name


def test_grade_runs_the_same_check_in_a_separate_process(capsys):
    exercises.grade("ch08.batchnorm_forward", SOLUTIONS["batchnorm_forward"])
    assert capsys.readouterr().out.startswith("✓ batchnorm_forward: passed the hidden tests")
    with pytest.raises(AssertionError, match=r"Likely cause: dx = gamma \* dout / sqrt"):
        exercises.grade("ch08.batchnorm_backward",
                        compile_bug(catalogue("ch08")["batchnorm_backward"][0], "batchnorm_backward"))
