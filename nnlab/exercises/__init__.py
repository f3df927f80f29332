"""Exercises with instant feedback, and the hidden tests that grade them.

Each chapter has a module (``nnlab.exercises.ch01``, ...) holding one
:class:`~nnlab.exercises._core.Exercise` per exercise. While working, a student calls

>>> from nnlab.exercises import ch01
>>> ch01.linear_forward.check(linear_forward)   # doctest: +SKIP
✓ linear_forward: passed (6 random cases)
>>> ch01.linear_forward.hint(1)                 # doctest: +SKIP

and a graded notebook's hidden test calls ``nnlab.exercises.grade("ch01.linear_forward",
linear_forward)``, which runs the same check where the notebook cannot tamper with it
(see :mod:`nnlab.exercises._isolation`). How to add an exercise: book/instructors.md.
"""

from nnlab.exercises._core import Case, Exercise
from nnlab.exercises._isolation import get_exercise, grade

__all__ = ["Case", "Exercise", "get_exercise", "grade"]
