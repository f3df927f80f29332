"""The book's sources: table of contents, stored notebooks, version lock, references.

Strict nbval (configured in pyproject.toml) re-executes every notebook and compares its
outputs; these tests check what nbval cannot: that every notebook is in the book, is
stored executed, small and free of errors and machine paths, and that citations resolve.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import nnlab

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
MAX_NOTEBOOK_BYTES = 1_500_000
MACHINE_PATH = re.compile(r"(/work/|/home/\w|/root/|/Users/\w|/tmp/|[A-Z]:\\\\Users|site-packages)")


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries: list) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))
            for part in entry.get("chapters", []) if "chapters" in entry else []:
                walk([part])

    walk(toc.get("chapters", []))
    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


def _notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


NOTEBOOKS = _notebooks()
NOTEBOOK_IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_every_toc_entry_exists() -> None:
    for entry in _toc_files():
        candidates = [ROOT / f"{entry}{suffix}" for suffix in (".md", ".ipynb", "")]
        assert any(c.is_file() for c in candidates), f"_toc.yml lists {entry}, which does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebook_is_in_the_toc(path: Path) -> None:
    entry = str(path.relative_to(ROOT).with_suffix(""))
    assert entry in _toc_files(), f"{entry} is not listed in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebook_is_stored_executed_without_errors(path: Path) -> None:
    nb = _load(path)
    cells = _code_cells(nb)
    assert cells, f"{path.name} has no code cell"
    counts = [c.get("execution_count") for c in cells if _source(c).strip()]
    assert all(isinstance(n, int) for n in counts), (
        f"{path.name} is stored unexecuted (run scripts/execute_notebooks.py {path.relative_to(ROOT)})"
    )
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", [])
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and "raises-exception" not in tags:
            pytest.fail(f"{path.name}: a cell holds an error output: {errors[0].get('ename')}: {errors[0].get('evalue')}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_first_code_cell_locks_the_nnlab_version(path: Path) -> None:
    first = _source(_code_cells(_load(path))[0])
    assert "import nnlab" in first and re.search(r"nnlab\.require\(\s*[\"']\d+\.\d+[\"']\s*\)", first), (
        f"{path.name}: the first code cell must be `import nnlab` + `nnlab.require(\"0.1\")`"
    )
    wanted = re.search(r"nnlab\.require\(\s*[\"'](\d+\.\d+)[\"']", first).group(1)
    assert nnlab.__version__.startswith(wanted + "."), f"{path.name} requires nnlab {wanted}, installed {nnlab.__version__}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebook_is_small_and_has_no_machine_paths(path: Path) -> None:
    size = path.stat().st_size
    assert size < MAX_NOTEBOOK_BYTES, f"{path.name} is {size / 1e6:.1f} MB; lower figure dpi/size"
    text = path.read_text(encoding="utf-8")
    # Image data is base64 and could match by chance; look at everything else.
    text = re.sub(r'"image/(png|jpeg)": "[^"]*"', "", text)
    match = MACHINE_PATH.search(text)
    assert match is None, f"{path.name} contains a machine-specific path: ...{text[max(0, match.start() - 60):match.end() + 60]}..."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_skipped_comparisons_say_why(path: Path) -> None:
    for cell in _code_cells(_load(path)):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"nbval-ignore-output", "nbval-skip"}:
            assert "#" in _source(cell), (
                f"{path.name}: a cell tagged {sorted(tags)} must say why in a comment:\n{_source(cell)[:200]}"
            )


def test_landing_page_shows_the_nnlab_version() -> None:
    # The substitution is filled from nnlab.__version__ by scripts/nnlab_book_ext.py.
    assert "{{ nnlab_version }}" in (BOOK / "intro.md").read_text()
    ext = (ROOT / "scripts" / "nnlab_book_ext.py").read_text()
    assert 'substitutions["nnlab_version"] = nnlab.__version__' in ext


# ---- references -----------------------------------------------------------------------

REQUIRED_FIELDS = {
    "article": {"author", "title", "journal", "year"},
    "inproceedings": {"author", "title", "booktitle", "year"},
    "book": {"author", "title", "publisher", "year"},
    "misc": {"author", "title", "year"},
    "incollection": {"author", "title", "booktitle", "year"},
    "mastersthesis": {"author", "title", "school", "year"},
    "phdthesis": {"author", "title", "school", "year"},
}


def _bib_entries() -> dict:
    from pybtex.database import parse_file

    return parse_file(str(ROOT / "references.bib")).entries


def _cited_keys() -> set[str]:
    keys: set[str] = set()
    role = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
    # Only pages of the book count: notes such as book/CONTRIBUTING.md are not built.
    built = {str(ROOT / f) for f in _toc_files()}
    for path in list(BOOK.rglob("*.md")) + list(BOOK.rglob("*.ipynb")):
        if str(path.with_suffix("")) not in built:
            continue
        for match in role.finditer(path.read_text(encoding="utf-8")):
            keys.update(k.strip() for k in match.group(1).split(","))
    return keys


def test_bibliography_entries_are_complete() -> None:
    entries = _bib_entries()
    assert len(entries) >= 15
    for key, entry in entries.items():
        assert entry.type.lower() in REQUIRED_FIELDS, f"{key}: unexpected entry type @{entry.type}"
        required = REQUIRED_FIELDS[entry.type.lower()]
        fields = {f.lower() for f in entry.fields} | ({"author"} if entry.persons.get("author") else set())
        assert required <= fields, f"{key} lacks {sorted(required - fields)}"
        assert 1900 <= int(entry.fields["year"]) <= 2030, key  # a plausible year, not a typo
        if "doi" in entry.fields:
            assert re.fullmatch(r"10\.\d{4,9}/\S+", entry.fields["doi"]), f"{key}: bad DOI"
        if "eprint" in entry.fields:
            assert re.fullmatch(r"\d{4}\.\d{4,5}", entry.fields["eprint"]), f"{key}: bad arXiv id"


def test_every_citation_resolves_and_every_entry_is_cited() -> None:
    entries = set(_bib_entries())
    cited = _cited_keys()
    assert cited - entries == set(), f"cited but not in references.bib: {sorted(cited - entries)}"
    assert entries - cited == set(), f"in references.bib but never cited: {sorted(entries - cited)}"
