"""Catalogues of typical student bugs, one module per chapter (``ch01.py``, ...).

Each module defines ``BUGS``: for every graded exercise, a list of :class:`Bug`, each a
wrong solution as notebook source code (so the grading tests can submit it through
nbgrader) and a regular expression that the check's message must match, which is how
we know the message points at the bug rather than merely failing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    name: str
    source: str
    symptom: str  # regex the AssertionError message must match


def catalogue(chapter: str) -> dict[str, list[Bug]]:
    """``BUGS`` of ``tests/student_bugs/<chapter>.py``, e.g. ``catalogue("ch01")``."""
    return importlib.import_module(f"{__name__}.{chapter}").BUGS


def compile_bug(bug: Bug, exercise_name: str):
    """The function that ``bug.source`` defines, as a notebook would define it."""
    namespace: dict = {}
    exec(compile("import numpy as np\n" + bug.source, f"<bug {bug.name}>", "exec"), namespace)
    return namespace[exercise_name]
