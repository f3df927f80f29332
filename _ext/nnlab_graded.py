"""Sphinx extension: the book shows graded notebooks as students receive them.

A graded notebook (``book/<chapter>/graded.ipynb``) is stored with its reference
solutions and hidden tests, executed, so that nbval proves the solutions right. The
public site must show only what nbgrader releases to students. This extension

* on ``source-read``, hands Sphinx (and so myst-nb, the HTML and the search index) the
  release form of every notebook that carries nbgrader metadata: nbgrader's own
  ``ClearSolutions`` and ``ClearHiddenTests`` preprocessors, and no outputs on the
  solution and test cells (their outputs come from the reference solution);
* on ``build-finished``, rewrites every copy of such a notebook under the build
  directory (``_sources/`` is what the download button serves; ``jupyter_execute/``)
  into the same release form.

tests/test_secrecy.py builds the site and checks that no solution or hidden-test line
survives anywhere under ``_build/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

__all__ = ["release_form", "setup"]

_RELEASED = "nnlab_released"


def _is_graded(nb: nbformat.NotebookNode) -> bool:
    return any("nbgrader" in cell.get("metadata", {}) for cell in nb.cells)


def release_form(text: str) -> str | None:
    """The student version of a notebook's JSON text, or None if it is not an nbgrader notebook."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception:  # not a notebook we understand: leave it to myst-nb to complain
        return None
    if not _is_graded(nb) or nb.metadata.get(_RELEASED):
        # Released already (a copy rewritten by an earlier build): releasing twice would
        # replace the stubbed solution cells wholesale, task signature included.
        return None
    resources: dict[str, Any] = {}
    nb, resources = ClearSolutions().preprocess(nb, resources)
    nb, resources = ClearHiddenTests().preprocess(nb, resources)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            cell.outputs = []
            cell.execution_count = None
    nb.metadata[_RELEASED] = True
    return nbformat.writes(nb)


def _on_source_read(app: Any, docname: str, source: list[str]) -> None:
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    released = release_form(source[0])
    if released is not None:
        source[0] = released


def _on_build_finished(app: Any, exception: Exception | None) -> None:
    if exception is not None:
        return
    build_dir = Path(app.outdir).parent  # _build: html/, jupyter_execute/, .doctrees/
    for path in build_dir.rglob("*.ipynb*"):
        if not path.is_file():
            continue
        released = release_form(path.read_text(encoding="utf-8"))
        if released is not None:
            path.write_text(released, encoding="utf-8")


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _on_source_read)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
