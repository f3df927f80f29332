"""The public site never shows a graded notebook's reference solutions or hidden tests.

Two ways an answer could get out, tested separately:

- **through the build**: the graded notebook's solution or hidden-test regions reaching
  anything under ``_build/`` (HTML, ``_sources``, downloadable notebooks, the search index,
  ``jupyter_execute``, doctrees). The site is built (``built_book`` fixture) and searched
  for every telling line of those regions; the task text and the visible checks must be
  there. A line that a page of the book publishes on purpose (a lesson's derivation, the
  instructors' page showing nbgrader's markers) is teaching material, not a leak, and is
  left to the second test;
- **through a lesson**: a page of the book that gives away most of a graded answer.
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


def taught_lines() -> dict[str, set[str]]:
    """Each public page of the book (not a graded notebook) as a set of stripped lines."""
    pages = {}
    for path in sorted((ROOT / "book").rglob("*")):
        if path.suffix not in {".md", ".ipynb"} or path.name.startswith("graded") or path.name == "CONTRIBUTING.md":
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        pages[str(path.relative_to(ROOT))] = {line.strip() for line in text.splitlines()}
    return pages


def solution_regions(path: Path) -> dict[str, list[str]]:
    """The telling lines of each solution region of a graded notebook, by grade_id."""
    nb = nbformat.read(path, as_version=4)
    regions = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = _regions(cell.source, "BEGIN SOLUTION", "END SOLUTION")
            regions[meta["grade_id"]] = [l for l in lines if len(l) >= 10 and "SOLUTION" not in l]
    return regions


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
    # What a lesson itself shows is public by design (whether the lessons give graded answers
    # away is checked below); a secret line found inside a lesson's text is not a leak.
    taught = "\n".join(line for page in taught_lines().values() for line in page)
    secrets = {line: path for path in GRADED for line in secret_lines(path) if line not in taught}
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


@pytest.mark.parametrize("path", GRADED, ids=[p.parent.name for p in GRADED])
def test_no_lesson_gives_away_a_graded_answer(path):
    # A lesson may share an idiom with an answer (``mu = x.mean(axis=0)``); it must not
    # contain a good part of a graded solution, even reworded around a few lines (names of
    # variables differ between a lesson and an answer, so a third already says a lot).
    pages = taught_lines()
    for grade_id, lines in solution_regions(path).items():
        if len(lines) < 3:
            continue
        for page, page_lines in pages.items():
            shared = [line for line in lines if line in page_lines]
            assert len(shared) < 2 or len(shared) <= len(lines) / 3, (
                f"{page} contains {len(shared)} of the {len(lines)} lines of the reference "
                f"solution of {path.parent.name}/{grade_id}: {shared}"
            )
