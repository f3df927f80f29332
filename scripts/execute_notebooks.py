"""Re-execute the book's notebooks in place, storing their outputs and widget state.

The book is built from stored outputs (``execute_notebooks: "off"`` in _config.yml) and
`make test` runs strict nbval, which fails when a stored output differs from what the
current code prints. After changing a notebook or nnlab, an author runs

    python scripts/execute_notebooks.py                      # every notebook under book/
    python scripts/execute_notebooks.py book/01_feedforward/lesson.ipynb

Each notebook runs top to bottom in a fresh ``python3`` kernel started in its own folder,
with a per-cell timeout; the state of its widgets is embedded in the notebook metadata
(so the built site renders the controls) and no timing metadata is recorded (so an
unchanged notebook re-executes to the same file). A notebook that raises is not written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, *, timeout: int) -> float:
    """Execute ``path`` in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,
    )
    start = time.perf_counter()
    # NNLAB_EXPLORER_FRAMES: each explorer also writes the figures of its control grid next
    # to the notebook (_explorer_frames/), which the published site swaps in (nnlab.widgets).
    client.execute(env={**os.environ, "PYTHONHASHSEED": "0", "NNLAB_EXPLORER_FRAMES": "1"})
    elapsed = time.perf_counter() - start
    if not _has_widget_state(nb):
        nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return elapsed


def _has_widget_state(nb: nbformat.NotebookNode) -> bool:
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return bool(state.get("state"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every .ipynb under book/")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds allowed per cell (default 600: an explorer cell draws its whole grid)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(
        p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    for path in paths:
        elapsed = execute(path.resolve(), timeout=args.timeout)
        size = path.stat().st_size / 1024
        print(f"{path}: executed in {elapsed:.1f} s, {size:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
