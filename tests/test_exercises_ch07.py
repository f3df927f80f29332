"""Chapter 7's graded exercises: the reference solutions pass, the statistical checks are
robust to sampling noise yet reject every catalogued bug with a message that points at it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from student_bugs import catalogue, compile_bug

from nnlab import exercises
from nnlab.exercises import ch07
from nnlab.exercises.ch07 import _SHAPES, KURTOSIS_TOL, VAR_RTOL

ROOT = Path(__file__).resolve().parents[1]
GRADED = ROOT / "book/07_initialization/graded.ipynb"
LESSON = ROOT / "book/07_initialization/lesson.ipynb"
INITIALIZERS = [ch07.he_normal, ch07.xavier_uniform]


def reference_solutions() -> dict[str, object]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    nb = json.loads(GRADED.read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)  # noqa: S102 - our own notebook
    return {name: namespace[name] for name in ch07.EXERCISES}


SOLUTIONS = reference_solutions()


@pytest.mark.parametrize("name", sorted(ch07.EXERCISES))
def test_reference_solution_passes(name, capsys):
    ch07.EXERCISES[name].check(SOLUTIONS[name])
    assert re.fullmatch(rf"✓ {name}: passed \(\d+ random cases\)\n", capsys.readouterr().out)


@pytest.mark.parametrize("exercise", INITIALIZERS, ids=lambda e: e.name)
def test_nnlabs_own_initializer_passes(exercise, capsys):
    (_, reference), = exercise.references
    exercise.check(reference)
    assert "passed" in capsys.readouterr().out


def _correct_draws(exercise, shape, gen):
    """Several correct ways of sampling, each as a student might write it."""
    fan_out, fan_in = shape
    var = exercise.variance(fan_in, fan_out)
    if exercise.distribution == "normal":
        yield gen.normal(0.0, np.sqrt(var), size=shape)
        yield np.sqrt(var) * gen.standard_normal(shape)
        u1, u2 = 1.0 - gen.random(shape), gen.random(shape)  # Box-Muller
        yield np.sqrt(var) * np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
    else:
        a = np.sqrt(3 * var)
        yield gen.uniform(-a, a, size=shape)
        yield a * (2 * gen.random(shape) - 1)
        yield (gen.random(shape) - 0.5) * 2 * a


@pytest.mark.parametrize("exercise", INITIALIZERS, ids=lambda e: e.name)
def test_right_answers_pass_whatever_the_seed_and_the_sampling_method(exercise):
    # 40 seeds x 3 methods x 4 shapes = 480 draws: none is rejected, and the worst relative
    # error of the variance stays far inside the tolerance (its standard deviation is at
    # most sqrt(2 / 60000) = 0.58%, the tolerance 5%).
    gen = np.random.default_rng(2024)
    worst_var, worst_kurt = 0.0, 0.0
    for _ in range(40):
        for shape in _SHAPES:
            for w in _correct_draws(exercise, shape, gen):
                assert exercise.judge(shape, w) is None
                var = np.mean(w**2) / exercise.variance(shape[1], shape[0])
                kurt = np.mean(w**4) / np.mean(w**2) ** 2
                worst_var = max(worst_var, abs(var - 1))
                worst_kurt = max(worst_kurt, abs(kurt - (3.0 if exercise.distribution == "normal" else 1.8)))
    assert worst_var < VAR_RTOL / 2.5, worst_var
    assert worst_kurt < KURTOSIS_TOL / 3, worst_kurt


@pytest.mark.parametrize("exercise", INITIALIZERS, ids=lambda e: e.name)
def test_every_named_mistake_is_far_outside_the_tolerance_on_some_shape(exercise):
    # The separation that makes the check reliable: each mistake's variance is at least
    # 14% away from the right one on one of the shapes (the tolerance is 5%).
    for what, wrong in exercise.diagnoses:
        gap = max(abs(wrong(fi, fo) / exercise.variance(fi, fo) - 1) for fo, fi in _SHAPES)
        assert gap > 0.14, what


@pytest.mark.parametrize("chapter, name, bug", [
    pytest.param("ch07", name, bug, id=f"ch07.{name}: {bug.name}")
    for name, bugs in catalogue("ch07").items() for bug in bugs
])
def test_each_catalogued_bug_fails_with_a_message_that_points_at_it(chapter, name, bug):
    exercise = ch07.EXERCISES[name]
    with pytest.raises(AssertionError) as info:
        exercise.check(compile_bug(bug, name))
    message = str(info.value)
    assert re.search(bug.symptom, message), message
    assert message.rstrip().endswith(f"Re-read chapter 7, section '{exercise.section}'.")


def test_every_graded_exercise_has_at_least_three_catalogued_bugs():
    bugs = catalogue("ch07")
    assert set(bugs) == set(ch07.EXERCISES)
    assert all(len(b) >= 3 for b in bugs.values())


def test_the_shapes_are_large_and_not_square():
    for fan_out, fan_in in _SHAPES:
        assert fan_out != fan_in and fan_out * fan_in >= 60_000
    assert any(fo > fi for fo, fi in _SHAPES) and any(fo < fi for fo, fi in _SHAPES)


def test_not_attempted_and_exceptions_read_as_such():
    def he_normal(shape, rng):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match=r"^he_normal: not attempted yet"):
        ch07.he_normal.check(he_normal)
    with pytest.raises(AssertionError, match=r"raised ZeroDivisionError: .*\n  on input shape=\(300, 200\)"):
        ch07.xavier_uniform.check(lambda shape, rng: 1 / 0)
    with pytest.raises(AssertionError, match=r"should return a numpy array of shape \(300, 200\); received list"):
        ch07.he_normal.check(lambda shape, rng: [[0.0]])
    with pytest.raises(AssertionError, match=r"floating-point numbers; received dtype int64"):
        ch07.he_normal.check(lambda shape, rng: np.ones(shape, dtype=np.int64))


def test_the_variance_check_is_not_fooled_by_a_mean_offset():
    # A shifted draw has a larger second moment than variance; the mean check comes first.
    def he_normal(shape, rng):
        gen = np.random.default_rng(rng)
        return gen.normal(0.01, np.sqrt(2.0 / shape[1]), size=shape)

    with pytest.raises(AssertionError, match="the mean of the entries"):
        ch07.he_normal.check(he_normal)


def test_float32_answers_are_accepted(capsys):
    def he_normal(shape, rng):
        gen = np.random.default_rng(rng)
        return gen.normal(0.0, np.sqrt(2.0 / shape[1]), size=shape).astype(np.float32)

    ch07.he_normal.check(he_normal)


def test_cases_are_reproducible_and_cover_several_shapes():
    for exercise in ch07.EXERCISES.values():
        a, b = exercise.cases(), exercise.cases()
        assert len(a) >= 4
        assert [c.describe() for c in a] == [c.describe() for c in b]
    draws = [c.describe() for c in ch07.he_normal.cases()]
    assert draws[0] == draws[-2] != draws[-1]  # the determinism pair, and another seed
    assert len({c.describe() for c in ch07.predicted_std.cases()}) == len(ch07.predicted_std.cases())


def test_predicted_std_reference_matches_a_monte_carlo_network():
    # The reference is what a wide random ReLU network does, averaged over weight draws.
    (fan_ins, v, q0, activation) = ch07.predicted_std.cases()[0].args
    (_, reference), = ch07.predicted_std.references
    expected = reference(fan_ins, v, q0, activation)
    gen = np.random.default_rng(0)
    width = 2000
    x = gen.normal(scale=np.sqrt(q0), size=(200, fan_ins[0]))
    stds = []
    for l, (n, var) in enumerate(zip(fan_ins, v)):
        d_in = x.shape[1]
        w = gen.normal(scale=np.sqrt(var * n / d_in), size=(width, d_in))  # same n v, wide layer
        z = x @ w.T
        stds.append(z.std())
        x = np.maximum(z, 0)
    np.testing.assert_allclose(stds, expected, rtol=0.05)


def test_graded_solutions_are_refused_and_hints_are_tiered():
    for exercise in ch07.EXERCISES.values():
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
    for exercise in ch07.EXERCISES.values():
        assert exercise.section in headings, (exercise.section, sorted(headings))


def test_graded_notebook_checks_every_exercise_and_grades_it_in_isolation():
    nb = json.loads(GRADED.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade")]
    for name in ch07.EXERCISES:
        assert any(f"ch07.{name}.check({name})" in s and f'_grade("ch07.{name}", {name})' in s
                   for s in sources), name


def test_grade_runs_the_same_check_in_a_separate_process(capsys):
    exercises.grade("ch07.he_normal", SOLUTIONS["he_normal"])
    assert capsys.readouterr().out.startswith("✓ he_normal: passed the hidden tests")
    with pytest.raises(AssertionError, match=r"Your variance equals 2 / fan_out"):
        exercises.grade("ch07.he_normal", compile_bug(catalogue("ch07")["he_normal"][0], "he_normal"))
    with pytest.raises(AssertionError, match=r"two calls with the same rng"):
        exercises.grade("ch07.he_normal", compile_bug(catalogue("ch07")["he_normal"][-1], "he_normal"))
