"""book/instructors.md's "Adding an exercise", followed word for word in a temporary course.

The code, the cells (with their nbgrader metadata), the bug and the commands are all
read from the page itself: the exercise is appended to a copy of nnlab's chapter file,
the cells to a copy of the graded notebook, and the course is released and graded by
nbgrader, the copied nnlab first on PYTHONPATH. If the page goes stale, this fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from student_bugs import Bug

pytestmark = [pytest.mark.grading, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "instructors.md"
ASSIGNMENT = "01_feedforward"


def _blocks(language: str) -> list[str]:
    """The fenced blocks of the page in ``language``, dedented (some sit in list items)."""
    found = re.findall(rf"^( *)```{language}\n(.*?)^\1```", PAGE.read_text(), flags=re.M | re.S)
    return [textwrap.dedent(body) for _, body in found]


def _block(language: str, marker: str) -> str:
    (block,) = [b for b in _blocks(language) if marker in b]
    return block


def _metadata(grade_id: str) -> dict:
    for span in re.findall(r"`(\{\"grade\".*?\})`", PAGE.read_text()):
        meta = json.loads(span)
        if meta["grade_id"] == grade_id:
            return meta
    raise AssertionError(f"the page gives no metadata for {grade_id}")


def _commands() -> list[list[str]]:
    """The commands of the recipe's last step ("Release and grade")."""
    step = PAGE.read_text().split("**Release and grade**")[1]
    block = re.search(r"```bash\n(.*?)```", step, flags=re.S).group(1)
    return [line.split() for line in textwrap.dedent(block).splitlines() if line.strip()]


def test_the_recipe_for_adding_an_exercise_works_as_written(tmp_path):
    # 1. The exercise, appended to a copy of the package.
    package = tmp_path / "package"
    shutil.copytree(ROOT / "nnlab", package / "nnlab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    chapter_file = package / "nnlab" / "exercises" / "ch01.py"
    chapter_file.write_text(chapter_file.read_text() + "\n\n" + _block("python", "relu = Exercise("))
    env = dict(os.environ, PYTHONPATH=str(package))

    # 3. The bug of the catalogue fails with its symptom, the solution passes (in the copy).
    catalogue_entry = _block("python", '"relu": [')
    solution = _block("python", "### BEGIN SOLUTION")
    script = "\n".join([
        "import re, sys",
        "import numpy as np",
        f"sys.path.insert(0, {str(ROOT / 'tests')!r})",
        "from student_bugs import Bug, compile_bug",
        "from nnlab.exercises import ch01",
        "bugs = {" + catalogue_entry + "}['relu']",
        "namespace = {'np': np}",
        f"exec({solution!r}, namespace)",
        "ch01.relu.check(namespace['relu'])",
        "for bug in bugs:",
        "    try:",
        "        ch01.relu.check(compile_bug(bug, 'relu'))",
        "    except AssertionError as exc:",
        "        assert re.search(bug.symptom, str(exc)), str(exc)",
        "    else:",
        "        raise SystemExit('bug passed: ' + bug.name)",
        "print('recipe ok', ch01.__file__)",
    ])
    checked = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, timeout=300, cwd=tmp_path)
    assert checked.returncode == 0 and "recipe ok" in checked.stdout, checked.stderr[-3000:]
    assert str(package) in checked.stdout  # the copy, not the installed nnlab

    # 2. The cells, appended to a copy of the graded notebook.
    course = tmp_path / "course"
    (course / "book").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "book" / ASSIGNMENT, course / "book" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns("lesson*.ipynb"))
    source = course / "book" / ASSIGNMENT / "graded.ipynb"
    nb = nbformat.read(source, as_version=4)
    task = nbformat.v4.new_markdown_cell(_block("markdown", "## Exercise"))
    task.metadata["nbgrader"] = _metadata("relu_task")
    answer = nbformat.v4.new_code_cell(solution.rstrip("\n"))
    answer.metadata["nbgrader"] = _metadata("relu")
    tests = nbformat.v4.new_code_cell(_block("python", "ch01.relu.check(relu)").rstrip("\n"))
    tests.metadata["nbgrader"] = _metadata("relu_tests")
    nb.cells += [task, answer, tests]
    nbformat.write(nb, source)

    # 4. Release and grade, with the page's commands: a right and a wrong submission.
    for command in _commands():
        assert command[0] == "nbgrader"
        if command[1] == "autograde":
            for sid, relu_source in (("right", solution), ("wrong", catalogue_entry)):
                submitted = nbformat.read(source, as_version=4)
                if sid == "wrong":
                    (bug, *_) = eval("{" + relu_source + "}", {"Bug": Bug})["relu"]  # noqa: S307
                    next(c for c in submitted.cells
                         if c.metadata.get("nbgrader", {}).get("grade_id") == "relu").source = bug.source
                target = course / "course" / "submitted" / sid / ASSIGNMENT / "graded.ipynb"
                target.parent.mkdir(parents=True)
                nbformat.write(submitted, target)
        done = subprocess.run([sys.executable, "-m", "nbgrader", *command[1:]], cwd=course, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (command, done.stderr[-3000:])

    released = (course / "course" / "release" / ASSIGNMENT / "graded.ipynb").read_text()
    assert "ch01.relu.check(relu)" in released and "np.maximum(Z, 0.0)" not in released

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'course' / 'gradebook.db'}") as gb:
        scores = {sid: {g.name: g.score for g in gb.find_submission_notebook("graded", ASSIGNMENT, sid).grades}
                  for sid in ("right", "wrong")}
    others = {name: score for name, score in scores["right"].items() if name != "relu_tests"}
    assert scores["right"]["relu_tests"] == _metadata("relu_tests")["points"]
    assert scores["wrong"]["relu_tests"] == 0
    assert all(score > 0 for score in others.values()), others
    assert {k: v for k, v in scores["wrong"].items() if k != "relu_tests"} == others
