"""The whole nbgrader flow, in a temporary course: release, collect, autograde, feedback, export.

Every nbgrader command is taken, as written, from book/instructors.md (:func:`documented`),
so the page cannot go stale: the submissions arrive as a folder of downloaded files (some
loose, some in a zip) sorted by the documented ``zip_collect``.

nbgrader is slow (a kernel per notebook), so one autograde run grades every student at
once: the reference solutions, an untouched release, the bug catalogue, and the bad
submissions (an infinite loop, errors everywhere, a tampered test cell, an attack on the
checks, a file that is not JSON, 10 MB of output). Each test below reads that one run.
"""

from __future__ import annotations

import csv
import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from student_bugs import catalogue

from nnlab.exercises import ch01

pytestmark = [pytest.mark.grading, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_feedforward"
SOURCE = ROOT / "book" / ASSIGNMENT / "graded.ipynb"
EXERCISES = list(ch01.EXERCISES)  # in notebook order
TIMEOUT_CELL = 15  # seconds nbgrader lets a cell run in this test (the course uses 60)


def nbgrader(course: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, timeout=600, env=env)


INSTRUCTORS = ROOT / "book" / "instructors.md"


def documented(subcommand: str, page: Path = INSTRUCTORS) -> list[str]:
    """The arguments of the first `nbgrader <subcommand> ...` line of a bash block of the page."""
    blocks = re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S)
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            if words[:2] == ["nbgrader", subcommand]:
                return words[1:]
    raise AssertionError(f"book/instructors.md shows no `nbgrader {subcommand}` command")


