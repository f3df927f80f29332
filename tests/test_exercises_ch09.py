"""Chapter 9's graded exercises: the reference solutions pass, the references (nnlab,
central differences) agree, the diagnoses are right, the notebook grades every exercise."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from student_bugs import catalogue, compile_bug

from nnlab import exercises
from nnlab.exercises import ch09
from nnlab.exercises._core import _copy_args, compare

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/09_residual/graded.ipynb"
LESSON = ROOT / "book/09_residual/lesson.ipynb"


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    nb = json.loads(GRADED.read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return {name: namespace[name] for name in ch09.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch09.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch09.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(ch09.EXERCISES))
def test_all_references_agree_on_every_case(name):
    # The check demands agreement with every reference; if they disagreed, no answer could pass.
    exercise = ch09.EXERCISES[name]
    first = exercise.references[0][1]
    for case in exercise.cases():
        expected = first(*_copy_args(case.args))
        for label, reference in exercise.references[1:]:
            assert compare(expected, reference(*_copy_args(case.args)),
                           item_names=exercise.output_names) is None, (label, case.describe())


@pytest.mark.parametrize("name", sorted(ch09.EXERCISES))
def test_every_diagnosis_is_a_wrong_answer_on_every_case(name):
    # A diagnosis that coincided with the right answer would be attached to nothing, or
    # worse, describe a right answer as a mistake.
    exercise = ch09.EXERCISES[name]
    for case in exercise.cases()[:1]:  # the first case is the one with distinct widths
        expected = exercise.references[0][1](*_copy_args(case.args))
        for wrong_answer, note in exercise.diagnoses:
            assert compare(expected, wrong_answer(*_copy_args(case.args)),
                           item_names=exercise.output_names) is not None, note


def test_relu_inputs_stay_away_from_the_kink_and_both_sides_occur():
    for case in ch09.residual_backward.cases():
        X, W1, b1 = case.args[:3]
        Z = X @ W1.T + b1
        assert np.abs(Z).min() > 1e-3
    zs = [W @ x + b for x, W, b in (c.args for c in ch09.residual_jacobian.cases())]
    assert all(np.abs(z).min() > 1e-3 for z in zs)
    assert all((z > 0).any() and (z < 0).any() for z in zs if z.size > 1)


def test_the_jacobian_rows_are_outputs():
    x, W, b = ch09.residual_jacobian.cases()[0].args
    J = ch09.residual_jacobian.references[0][1](x, W, b)
    z = W @ x + b
    np.testing.assert_allclose(J, np.eye(len(x)) + (z > 0)[:, None] * W, rtol=1e-12)
    assert not np.allclose(J, J.T)


def test_the_prenorm_reference_is_what_mlp_builds():
    import nnlab

    X, gamma, beta, W, b = ch09.prenorm_block.cases()[0].args
    net = nnlab.mlp([3, 3, 3, 3], "relu", norm="layer", residual=True, rng=0)
    block = net[3]
    assert isinstance(block, nnlab.Residual)
    ln, linear, _ = block.module
    ln.weight.value[...], ln.bias.value[...] = gamma, beta
    linear.weight.value[...], linear.bias.value[...] = W, b
    np.testing.assert_allclose(block(X), ch09.prenorm_block.references[0][1](X, gamma, beta, W, b),
                               rtol=1e-12)


def test_cases_are_reproducible_and_cover_several_shapes():
    for exercise in ch09.EXERCISES.values():
        a, b = exercise.cases(), exercise.cases()
        assert len(a) >= 5
        for ca, cb in zip(a, b):
            for x, y in zip(ca.args, cb.args):
                np.testing.assert_array_equal(x, y)
        assert len({c.describe() for c in a}) == len(a), exercise.name


def test_graded_solutions_are_refused_and_hints_are_tiered(capsys):
    for exercise in ch09.EXERCISES.values():
        assert len(exercise.hints) == 3
        with pytest.raises(RuntimeError, match="graded exercise"):
            exercise.solution()
    ch09.residual_backward.hint(3)
    assert "G + dZ @ W1" in capsys.readouterr().out


def test_sections_named_by_the_checks_exist_in_the_lesson():
    if not LESSON.exists():
        pytest.skip("the chapter 9 lesson is not written yet")
    headings = set()
    for cell in json.loads(LESSON.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    for exercise in ch09.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))


def test_graded_notebook_checks_every_exercise_and_grades_it_in_isolation():
    nb = json.loads(GRADED.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade")]
    for name in ch09.EXERCISES:
        assert any(f"ch09.{name}.check({name})" in s and f'_grade("ch09.{name}", {name})' in s
                   for s in sources), name
    points = sum(c["metadata"]["nbgrader"].get("points", 0) for c in nb["cells"])
    assert points == 10


def test_grade_runs_the_same_check_in_a_separate_process(capsys):
    exercises.grade("ch09.residual_jacobian", SOLUTIONS["residual_jacobian"])
    assert capsys.readouterr().out.startswith("✓ residual_jacobian: passed the hidden tests")
    with pytest.raises(AssertionError, match=r"the gradient of the skip path is missing"):
        exercises.grade("ch09.residual_backward",
                        compile_bug(catalogue("ch09")["residual_backward"][0], "residual_backward"))
