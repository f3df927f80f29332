"""nbgrader configuration of the nnlab course. Run every nbgrader command from this folder.

- The source notebooks live in the book: ``book/<chapter>/graded.ipynb``, so a chapter
  folder (``book/01_feedforward``) is an assignment (``01_feedforward``). Only notebooks
  named ``graded*.ipynb`` belong to the assignment; the lesson notebooks next to them
  are neither released nor graded.
- Everything nbgrader writes goes under ``course/`` (git-ignored, outside the book):
  release/, submitted/, autograded/, feedback/, solution/ and gradebook.db.
- Hidden tests are judged outside the student's kernel (nnlab.exercises.nbgrader_plugin).

The step-by-step guide is book/instructors.md ("For instructors").
"""

import os

from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute

from nnlab.exercises.nbgrader_plugin import HandOverDirectory, JudgeHiddenTests, LimitOutputSize

c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "nnlab"
c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "book"
c.CourseDirectory.notebook_id = "graded*"
for step in ("release", "submitted", "autograded", "feedback", "solution"):
    setattr(c.CourseDirectory, f"{step}_directory", os.path.join("course", step))
os.makedirs(os.path.join(HERE, "course"), exist_ok=True)  # sqlite does not create folders
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "course", "gradebook.db")
# Only the graded notebook is released: not the lessons, nor their assets (the explorers'
# precomputed frames).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "lesson*.ipynb",
                            "_explorer_frames"]

# zip_collect: files downloaded from a learning platform go in
# course/downloaded/<assignment>/archive/ (git-ignored with the rest of course/).
c.ZipCollectApp.downloaded_directory = os.path.join("course", "downloaded")

# Add the chapter to the gradebook when its assignment is first generated.
c.GenerateAssignment.create_assignment = True

# A notebook cell may run this long before nbgrader interrupts it (an infinite loop
# costs the student that cell, not the whole class's grading).
c.Execute.timeout = 60
# Seconds each student function may run inside the hidden tests. Each exercise is graded
# on cases drawn from a fresh seed; --JudgeHiddenTests.seed=SEED reproduces a grade.
c.JudgeHiddenTests.timeout = 30

# Judge the hidden tests after the kernel has run: HandOverDirectory before nbgrader's
# Execute, JudgeHiddenTests right after it, and a cap on the size of each output (nbgrader's
# LimitOutput counts lines, not characters); the rest of the pipeline is nbgrader's.
_pipeline = list(Autograde.class_traits()["autograde_preprocessors"].default())
_at = _pipeline.index(Execute)
c.Autograde.autograde_preprocessors = (
    _pipeline[:_at] + [HandOverDirectory, Execute, JudgeHiddenTests, LimitOutputSize]
    + _pipeline[_at + 1:]
)