def points(name: str) -> float:
    nb = nbformat.read(SOURCE, as_version=4)
    return next(c.metadata.nbgrader["points"] for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests")


POINTS = {name: points(name) for name in EXERCISES}
TOTAL = sum(POINTS.values())


def solution_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def reference_source(name: str) -> str:
    cell = solution_cells(nbformat.read(SOURCE, as_version=4))[name]
    return "\n".join(line for line in cell.source.splitlines() if "SOLUTION" not in line)


@dataclass
class Student:
    """A submission: the source of each solution cell, what else it does, what it should score."""

    sources: dict[str, str]
    expected: dict[str, float]
    edit: object = None  # a function(nb) applied last, for tampering with locked cells
    raw: str | None = None  # the file's text, when it is not a notebook at all
    bugs: list[str] = field(default_factory=list)


def bug_students(exercises: list[str], ref: dict[str, str], full: dict[str, float],
                 bugs: dict, depth: int) -> dict[str, Student]:
    """Submissions carrying the first ``depth`` bugs of each exercise's catalogue.

    In each notebook half the exercises carry a bug and the other half are right, so each
    bug must cost exactly its own exercise's points: bug k of the even-numbered exercises
    in ``bugs{k}a``, of the odd-numbered ones in ``bugs{k}b``.
    """
    students = {}
    for k in range(depth):
        for parity in (0, 1):
            sources, expected, names = dict(ref), dict(full), []
            for i, name in enumerate(exercises):
                if i % 2 == parity and k < len(bugs[name]):
                    sources[name] = bugs[name][k].source
                    expected[name] = 0
                    names.append(f"{name}: {bugs[name][k].name}")
            if names:
                students[f"bugs{k}{'ab'[parity]}"] = Student(sources, expected, bugs=names)
    return students


def make_students(release: Path) -> dict[str, Student]:
    ref = {name: reference_source(name) for name in EXERCISES}
    full = dict(POINTS)
    students: dict[str, Student] = {
        "reference": Student(ref, full),
        "untouched": Student({}, {n: 0 for n in EXERCISES}),
    }
    bugs = catalogue("ch01")
    students.update(bug_students(EXERCISES, ref, full, bugs, max(len(b) for b in bugs.values())))

    loops = dict(ref)
    loops["linear_forward"] = "while True:\n    pass\n" + ref["linear_forward"]
    loops["mlp_forward"] = "def mlp_forward(X, W1, b1, W2, b2):\n    while True:\n        pass"
    students["loops"] = Student(loops, {**full, "linear_forward": 0, "mlp_forward": 0})

    students["raises"] = Student(
        {n: "raise RuntimeError('I give up')\n" + ref[n] for n in EXERCISES},
        {n: 0 for n in EXERCISES})

    def tamper(nb: nbformat.NotebookNode) -> None:
        # Delete one locked test cell; empty the other (and its hidden tests) into a pass.
        nb.cells = [c for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") != "linear_forward_tests"]
        for c in nb.cells:
            if c.metadata.get("nbgrader", {}).get("grade_id") == "mlp_forward_tests":
                c.source = "print('all good')"
    wrong = {"linear_forward": bugs["linear_forward"][2].source,
             "mlp_forward": bugs["mlp_forward"][0].source}
    students["tampered"] = Student({**ref, **wrong}, {**full, **{n: 0 for n in wrong}}, edit=tamper)

    attack = (
        "import builtins, numpy, nnlab.exercises, nnlab.exercises._isolation as iso\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "for ex in ch01.EXERCISES.values():\n"
        "    type(ex).check = lambda self, fn: print('✓ passed')\n"
        "nnlab.exercises.grade = iso.grade = lambda *a, **k: print('✓ passed')\n"
        "builtins.AssertionError = type('Quiet', (Exception,), {})\n"
    )
    wrong = {n: bugs[n][0].source for n in EXERCISES}
    wrong["linear_forward"] = attack + wrong["linear_forward"]
    students["attacker"] = Student(wrong, {n: 0 for n in EXERCISES})

    students["not_json"] = Student({}, {n: 0 for n in EXERCISES}, raw='{"cells": [ this is not JSON')

    chatty = dict(ref)
    chatty["count_parameters"] = "print('x' * 10_000_000)\n" + ref["count_parameters"]
    students["chatty"] = Student(chatty, full)
    return students


def write_submission(release: Path, path: Path, student: Student) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if student.raw is not None:
        path.write_text(student.raw)
        return
    nb = nbformat.read(release, as_version=4)
    cells = solution_cells(nb)
    for name, source in student.sources.items():
        cells[name].source = source
    if student.edit:
        student.edit(nb)
    nbformat.write(nb, path)


@dataclass
class Run:
    course: Path
    students: dict[str, Student]
    autograde: subprocess.CompletedProcess
    scores: dict[str, dict[str, float]]
    grades_csv: list[dict[str, str]]
    feedback: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    course = tmp_path_factory.mktemp("course")
    config = (ROOT / "nbgrader_config.py").read_text()
    config += f"\nc.Execute.timeout = {TIMEOUT_CELL}\nc.JudgeHiddenTests.timeout = 5\n"
    (course / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "book" / ASSIGNMENT, course / "book" / ASSIGNMENT)
    (course / "book" / ASSIGNMENT / "lesson.ipynb").write_text(
        (ROOT / "book" / ASSIGNMENT / "lesson.ipynb").read_text()
        if (ROOT / "book" / ASSIGNMENT / "lesson.ipynb").exists() else "{}")
    generated = nbgrader(course, *documented("generate_assignment"))
    assert generated.returncode == 0, generated.stderr[-3000:]
    release = course / "course" / "release" / ASSIGNMENT / "graded.ipynb"

    # What a learning platform hands back: <student_id>_graded.ipynb files, half of them
    # zipped together, in the folder the page names.
    students = make_students(release)
    downloads = course / "course" / "downloaded" / ASSIGNMENT / "archive"
    staging = course / "staging"
    for sid, student in students.items():
        target = staging / f"{sid}_graded.ipynb"
        if sid == "reference":
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SOURCE, target)
        else:
            write_submission(release, target, student)
    downloads.mkdir(parents=True)
    with zipfile.ZipFile(downloads / "submissions.zip", "w") as archive:
        for i, path in enumerate(sorted(staging.iterdir())):
            if i % 2:
                archive.write(path, f"submissions/{path.name}")
            else:
                shutil.copy(path, downloads / path.name)
    collected = nbgrader(course, *documented("zip_collect"))
    assert collected.returncode == 0, collected.stderr[-3000:]

    autograde = nbgrader(course, *documented("autograde"))
    exported = nbgrader(course, *documented("export"))
    assert exported.returncode == 0, exported.stderr[-3000:]
    feedback = nbgrader(course, *documented("generate_feedback"))

    from nbgrader.api import Gradebook, MissingEntry

    scores: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'course' / 'gradebook.db'}") as gb:
        for sid in students:
            try:
                nb = gb.find_submission_notebook("graded", ASSIGNMENT, sid)
            except MissingEntry:
                continue
            scores[sid] = {g.name.removesuffix("_tests"): g.score for g in nb.grades}
    with open(course / "course" / "grades.csv") as f:
        grades_csv = list(csv.DictReader(f))
    return Run(course, students, autograde, scores, grades_csv, feedback)


def autograded(run: Run, sid: str) -> nbformat.NotebookNode:
    return nbformat.read(run.course / "course" / "autograded" / sid / ASSIGNMENT / "graded.ipynb", 4)


