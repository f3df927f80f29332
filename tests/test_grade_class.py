"""scripts/grade_class.py: a class autograded in parallel gives the grades nbgrader gives.

A temporary course releases chapter 1; two students hand in the reference solution and
two the untouched release. Graded with two processes, the course gradebook must hold each
student's submission once, with full marks for the references and zero for the untouched
ones, the autograded notebooks must be where nbgrader puts them, and ``nbgrader export``
must see every grade. Grading again replaces the grades instead of adding submissions.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.grading, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_feedforward"
SOURCE = ROOT / "book" / ASSIGNMENT / "graded.ipynb"


def _load_script():
    spec = importlib.util.spec_from_file_location("grade_class", ROOT / "scripts" / "grade_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


grade_class = _load_script()


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, timeout=600)


def total_points() -> float:
    nb = nbformat.read(SOURCE, as_version=4)
    return sum(c.metadata.nbgrader.get("points", 0) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade"))


def test_shards_deal_every_student_once() -> None:
    students = [f"s{i:02d}" for i in range(7)]
    shards = grade_class.shard(students, 3)
    assert [len(s) for s in shards] == [3, 2, 2]
    assert sorted(sum(shards, [])) == students
    assert grade_class.shard(students[:1], 4) == [["s00"]]


def test_rejects_a_gradebook_that_is_not_sqlite() -> None:
    with pytest.raises(ValueError, match="sqlite"):
        grade_class._sqlite_path("postgresql://server/gradebook")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("class")
    config = (ROOT / "nbgrader_config.py").read_text() + "\nc.Execute.timeout = 30\n"
    (course / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "book" / ASSIGNMENT, course / "book" / ASSIGNMENT)
    generated = nbgrader(course, "generate_assignment", ASSIGNMENT)
    assert generated.returncode == 0, generated.stderr[-3000:]
    release = course / "course" / "release" / ASSIGNMENT / "graded.ipynb"
    for sid, notebook in [("ada", SOURCE), ("alan", release), ("grace", SOURCE), ("kurt", release)]:
        target = course / "course" / "submitted" / sid / ASSIGNMENT / "graded.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy(notebook, target)
    return course


def _scores(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'course' / 'gradebook.db'}") as gb:
        submissions = gb.assignment_submissions(ASSIGNMENT)
        return {s.student.id: s.score for s in submissions}


def test_a_class_graded_in_two_processes(course: Path) -> None:
    lines: list[str] = []
    summary = grade_class.grade_class(course, ASSIGNMENT, jobs=2, log=lines.append)
    assert sorted(summary["graded"]) == ["ada", "alan", "grace", "kurt"], lines
    assert summary["failed"] == [], lines
    assert "2 processes" in lines[0]
    full = total_points()
    assert _scores(course) == {"ada": full, "alan": 0.0, "grace": full, "kurt": 0.0}
    for sid in ("ada", "alan", "grace", "kurt"):
        assert (course / "course" / "autograded" / sid / ASSIGNMENT / "graded.ipynb").is_file()
    assert not list((course / "course").glob("gradebook.shard-*.db")), "shard gradebooks are removed"

    exported = nbgrader(course, "export", "--to", str(course / "grades.csv"))
    assert exported.returncode == 0, exported.stderr[-2000:]
    with open(course / "grades.csv") as f:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {"ada": full, "alan": 0.0, "grace": full, "kurt": 0.0}

    # A regrade of one student replaces that submission's grades; nothing is duplicated.
    again = grade_class.grade_class(course, ASSIGNMENT, jobs=2, students=["alan"], log=lines.append)
    assert again["graded"] == ["alan"] and again["merged"] == ["alan"]
    assert _scores(course) == {"ada": full, "alan": 0.0, "grace": full, "kurt": 0.0}


def test_shards_on_several_machines_merge_into_one_gradebook(course: Path) -> None:
    """The multi-machine recipe: grade disjoint shards without merging, then --merge them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'course' / 'gradebook.db'}") as gb:
        for sid in ("ada", "alan", "grace", "kurt"):
            gb.remove_submission(ASSIGNMENT, sid)
    kept = []
    for k in range(2):  # two "machines"
        summary = grade_class.grade_class(
            course, ASSIGNMENT, jobs=1, students=["ada", "alan", "grace", "kurt"][k::2],
            merge_into_course=False, log=lambda _: None,
        )
        (shard_db,) = summary["shards"]
        renamed = Path(shard_db).with_name(f"machine-{k}.db")
        Path(shard_db).rename(renamed)
        kept.append(str(renamed))
    assert _scores(course) == {}
    assert grade_class.main([ASSIGNMENT, "--course", str(course), "--merge", *kept]) == 0
    full = total_points()
    assert _scores(course) == {"ada": full, "alan": 0.0, "grace": full, "kurt": 0.0}
