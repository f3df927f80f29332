"""nbgrader preprocessors that take the verdict of each hidden test out of the kernel.

``nbgrader_config.py`` puts :class:`HandOverDirectory` before nbgrader's ``Execute`` and
:class:`JudgeHiddenTests` right after it. While the student's notebook runs, each hidden
test (:func:`nnlab.exercises.grade`) only leaves the student's function, pickled, in a
fresh directory. Once the kernel is gone, :class:`JudgeHiddenTests` judges each of them
here, in nbgrader's process, with the student's code confined to a runner process
(:mod:`nnlab.exercises._isolation`), and writes the verdict into the test cell's outputs:
a failure becomes an error output, which nbgrader scores as zero; a pass is appended as
a ✓ line. The kernel cannot fake a pass, whatever it patched; at most it chooses which
function of its own is judged.

Each exercise is graded on cases drawn from a fresh seed, which the verdict line prints
(so it is in the autograded notebook and the feedback). ``nbgrader autograde ...
--JudgeHiddenTests.seed=SEED`` grades on the cases of that seed again.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer

from nnlab.exercises._isolation import SUBMISSION_ENV, get_exercise, isolated_verdict, passed_line

__all__ = ["HandOverDirectory", "JudgeHiddenTests", "LimitOutputSize"]

# A hidden test names its exercise as the first argument of grade(...).
_GRADE_CALL = re.compile(r"""grade\(\s*["'](ch\d+\.\w+)["']""")


class HandOverDirectory(NbGraderPreprocessor):
    """Create the directory where the kernel's hidden tests leave the functions."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict]:
        directory = tempfile.mkdtemp(prefix="nnlab-submission-")
        # The kernel that nbgrader starts next inherits this environment.
        os.environ[SUBMISSION_ENV] = directory
        resources.setdefault("nnlab", {})["submission_dir"] = directory
        return nb, resources


class JudgeHiddenTests(NbGraderPreprocessor):
    """Judge each hidden test's function outside the kernel and record the verdict."""

    timeout = Float(30.0, help="Seconds the student's function may run per exercise").tag(config=True)
    seed = Integer(None, allow_none=True,
                   help="Grade on the cases of this seed (to reproduce a grade); "
                        "by default each exercise draws a new one").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict]:
        directory = resources.get("nnlab", {}).get("submission_dir")
        os.environ.pop(SUBMISSION_ENV, None)
        try:
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                match = _GRADE_CALL.search(cell.source) if cell.cell_type == "code" else None
                if meta.get("grade") and match:
                    self._judge(cell, match.group(1), directory)
        finally:
            if directory:
                shutil.rmtree(directory, ignore_errors=True)
        return nb, resources

    def _judge(self, cell: NotebookNode, exercise_id: str, directory: str | None) -> None:
        exercise = get_exercise(exercise_id)
        pickled = Path(directory or "/nonexistent") / f"{exercise.id}.pkl"
        seed = self.seed
        if pickled.is_file():
            verdict, seed = isolated_verdict(exercise, pickled.read_bytes(), self.timeout, self.seed)
        else:
            verdict = (f"{exercise.name}: the hidden tests did not receive your function "
                       "(did an earlier cell replace nnlab.exercises.grade or its helpers?).")
        already_failed = any(o.output_type == "error" for o in cell.outputs)
        if verdict is None:
            if not already_failed:
                cell.outputs.append(new_output("stream", name="stdout", text=passed_line(exercise, seed) + "\n"))
            return
        self.log.info("%s failed: %s", exercise.id, verdict.splitlines()[0])
        if already_failed:
            return  # the kernel's own error explains it, and already scores zero
        # An error output is what nbgrader scores as zero; the kernel's prints stay above it.
        cell.outputs.append(new_output(
            "error", ename="AssertionError", evalue=verdict,
            traceback=[f"AssertionError: {verdict}"],
        ))


class LimitOutputSize(NbGraderPreprocessor):
    """Cut each text output to ``max_chars`` characters.

    nbgrader's own ``LimitOutput`` counts lines, so one 10 MB line (``print("x" * 10**7)``)
    would otherwise travel whole into the autograded notebook and the feedback page.
    """

    max_chars = Integer(100_000, help="Characters kept of each text output").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any],
                        index: int) -> tuple[NotebookNode, dict]:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = self._cut(output.text)
            elif "data" in output and isinstance(output.data.get("text/plain"), str):
                output.data["text/plain"] = self._cut(output.data["text/plain"])
                for key in [k for k in output.data if k != "text/plain"]:
                    value = output.data[key]
                    if isinstance(value, str) and len(value) > self.max_chars:
                        del output.data[key]
        return cell, resources

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + f"\n... Output truncated ({len(text):,} characters in all) ...\n"