def test_release_has_no_solution_and_no_hidden_test_and_no_lesson(run):
    folder = run.course / "course" / "release" / ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir()) == ["graded.ipynb"]
    text = (folder / "graded.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "_grade("):
        assert marker not in text
    for name in EXERCISES:
        for line in reference_source(name).splitlines():
            if line.strip() and not line.lstrip().startswith(("def ", '"""')):
                assert line not in text, line
        assert f"ch01.{name}.check({name})" in text
    nb = nbformat.reads(text, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"
               and c.metadata.nbgrader.get("grade") or c.metadata.get("nbgrader", {}).get("solution"))


def test_zip_collect_as_documented_sorts_every_downloaded_file(run):
    submitted = run.course / "course" / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(run.students)
    for sid in run.students:
        assert (submitted / sid / ASSIGNMENT / "graded.ipynb").is_file(), sid


def test_the_grading_seed_is_in_the_autograded_notebook_and_the_feedback(run):
    text = (run.course / "course" / "autograded" / "reference" / ASSIGNMENT / "graded.ipynb").read_text()
    seeds = re.findall(r"graded on cases drawn with seed (\d+)", text)
    assert len(seeds) == len(EXERCISES) and len(set(seeds)) == len(seeds)
    html = (run.course / "course" / "feedback" / "bugs0a" / ASSIGNMENT / "graded.html").read_text()
    assert "graded on cases drawn with seed" in html


def test_the_install_step_installs_what_grading_needs():
    install = re.search(r"## 0\. Install\n(.*?)\n## ", INSTRUCTORS.read_text(), flags=re.S).group(1)
    assert "python -m pip install -r requirements.txt" in install
    assert "python -m pip install -e ." in install
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^nbgrader>=0\.9", requirements, flags=re.M)
    assert re.search(r"^cloudpickle", requirements, flags=re.M)


def test_autograde_finishes_for_everyone_despite_bad_submissions(run):
    # The file that is not JSON is the only notebook nbgrader cannot grade; it says so,
    # records zero, and goes on with the others.
    assert set(run.scores) == set(run.students), run.autograde.stderr[-3000:]
    assert "There was an error processing assignment '01_feedforward' for student 'not_json'" \
        in run.autograde.stderr


@pytest.mark.parametrize("sid", ["reference", "untouched", "loops", "raises", "tampered",
                                 "attacker", "not_json", "chatty"])
def test_each_exercise_gets_exactly_its_earned_points(run, sid):
    assert run.scores[sid] == run.students[sid].expected


def test_each_catalogued_bug_loses_exactly_its_exercise_points(run):
    bug_students = [sid for sid in run.students if sid.startswith("bugs")]
    covered = sum(len(run.students[sid].bugs) for sid in bug_students)
    assert covered == sum(len(b) for b in catalogue("ch01").values())
    for sid in bug_students:
        assert run.scores[sid] == run.students[sid].expected, (sid, run.students[sid].bugs)


def test_export_writes_the_grades(run):
    rows = {r["student_id"]: r for r in run.grades_csv}
    for sid, student in run.students.items():
        assert float(rows[sid]["score"]) == sum(student.expected.values()), sid
        assert float(rows[sid]["max_score"]) == TOTAL
    assert float(rows["reference"]["score"]) == TOTAL


def _error_text(nb: nbformat.NotebookNode, grade_id: str) -> str:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "\n".join(o.get("evalue", "") + "".join(o.get("traceback", []))
                     for o in cell.outputs if o.output_type == "error")


def test_problems_are_reported_readably(run):
    loops = autograded(run, "loops")
    assert "Timeout" in _error_text(loops, "linear_forward_tests") or \
        "NameError" in _error_text(loops, "linear_forward_tests")
    # The visible check runs in the kernel, so nbgrader's cell timeout stops the loop.
    assert "CellTimeoutError" in _error_text(loops, "mlp_forward_tests")
    attacker = _error_text(autograded(run, "attacker"), "linear_forward_tests")
    assert "did not receive your function" in attacker
    untouched = _error_text(autograded(run, "untouched"), "count_parameters_tests")
    assert "count_parameters: not attempted yet" in untouched
    bug = _error_text(autograded(run, "bugs0a"), "linear_forward_tests")
    assert "Re-read chapter 1" in bug


def test_locked_test_cells_are_restored(run):
    nb = autograded(run, "tampered")
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert "mlp_forward_tests" in ids
    cell = nb.cells[ids.index("mlp_forward_tests")]
    assert "ch01.mlp_forward.check(mlp_forward)" in cell.source


def test_huge_output_is_truncated(run):
    path = run.course / "course" / "autograded" / "chatty" / ASSIGNMENT / "graded.ipynb"
    assert path.stat().st_size < 1_000_000
    assert "Output truncated (10,000,001 characters in all)" in path.read_text()


def test_feedback_is_generated_with_the_messages(run):
    html = run.course / "course" / "feedback" / "bugs0a" / ASSIGNMENT / "graded.html"
    assert html.exists(), run.feedback.stderr[-3000:]
    assert "Re-read chapter 1" in html.read_text()


def test_the_course_config_grades_only_graded_notebooks():
    text = (ROOT / "nbgrader_config.py").read_text()
    assert 'notebook_id = "graded*"' in text and 'source_directory = "book"' in text
    json.loads(SOURCE.read_text())  # the source notebook itself is valid
