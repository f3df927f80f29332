"""The PDF edition (`make pdf`, scripts/build_pdf.py), built once for this module.

Checks what a reader of the PDF, with or without a screen reader, relies on: every
chapter is there, the equations were typeset (no raw LaTeX left in the text), the PDF is
tagged (a structure tree, MarkInfo /Marked) and has an outline (bookmarks), every figure
and explorer is printed as a tagged Figure with its alt text, and internal links
(cross-references to equations, theorems, sections) are links inside the PDF.
Needs Chromium, like the browser test; pypdf reads the result.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
# TeX that MathJax would have typeset. (Code cells may hold TeX in matplotlib labels, such
# as r"$\\partial \\ell$", so only what the book's code never prints is searched for.)
RAW_LATEX = ("\\frac", "$$", "\\mathbf", "\\begin{", "\\mathcal")


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path("/usr/bin/chromium").is_file() and not __import__("shutil").which("chromium"):
        pytest.skip("Chromium not found (apt-get install chromium)")
    if not (ROOT / "_vendor" / "mathjax" / "tex-mml-chtml.js").exists():
        pytest.fail("the book needs its JavaScript assets: run `make assets`")
    out = tmp_path_factory.mktemp("pdf")
    result = subprocess.run(
        [sys.executable, "scripts/build_pdf.py", "--out", str(out), "--site", str(out / "no-site")],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, f"scripts/build_pdf.py failed:\n{(result.stdout + result.stderr)[-5000:]}"
    return out / "nnlab-book.pdf"


@pytest.fixture(scope="module")
def reader(pdf: Path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed")
    return pypdf.PdfReader(str(pdf))


@pytest.fixture(scope="module")
def text(reader) -> str:
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() or "" for page in reader.pages))


def _squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


def _chapter_titles() -> list[str]:
    """The title (first heading) of every lesson in the table of contents."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    titles = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            path = ROOT / f"{chapter['file']}.ipynb"
            if not path.exists():
                continue
            nb = json.loads(path.read_text(encoding="utf-8"))
            for cell in nb["cells"]:
                if cell["cell_type"] != "markdown":
                    continue
                heading = re.search(r"^# (.+)$", "".join(cell["source"]), re.M)
                if heading:
                    titles.append(heading.group(1))
                    break
    return titles


def _plain(title: str) -> str:
    """A heading as its letters: no markup and no spaces (text extraction may drop them)."""
    return re.sub(r"[`*_$\s]", "", title)


def test_every_chapter_is_in_the_pdf(text: str) -> None:
    titles = _chapter_titles()
    assert len(titles) >= 10
    squeezed = _squeezed(text)
    missing = [t for t in titles if _plain(t) not in squeezed]
    assert not missing, f"chapters missing from the PDF text: {missing}"


def test_no_raw_latex_is_left(text: str) -> None:
    left = {s: text.count(s) for s in RAW_LATEX if s in text}
    assert not left, f"untypeset LaTeX in the PDF text: {left}"


def test_the_pdf_is_tagged(reader) -> None:
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog, "no structure tree: the PDF is not tagged"
    mark_info = catalog.get("/MarkInfo")
    assert mark_info is not None and bool(mark_info.get_object().get("/Marked"))


def test_the_pdf_has_an_outline_with_every_chapter(reader) -> None:
    def titles(items) -> list[str]:
        found = []
        for item in items:
            if isinstance(item, list):
                found += titles(item)
            else:
                found.append(_squeezed(item.title))
        return found

    outline = titles(reader.outline)
    missing = [t for t in _chapter_titles() if not any(_plain(t) in o for o in outline)]
    assert outline and not missing, f"chapters missing from the outline: {missing}"


def test_internal_links_stay_inside_the_pdf(reader) -> None:
    internal = 0
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            action = annot.get("/A")
            if annot.get("/Dest") is not None or (action is not None and action.get_object().get("/S") == "/GoTo"):
                internal += 1
    assert internal >= 50, f"only {internal} internal links"


def test_equations_theorems_and_exercises_are_numbered(text: str) -> None:
    # As on the site (numfig, math_numfig): labelled equations "(12)", "Theorem 1",
    # "Exercise 3"; captioned figures would be "Fig. 1".
    assert len(re.findall(r"\(\d+(\.\d+)*\)", text)) >= 20, "too few equation numbers"
    assert re.search(r"Theorem \d+", text) and re.search(r"Exercise \d+", text)


def _expected_images() -> int:
    """Image outputs and explorers (one frame each) of the notebooks in the book."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries: list) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    count = 0
    for doc in files:
        path = ROOT / f"{doc}.ipynb"
        if path.exists():
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                for out in cell.get("outputs", []):
                    data = out.get("data", {})
                    html = "".join(data.get("text/html", ""))
                    count += "image/png" in data or "nnlab-frames" in html
    return count


def _figures(reader) -> list[str]:
    """The alt text of every Figure element of the PDF's structure tree ("" if none)."""
    import pypdf

    alts = []
    stack = [reader.trailer["/Root"]["/StructTreeRoot"].get_object().get("/K")]
    while stack:
        node = stack.pop()
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, pypdf.generic.ArrayObject):
            stack.extend(node)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            if node.get("/S") == "/Figure":
                alts.append(str(node.get("/Alt", "")))
            if node.get("/K") is not None:
                stack.append(node["/K"])
    return alts


def test_every_figure_and_explorer_is_printed_with_its_alt_text(reader) -> None:
    # Chromium tags each <img> as a Figure whose /Alt is the image's alt attribute.
    alts = _figures(reader)
    assert len(alts) >= _expected_images(), f"{len(alts)} figures in the PDF, {_expected_images()} in the notebooks"
    assert all(a.strip() for a in alts), f"{sum(not a.strip() for a in alts)} figures of the PDF have no alt text"
