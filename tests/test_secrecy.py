"""The public site never shows a graded notebook's reference solutions or hidden tests.

Builds the book (the ``built_book`` fixture) and searches everything under ``_build/``
(HTML, ``_sources``, downloadable notebooks, the search index, ``jupyter_execute``,
doctrees) for every line of every solution region and hidden-test region of every
``book/*/graded*.ipynb``; the task text and the visible checks must be there.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GRADED = sorted((ROOT / "book").glob("*/graded*.ipynb"))

sys.path.insert(0, str(ROOT / "_ext"))
from nnlab_graded import release_form

pytestmark = pytest.mark.slow


def _regions(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        if inside:
            lines.append(line.strip())
        if end in line:
            inside = False
    return lines


def secret_lines(path: Path) -> set[str]:
    """Lines of solutions and hidden tests that the released notebook does not contain."""
    nb = nbformat.read(path, as_version=4)
    public = release_form(path.read_text())
    secrets: set[str] = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        found = _regions(cell.source, "BEGIN SOLUTION", "END SOLUTION")
        found += _regions(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        if meta.get("solution") and not found:  # a whole-cell solution
            found = [line.strip() for line in cell.source.splitlines()]
        # Lines too short to be telling ("pass", "return H") would match by chance.
        secrets |= {s for s in found if len(s) >= 10 and s not in public}
    return secrets


def public_lines(path: Path) -> set[str]:
    """The task headings and the visible check calls: these must be on the site."""
    nb = nbformat.read(path, as_version=4)
    lines = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and cell.source.startswith("#"):
            lines.add(cell.source.splitlines()[0].lstrip("#").strip())
        if meta.get("grade") and cell.cell_type == "code":
            lines.add(cell.source.split("### BEGIN HIDDEN TESTS")[0].strip().splitlines()[0])
    return lines


def searchable_forms(path: Path) -> list[str]:
    """The file's text as stored, and for HTML also as a reader sees it (tags removed)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    forms = [text]
    if path.suffix in {".html", ".js", ".ipynb", ".json", ".txt"} or ".ipynb" in path.name:
        forms.append(html.unescape(re.sub(r"<[^>]+>", "", text)))
    return forms


def test_there_is_a_graded_notebook_with_secrets():
    assert GRADED, "no book/*/graded*.ipynb found"
    for path in GRADED:
        assert len(secret_lines(path)) >= 3, path


def test_no_solution_or_hidden_test_anywhere_in_the_built_site(built_book):
    build_dir = Path(built_book).parent
    secrets = {line: path for path in GRADED for line in secret_lines(path)}
    # Also as they look inside a JSON string (an .ipynb or the search index).
    escaped = {json.dumps(line)[1:-1]: line for line in secrets}
    leaks = []
    for file in build_dir.rglob("*"):
        if not file.is_file():
            continue
        for text in searchable_forms(file):
            for needle in [*secrets, *escaped]:
                if needle in text:
                    leaks.append(f"{file.relative_to(build_dir)}: {escaped.get(needle, needle)!r}")
    assert not leaks, "graded answers leaked into the site:\n" + "\n".join(sorted(set(leaks))[:40])


def test_tasks_and_visible_checks_are_on_the_site(built_book):
    for path in GRADED:
        rel = path.relative_to(ROOT).with_suffix(".html")
        page = html.unescape(re.sub(r"<[^>]+>", "", (Path(built_book) / rel).read_text()))
        # Sphinx typesets quotes (smartquotes): compare with straight ones.
        page = page.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))
        for line in public_lines(path):
            assert line in page, (rel, line)
        download = Path(built_book) / "_sources" / path.relative_to(ROOT)
        released = nbformat.read(download, as_version=4)
        assert any("raise NotImplementedError()" in c.source for c in released.cells), download


def test_the_search_would_find_a_leak():
    # Scanning the unreleased source notebooks must find every secret line, or the
    # site test above could pass by searching wrongly.
    for path in GRADED:
        texts = searchable_forms(path)
        for line in secret_lines(path):
            assert any(json.dumps(line)[1:-1] in t or line in t for t in texts), (path, line)
