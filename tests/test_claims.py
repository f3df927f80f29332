"""The prose cannot disagree with the code: measured numbers are glued, solutions run.

The convention (book/CONTRIBUTING.md, "Claims"): a number the code *measured* is never
typed into the prose; it is glued from the cell that computes it with myst-nb's ``glue``
and shown with ``{glue:text}`key:format` ``, so text and output cannot differ. A
qualitative claim ("diverges", "much smaller") is asserted in the cell that measures it.

What the test can tell apart:

- A *measured* number is one the prose writes and the code does not already contain: a
  decimal number (0.82), a percentage (77 %), a power of ten (1e-5, 10^{-4}, 10⁻⁴), a
  ratio (20×) or a fraction of integers (57/64, outside maths), in prose or in maths.
- It is *not* measured, and may be typed, when the notebook's code contains the same
  value as a literal: a setting the code is given (``lr=0.2``, ``p=0.5`` for "50 %").
- A constant of a derivation (0.25, the largest slope of the sigmoid) is declared, with
  its reason, in the notebook's metadata: ``{"nnlab": {"constants": {"0.25": "why"}}}``.

Plain integers (chapter numbers, widths, epochs, seeds) are not checked: too many of
them are labels rather than results.
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
import tokenize
from pathlib import Path

import pytest
from myst_nb.core.variables import format_plain_text

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
GLUE_PREFIX = "application/papermill.record/"

NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _cells(nb: dict, kind: str) -> list[tuple[int, dict]]:
    return [(i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == kind]


# ---------------------------------------------------------------------------------------
# Glue: every reference resolves to a value glued in the same notebook and formats.

GLUE_ROLE = re.compile(r"\{glue(?::(?:text|md|any))?:?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"^\s*[`:]{3,}\{glue(?::(?:figure|math|md|any))?:?\}\s+(\S+)", re.M)


def glued_values(nb: dict) -> dict[str, dict]:
    """The data of every glued value of a notebook, by key (as myst-nb extracts it)."""
    values: dict[str, dict] = {}
    for _, cell in _cells(nb, "code"):
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                prefix = scrapbook.get("mime_prefix", "")
                values[scrapbook["name"]] = {k[len(prefix):]: v for k, v in output["data"].items()}
    return values


def glue_references(text: str) -> list[tuple[str, str]]:
    """(key, format spec) of every glue role and directive in a markdown text."""
    refs = []
    for match in GLUE_ROLE.finditer(text):
        key, _, spec = match.group(1).partition(":")
        refs.append((key.split("::")[-1], spec))
    refs += [(m.group(1).split("::")[-1], "") for m in GLUE_DIRECTIVE.finditer(text)]
    return refs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_glue_reference_resolves_and_formats(path: Path) -> None:
    nb = _load(path)
    values = glued_values(nb)
    problems = []
    for index, cell in _cells(nb, "markdown"):
        for key, spec in glue_references(_source(cell)):
            if key not in values:
                problems.append(f"cell {index}: {{glue}} `{key}` is glued by no code cell of {path.name}")
                continue
            plain = values[key].get("text/plain")
            if plain is None:
                continue  # a figure or other rich output, pasted by {glue:figure} / {glue}
            try:
                ast.literal_eval(plain)
            except (SyntaxError, ValueError):
                problems.append(
                    f"cell {index}: `{key}` is glued as {plain!r}; glue a Python float, int or str "
                    "(float(x), round(x, 3)), whose repr is plain and the same on every machine"
                )
                continue
            try:
                format_plain_text(plain, spec)
            except (TypeError, ValueError) as error:
                problems.append(f"cell {index}: `{key}:{spec}` cannot format {plain!r}: {error}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------
# Measured numbers in markdown.

# Removed before looking for numbers: things that are not claims.
_NOT_PROSE = [
    re.compile(r"^(`{3,}|:{3,}).*?^\1\s*$", re.M | re.S),  # fenced blocks (other checks own them)
    re.compile(r"^\s*[`:]{3,}.*$", re.M),  # directive fences that open/close gated blocks
    re.compile(r"^\s*:[\w-]+:.*$", re.M),  # directive options (:label:, :class:)
    re.compile(r"^#+ .*$", re.M),  # headings: "## 5.8 Early stopping"
    re.compile(r"^\([\w-]+\)=\s*$", re.M),  # labels
    GLUE_ROLE,
    re.compile(r"\{[\w:-]+\}`[^`]*`"),  # roles: {ref}, {eq}, {cite}, {numref}, {doc}...
    re.compile(r"``.*?``|`[^`\n]*`"),  # inline code
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"<!--.*?-->", re.S),  # comments
    re.compile(r"https?://\S+|doi:\S+|arXiv:\S+", re.I),
    # "section 1.3", "sections 5.2-5.4", "nnlab 0.1", "Python 3.11", "numpy 2.0": names, not values
    re.compile(r"\b(?:[Ss]ections?|§|[Cc]hapters?|[Ee]quations?|[Ff]igures?|[Tt]ables?|"
               r"nnlab|[Pp]ython|numpy|NumPy|PyTorch|torch|nbgrader|version|WCAG)\s+\d+(?:\.\d+)+"
               r"(?:\s*(?:-|–|and|to)\s*\d+(?:\.\d+)+)?"),
]

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_NUMBER_PATTERNS = [
    # powers of ten: 10^{-4}, 10^-4, 10⁻⁴, optionally after "3.9 \times"
    ("power", re.compile(r"(?:(\d+(?:\.\d+)?)\s*(?:\\times|×|\\cdot)\s*)?10\s*(?:\^\{?\s*([-−]?\d+)\s*\}?|([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+))")),
    ("scientific", re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[eE]([-+−]?\d+)\b")),
    ("percent", re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:\\?%|\\,\\%|\s?per ?cent\b)")),
    ("ratio", re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*×(?!\s*\d)")),
    ("decimal", re.compile(r"(?<![\w.^{])[-−]?(\d*\.\d+)(?![\w.])")),
]
_FRACTION = re.compile(r"(?<![\w./])(\d+)/(\d+)(?![\w/])")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)


def numbers_in_markdown(text: str) -> list[tuple[str, list[float]]]:
    """Every number-claim of a markdown text: (as written, values it may stand for)."""
    for pattern in _NOT_PROSE:
        text = pattern.sub(" ", text)
    found: list[tuple[str, list[float]]] = []
    for kind, pattern in _NUMBER_PATTERNS:
        def take(match: re.Match, kind: str = kind) -> str:
            written = match.group(0)
            if kind == "power":
                mantissa = float(match.group(1)) if match.group(1) else 1.0
                exponent = match.group(2) or match.group(3).translate(_SUPERSCRIPT)
                value = mantissa * 10.0 ** int(exponent.replace("−", "-"))
                found.append((written, [value]))
            elif kind == "scientific":
                found.append((written, [float(f"{match.group(1)}e{match.group(2).replace('−', '-')}")]))
            elif kind == "percent":
                value = float(match.group(1))
                found.append((written, [value, value / 100]))
            else:
                found.append((written, [float(match.group(1))]))
            return " "

        text = pattern.sub(take, text)
    prose = _MATH.sub(" ", text)
    for match in _FRACTION.finditer(prose):
        numerator, denominator = int(match.group(1)), int(match.group(2))
        if denominator:
            found.append((match.group(0), [numerator / denominator, numerator, denominator]))
    return found


def code_literals(nb: dict) -> list[float]:
    """The numeric literals of every code cell (settings the code is given)."""
    values: list[float] = []
    for _, cell in _cells(nb, "code"):
        lines = [ln for ln in _source(cell).splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            continue
        for token in tokens:
            if token.type == tokenize.NUMBER:
                try:
                    values.append(float(ast.literal_eval(token.string.replace("_", ""))))
                except (ValueError, TypeError, SyntaxError):
                    pass
    return values


def declared_constants(nb: dict) -> list[float]:
    constants = nb.get("metadata", {}).get("nnlab", {}).get("constants", {})
    values = []
    for written in constants:
        found = numbers_in_markdown(written)
        values += [v for _, vs in found for v in vs] or [float(written)]
    return values


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_measured_number_is_typed_into_the_prose(path: Path) -> None:
    nb = _load(path)
    allowed = code_literals(nb) + declared_constants(nb)
    problems = []
    for index, cell in _cells(nb, "markdown"):
        for written, values in numbers_in_markdown(_source(cell)):
            if not any(_close(v, a) for v in values for a in allowed):
                problems.append(f"cell {index}: {written.strip()!r}")
    assert not problems, (
        f"{path.relative_to(ROOT)} types numbers into its prose that no code cell contains. Glue each "
        "measured one from the cell that computes it ({glue:text}`key:.2f`); declare a derivation's "
        'constant in the notebook metadata {"nnlab": {"constants": {"0.25": "why"}}} '
        "(see book/CONTRIBUTING.md, Claims):\n" + "\n".join(problems)
    )


def test_the_number_finder_tells_claims_from_labels() -> None:
    """The finder sees claims in prose and maths, and skips headings, labels and code."""
    text = (
        "## 5.8 Early stopping\n(ch5-x)=\nAfter training, 77% of units are dead, the loss is 0.82, "
        "a ratio of 20× and 57/64 inactive; $\\epsilon = 10^{-5}$ and 1e-3 per step; "
        "see section 1.3, `lr=0.37`, {glue:text}`ch5-loss:.2f` and {eq}`ch5-rule`."
    )
    written = [w.strip() for w, _ in numbers_in_markdown(text)]
    assert sorted(written) == sorted(["77%", "0.82", "20×", "57/64", "10^{-5}", "1e-3"])
    assert numbers_in_markdown("peaks at 10⁻⁴")[0][1] == [pytest.approx(1e-4)]
    assert numbers_in_markdown("$3.9 \\times 10^{-9}$")[0][1] == [pytest.approx(3.9e-9)]


def test_code_literals_are_settings() -> None:
    nb = {"cells": [{"cell_type": "code", "source": "%config X\nfit(lr=0.2, eps=1e-5, n=1_000)\n"}]}
    assert code_literals(nb) == [0.2, 1e-5, 1000.0]


# ---------------------------------------------------------------------------------------
# Solutions run; cells whose output is not compared assert their claims.

PYTHON_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(python|py|python3|ipython|ipython3|\{code-cell\})\b", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_python_code_fence_in_markdown(path: Path) -> None:
    nb = _load(path)
    fences = [i for i, cell in _cells(nb, "markdown") if PYTHON_FENCE.search(_source(cell))]
    assert not fences, (
        f"{path.relative_to(ROOT)}: markdown cells {fences} hold python code fences; code the reader "
        "sees must run: make it an executed code cell (inside solution-start/solution-end for a solution)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cells_whose_output_is_not_compared_assert_their_claims(path: Path) -> None:
    nb = _load(path)
    silent = []
    for index, cell in _cells(nb, "code"):
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            if not re.search(r"^\s*assert\b", _source(cell), re.M):
                silent.append(index)
    assert not silent, (
        f"{path.relative_to(ROOT)}: cells {silent} are tagged nbval-ignore-output but assert nothing; "
        "assert every claim the prose makes about them, with a stated tolerance"
    )
