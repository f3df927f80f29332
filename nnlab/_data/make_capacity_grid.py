"""Recompute ``capacity_grid.npz``, the grid behind chapter 10's capacity explorer.

Run from the repository's root: ``python nnlab/_data/make_capacity_grid.py`` (a few minutes
on one core). It trains 324 small tanh regressors (6 widths x 3 depths x 6 AdamW weight
decays x 3 seeds) with :func:`nnlab.explore.ch10.train_regressor` and saves the errors
averaged over the seeds. ``tests/test_explore_ch10.py`` checks that :data:`SETTINGS` is what
the shipped file holds and recomputes one of its cells.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nnlab.explore.ch10 import capacity_grid

#: The grid's axes, as stored in the file.
SETTINGS = {
    "widths": (1, 2, 4, 8, 16, 32),
    "depths": (1, 2, 3),
    "decays": (0.0, 0.01, 0.03, 0.1, 0.3, 1.0),
    "seeds": (0, 1, 2),
    "epochs": 1000,
    "decoupled": True,
}


def main(path: str | Path = Path(__file__).with_name("capacity_grid.npz")) -> None:
    """Compute the grid of :data:`SETTINGS` and write it to ``path``."""
    s = SETTINGS
    grid = capacity_grid(s["widths"], s["depths"], s["decays"], seeds=s["seeds"], epochs=s["epochs"],
                         decoupled=s["decoupled"])
    grid.save(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
