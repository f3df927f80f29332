"""Thin ipywidgets front ends over the book's pure, tested explorer functions.

The logic of every explorer lives in :mod:`nnlab.explore` as a function that draws on
a matplotlib Axes; this module only wires controls to it. A notebook first draws a
static figure with the same function (so the book works without a kernel), then calls
:func:`explorer` for the interactive version. See chapter 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets
import matplotlib.pyplot as plt
from IPython.display import display

__all__ = ["explorer"]


def explorer(
    draw: Callable[..., Any],
    *,
    figsize: tuple[float, float] = (6.0, 3.2),
    **controls: Any,
) -> ipywidgets.interactive:
    """Controls over ``draw(ax, **values)``, redrawn into an Output whenever one changes.

    Parameters
    ----------
    draw : callable
        ``draw(ax, **values)`` draws on the matplotlib Axes ``ax``; ``values`` holds
        the current value of every control, by name.
    figsize : (float, float)
        Size of the figure drawn on each change, in inches.
    **controls
        One per keyword argument of ``draw``: an ipywidgets widget, or an
        abbreviation as for ``ipywidgets.interact`` (``(1, 64, 1)`` is an integer
        slider, a list of strings a dropdown, a fixed value ``ipywidgets.fixed(v)``).

    Returns
    -------
    ipywidgets.interactive
        A box of the controls followed by the Output that shows the figure; display
        it as a cell's last expression. Sliders update when released, not while
        dragged, so that each position draws once.
    """
    if not controls:
        raise ValueError("explorer expected at least one control (e.g. width=(1, 64, 1)); got none")

    def update(**values: Any) -> None:
        fig, ax = plt.subplots(figsize=figsize)
        try:
            draw(ax, **values)
            fig.tight_layout()
            display(fig)
        finally:
            # Closed so that the inline backend does not show it a second time.
            plt.close(fig)

    widget = ipywidgets.interactive(update, **controls)
    for child in widget.kwargs_widgets:
        if hasattr(child, "continuous_update"):
            child.continuous_update = False
    return widget
