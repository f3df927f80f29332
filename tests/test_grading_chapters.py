"""The nbgrader flow for every chapter's graded notebook, not just chapter 1's.

``test_grading.py`` puts chapter 1 through everything, bad submissions included. Here each
other chapter goes through release, autograde and export with: the reference solutions
(full marks), the untouched release (zero, no crash), and its bug catalogue, each bug in a
notebook where the other half of the exercises are right, so that a bug must cost exactly
its own exercise's points. Every bug of every chapter is also checked, faster, through the
same isolated judge in ``test_exercises.py``; here, by default, the first two bugs of each
exercise go through nbgrader itself (set ``NNLAB_GRADING_FULL=1`` for all of them: it takes
several minutes per chapter on 2 cores).
"""

from __future__ import annotations

import csv
import importlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from student_bugs import catalogue
from test_grading import Student, bug_students, nbgrader, solution_cells, write_submission

pytestmark = [pytest.mark.grading, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(
    p.parent.name for p in (ROOT / "book").glob("*/graded.ipynb") if p.parent.name != "01_feedforward"
)
BUGS_PER_EXERCISE = None if os.environ.get("NNLAB_GRADING_FULL") else 2
TIMEOUT_CELL = 30


def chapter_key(assignment: str) -> str:
    """'03_losses' -> 'ch03', the name of its exercise and bug modules."""
    return f"ch{assignment[:2]}"


@dataclass
class ChapterRun:
    assignment: str
    students: dict[str, Student]
    scores: dict[str, dict[str, float]]
    grades: dict[str, dict[str, str]]
    total: float


def points(source: nbformat.NotebookNode, name: str) -> float:
    return next(c.metadata.nbgrader["points"] for c in source.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests")


def reference(source: nbformat.NotebookNode, name: str) -> str:
    cell = solution_cells(source)[name]
    return "\n".join(line for line in cell.source.splitlines() if "SOLUTION" not in line)


@pytest.fixture(scope="module", params=CHAPTERS)
def run(request, tmp_path_factory) -> ChapterRun:
    assignment = request.param
    key = chapter_key(assignment)
    exercises = list(importlib.import_module(f"nnlab.exercises.{key}").EXERCISES)
    source_path = ROOT / "book" / assignment / "graded.ipynb"
    source = nbformat.read(source_path, as_version=4)
    full = {name: points(source, name) for name in exercises}
    ref = {name: reference(source, name) for name in exercises}

    students = {"reference": Student(ref, dict(full)), "untouched": Student({}, dict.fromkeys(full, 0))}
    bugs = catalogue(key)
    assert set(bugs) == set(exercises), f"{key}: the bug catalogue must cover every exercise"
    depth = max(len(b) for b in bugs.values())
    if BUGS_PER_EXERCISE is not None:
        depth = min(depth, BUGS_PER_EXERCISE)
    students.update(bug_students(exercises, ref, full, bugs, depth))

    course = tmp_path_factory.mktemp(f"course-{key}")
    config = (ROOT / "nbgrader_config.py").read_text()
    config += f"\nc.Execute.timeout = {TIMEOUT_CELL}\n"
    (course / "nbgrader_config.py").write_text(config)
    (course / "book" / assignment).mkdir(parents=True)
    shutil.copy(source_path, course / "book" / assignment / "graded.ipynb")
    generated = nbgrader(course, "generate_assignment", assignment)
    assert generated.returncode == 0, generated.stderr[-3000:]
    release = course / "course" / "release" / assignment / "graded.ipynb"
    for marker in ("BEGIN SOLUTION", "HIDDEN TESTS"):
        assert marker not in release.read_text()

    for sid, student in students.items():
        target = course / "course" / "submitted" / sid / assignment / "graded.ipynb"
        if sid == "reference":
            target.parent.mkdir(parents=True)
            shutil.copy(source_path, target)
        else:
            write_submission(release, target, student)
    autograde = nbgrader(course, "autograde", assignment)
    assert autograde.returncode == 0, autograde.stderr[-3000:]
    exported = nbgrader(course, "export", "--to", str(course / "grades.csv"))
    assert exported.returncode == 0, exported.stderr[-3000:]

    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'course' / 'gradebook.db'}") as gb:
        for sid in students:
            nb = gb.find_submission_notebook("graded", assignment, sid)
            scores[sid] = {g.name.removesuffix("_tests"): g.score for g in nb.grades}
    with open(course / "grades.csv") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    return ChapterRun(assignment, students, scores, grades, sum(full.values()))


def test_chapter_has_at_least_three_exercises_with_three_bugs_each(run):
    bugs = catalogue(chapter_key(run.assignment))
    assert len(bugs) >= 3
    assert all(len(b) >= 3 for b in bugs.values()), {k: len(v) for k, v in bugs.items()}


def test_reference_gets_full_marks_and_the_release_zero(run):
    assert run.scores["reference"] == run.students["reference"].expected
    assert run.scores["untouched"] == run.students["untouched"].expected


def test_each_bug_loses_exactly_its_exercise_points(run):
    for sid, student in run.students.items():
        if sid.startswith("bugs"):
            assert run.scores[sid] == student.expected, (sid, student.bugs)


def test_export_writes_the_grades(run):
    for sid, student in run.students.items():
        assert float(run.grades[sid]["score"]) == sum(student.expected.values()), sid
        assert float(run.grades[sid]["max_score"]) == run.total
