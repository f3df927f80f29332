"""The explorers' precomputed frames stored beside the notebooks match their outputs.

Each explorer's stored cell output names its frames (``_explorer_frames/<key>/``, one
PNG per point of its grid, see nnlab.widgets); the built site shows them when a control
moves. This checks the stored book without building it: every explorer output has all
its frames, as valid PNGs of the explorer's size, and no folder of frames is left over
from an older grid. Re-execute with ``NNLAB_EXPLORER_FRAMES=1
python scripts/execute_notebooks.py book/NN_x/lesson.ipynb`` to (re)write them.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from nnlab.widgets import FRAMES_DIR

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _explorer_outputs(path: Path) -> list[tuple[int, str]]:
    """(cell index, text/html) of every explorer output stored in the notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            page = out.get("data", {}).get("text/html")
            page = "".join(page) if isinstance(page, list) else page
            if page and "nnlab-frames" in page:
                found.append((i, page))
    return found


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_every_explorer_has_all_its_frames(path: Path) -> None:
    problems = []
    for cell, page in _explorer_outputs(path):
        base = re.search(r'data-nnlab-frames="([^"]+)"', page).group(1)
        alts = json.loads(re.search(r'class="nnlab-frames-alt">(.*?)</script>', page, re.S).group(1))
        width, height = (int(x) for x in re.search(r'width="(\d+)" height="(\d+)"', page).groups())
        folder = path.parent / base
        expected = [f"{i:04d}.png" for i in range(len(alts))]
        present = sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []
        if present != expected:
            problems.append(f"cell {cell}: {base} holds {len(present)} frames, expected {len(expected)}")
            continue
        for name in (expected[0], expected[-1]):
            if _png_size((folder / name).read_bytes()) != (width, height):
                problems.append(f"cell {cell}: {base}{name} is not a {width}x{height} PNG")
    frames_root = path.parent / FRAMES_DIR
    if frames_root.is_dir():
        siblings = {f.resolve() for nb in path.parent.glob("*.ipynb") for f in _folders_of(nb)}
        for folder in sorted(frames_root.iterdir()):
            if folder.resolve() not in siblings:
                problems.append(f"{folder.relative_to(ROOT)} is named by no explorer output: remove it")
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def _folders_of(path: Path) -> list[Path]:
    return [
        path.parent / re.search(r'data-nnlab-frames="([^"]+)"', page).group(1)
        for _, page in _explorer_outputs(path)
    ]
