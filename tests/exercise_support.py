"""What the exercise tests share: the chapters, their notebooks and reference solutions.

Every chapter with a graded notebook ``book/NN_name/graded.ipynb`` has an exercise module
``nnlab.exercises.chNN`` and a bug catalogue ``tests/student_bugs/chNN.py``;
tests/test_exercises.py runs the properties every chapter shares over all of them, and
tests/test_exercises_chNN.py keep what is special to one chapter.
"""

from __future__ import annotations

import functools
import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = {f"ch{p.parent.name[:2]}": p.parent for p in sorted((ROOT / "book").glob("*/graded.ipynb"))}
CHAPTERS: dict[str, ModuleType] = {
    chapter: importlib.import_module(f"nnlab.exercises.{chapter}") for chapter in NOTEBOOK_DIRS
}

# What a graded notebook hands to the grader when it is not the student's function itself
# (none today: chapter 5's loop is wrapped by the exercise itself, Exercise.wrap).
GRADED_ARGUMENT: dict[str, str] = {}


def cells(chapter: str, notebook: str = "graded") -> list[dict]:
    """The cells of ``book/NN_name/<notebook>.ipynb``."""
    return json.loads((NOTEBOOK_DIRS[chapter] / f"{notebook}.ipynb").read_text())["cells"]


@functools.cache
def reference_solutions(chapter: str) -> dict[str, Any]:
    """The reference solutions, taken from the graded notebook itself (what nbval runs)."""
    namespace: dict = {"np": np}
    for cell in cells(chapter):
        nbgrader = cell["metadata"].get("nbgrader", {})
        if nbgrader.get("solution") or nbgrader.get("grade_id") == "setup":
            exec("".join(cell["source"]), namespace)  # noqa: S102 - our own notebook
    return {name: namespace[name] for name in CHAPTERS[chapter].EXERCISES}


def graded_answer(exercise_id: str, answer: Any) -> Any:
    """What the graded notebook passes to ``grade`` for ``answer`` (see GRADED_ARGUMENT)."""
    chapter, name = exercise_id.split(".")
    if exercise_id in GRADED_ARGUMENT:
        return eval(GRADED_ARGUMENT[exercise_id], {chapter: CHAPTERS[chapter], name: answer})  # noqa: S307
    return answer


def lesson_headings(chapter: str) -> set[str]:
    """The titles of every heading of the chapter's lesson."""
    headings = set()
    for cell in cells(chapter, "lesson"):
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    headings.add(line.lstrip("#").strip())
    return headings


def grade_cells(chapter: str) -> list[str]:
    """The sources of the graded notebook's autograded cells."""
    return ["".join(c["source"]) for c in cells(chapter)
            if c["metadata"].get("nbgrader", {}).get("grade")]


def same_arguments(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """The two argument tuples hold equal values (arrays, lists of arrays, scalars)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, list):
            if not isinstance(y, list) or not same_arguments(tuple(x), tuple(y)):
                return False
        elif not np.array_equal(x, y):
            return False
    return True
