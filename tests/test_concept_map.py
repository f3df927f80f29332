"""book/concept_map.md: every nnlab name in the table imports, every test file exists, every
PyTorch name exists (when torch is installed), and no public building block is left out."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import nnlab

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book/concept_map.md"
HEADER = ["Concept", "Chapter", "nnlab", "Test", "PyTorch"]


def rows() -> list[list[str]]:
    """The table's body rows, as lists of cells."""
    lines = [line for line in PAGE.read_text().splitlines() if line.startswith("|")]
    table = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert table[0] == HEADER, table[0]
    assert set("".join(table[1])) <= set("-|: "), "the second line must be the separator"
    return table[2:]


def names(cell: str, prefix: str) -> list[str]:
    return [n for n in re.findall(r"`([^`]+)`", cell) if n.startswith(prefix)]


def resolve(dotted: str) -> object:
    """Import the longest importable module prefix of ``dotted``, then getattr the rest."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


ROWS = rows()


def test_every_row_names_an_nnlab_object_and_a_test_file():
    assert len(ROWS) >= 25
    for row in ROWS:
        assert len(row) == len(HEADER), row
        assert names(row[2], "nnlab."), row
        assert names(row[3], "tests/") or row[3] == "", row


@pytest.mark.parametrize("name", sorted({n for row in ROWS for n in names(row[2], "nnlab.")}))
def test_nnlab_names_exist(name):
    assert resolve(name) is not None


@pytest.mark.parametrize("path", sorted({n for row in ROWS for n in names(row[3], "tests/")}))
def test_test_files_exist(path):
    assert (ROOT / path).is_file(), path


@pytest.mark.parametrize("name", sorted({n for row in ROWS for n in names(row[4], "torch.")}))
def test_torch_names_exist(name, torch):
    assert resolve(name) is not None


def test_no_building_block_is_missing():
    listed = {n for row in ROWS for n in names(row[2], "nnlab.")}
    blocks = [n for n in nnlab.__all__ if isinstance(getattr(nnlab, n), type)
              and n not in {"History", "DivergenceError", "NonFiniteError"}]
    blocks += [f"optim.{n}" for n in nnlab.optim.__all__ if n != "Optimizer"]
    blocks += [f"init.{n}" for n in nnlab.init.__all__ if n.startswith(("xavier", "he_"))]
    missing = [b for b in blocks if f"nnlab.{b}" not in listed]
    assert not missing, missing
