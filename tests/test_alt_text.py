"""Every figure of the book has alt text written by its author (WCAG 2.1 SC 1.1.1).

A notebook cell that outputs an image carries the figure's description in its metadata,
``{"mystnb": {"image": {"alt": "..."}}}``, which myst-nb puts on the ``<img>`` of the
site and of the PDF. Without it the reader of a screen reader hears the image's file
name. Each call of ``nnlab.widgets.explorer`` passes ``alt``, a template of the controls'
values that names every control, so each precomputed frame of an explorer has its own
description. Markdown images
(``![alt](path)``) need a non-empty alt. No browser needed: this reads the notebooks.
"""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
# What a generated, not written, alt text looks like: a file path or a repr.
NOT_WRITTEN = re.compile(r"(\.(png|jpe?g|gif|svg)\b|^\.{0,2}/|_images/|<Figure size|<matplotlib\.|^Placeholder)", re.I)
MIN_WORDS = 5  # "The loss curve." says too little; the axes and the conclusion need more.
MARKDOWN_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")


def _toc_docs() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = [toc["root"]]

    def walk(entries: list) -> None:
        for entry in entries or []:
            if "file" in entry:
                docs.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(toc.get("chapters", []))
    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return docs


def _toc_notebooks() -> list[Path]:
    return [ROOT / f"{doc}.ipynb" for doc in _toc_docs() if (ROOT / f"{doc}.ipynb").exists()]


NOTEBOOKS = _toc_notebooks()


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _where(i: int, cell: dict) -> str:
    first = _source(cell).strip().splitlines()[:1]
    return f"cell {i} (id {cell.get('id', '?')}: {first[0][:60] if first else ''!r})"


def alt_problem(alt: object) -> str | None:
    """Why ``alt`` is not an author-written alt text, or None if it is one."""
    if not isinstance(alt, str) or not alt.strip():
        return "no alt text (metadata mystnb.image.alt)"
    if NOT_WRITTEN.search(alt.strip()):
        return f"alt text is generated, not written: {alt[:60]!r}"
    if len(alt.split()) < MIN_WORDS:
        return f"alt text too short to say what the figure shows: {alt!r}"
    return None


def _explorer_calls(source: str) -> list[ast.Call]:
    # IPython magics (%config, !pip) are not Python: blank those lines before parsing.
    cleaned = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(cleaned)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "explorer":
                calls.append(node)
    return calls


def _literal_str(node: ast.AST) -> str | None:
    """The value of a string literal, or of literals joined with +; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_str(node.left), _literal_str(node.right)
        return None if left is None or right is None else left + right
    return None


def _is_fixed(node: ast.AST) -> bool:
    """``ipywidgets.fixed(...)``: a value passed to draw, not a control."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")) == "fixed"


def explorer_problems(source: str) -> list[str]:
    """What is wrong with the alt of each ``explorer(...)`` call in ``source``."""
    problems = []
    for call in _explorer_calls(source):
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if "alt" not in keywords:
            problems.append(f"explorer(...) on line {call.lineno} passes no alt")
            continue
        alt = _literal_str(keywords["alt"])
        if alt is None:
            continue  # built at run time; nnlab.widgets.explorer checks it when it runs
        fields = {field for _, field, _, _ in string.Formatter().parse(alt) if field}
        example = alt.format(**{f: 1 for f in fields})
        problem = alt_problem(example)
        unknown = sorted(fields - set(keywords))
        controls = {name for name, value in keywords.items() if name not in ("alt", "figsize", "dpi") and not _is_fixed(value)}
        unnamed = sorted(controls - fields)
        if problem:
            problems.append(f"explorer(...) on line {call.lineno}: {problem}")
        if unknown:
            problems.append(f"explorer(...) on line {call.lineno}: alt names {unknown}, which are not controls")
        if unnamed:
            problems.append(
                f"explorer(...) on line {call.lineno}: alt does not name the control(s) {unnamed}, so a screen "
                "reader would hear the same description for different figures"
            )
    return problems


def notebook_problems(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for i, cell in enumerate(nb["cells"]):
        where = _where(i, cell)
        if cell["cell_type"] == "markdown":
            for alt, target in MARKDOWN_IMAGE.findall(_source(cell)):
                problem = alt_problem(alt)
                if problem:
                    problems.append(f"{where}: image {target}: {problem}")
            continue
        if cell["cell_type"] != "code":
            continue
        images = sum(
            1 for out in cell.get("outputs", [])
            if out.get("output_type") in ("display_data", "execute_result")
            and any(t in out.get("data", {}) for t in IMAGE_TYPES)
        )
        if images:
            alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")
            problem = alt_problem(alt)
            if problem:
                problems.append(f"{where}: {images} image output(s), {problem}")
        problems += [f"{where}: {p}" for p in explorer_problems(_source(cell))]
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_every_figure_has_written_alt_text(path: Path) -> None:
    problems = notebook_problems(path)
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_markdown_pages_images_have_alt_text() -> None:
    problems = []
    for doc in _toc_docs():
        page = ROOT / f"{doc}.md"
        if page.exists():
            for alt, target in MARKDOWN_IMAGE.findall(page.read_text(encoding="utf-8")):
                problem = alt_problem(alt)
                if problem:
                    problems.append(f"{doc}.md: image {target}: {problem}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("alt", "ok"),
    [
        ("../../_images/25c25f0a.png", False),
        ("<Figure size 480x256 with 1 Axes>", False),
        ("", False),
        ("Loss curve.", False),
        ("Training loss (solid) and validation loss (dashed) against epochs: both fall, then validation rises.", True),
    ],
)
def test_the_rule_itself(alt: str, ok: bool) -> None:
    assert (alt_problem(alt) is None) is ok


def test_explorer_calls_are_found_and_checked() -> None:
    good = 'explorer(draw, alt="Fit of a network of width {width} to the sine target", width=(1, 8, 1))'
    assert explorer_problems(good) == []
    assert explorer_problems("w = nnlab.widgets.explorer(draw, width=(1, 8, 1))") == [
        "explorer(...) on line 1 passes no alt"
    ]
    assert "not controls" in explorer_problems('explorer(d, alt="The fit at depth {depth} of the net", width=(1, 8, 1))')[0]
    unnamed = explorer_problems('explorer(d, alt="The fit of a network of width {width}", width=(1, 8, 1), target=["a", "b"])')
    assert len(unnamed) == 1 and "does not name the control(s) ['target']" in unnamed[0]
    fixed = 'explorer(d, alt="The fit of a network of width {width}", width=(1, 8, 1), t=ipywidgets.fixed(2))'
    assert explorer_problems(fixed) == []
