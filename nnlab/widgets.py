"""Thin ipywidgets front ends over the book's pure, tested explorer functions.

The logic of every explorer lives in :mod:`nnlab.explore` as a function that draws on
a matplotlib Axes; this module only wires controls to it. A notebook first draws a
static figure with the same function (so the book works without a kernel), then calls
:func:`explorer` for the interactive version. See chapter 1.

The figure is rendered to PNG and shown in an ``ipywidgets.Image`` rather than printed
into an ``Output`` widget: the picture is then part of the widget state that the built
book embeds (so the static page shows controls and figure together), and the cell has
a single, deterministic output that strict nbval can compare.
"""

from __future__ import annotations

import io
import string
from collections.abc import Callable
from typing import Any

import ipywidgets
from matplotlib.figure import Figure

__all__ = ["Explorer", "explorer", "render_png"]


def render_png(
    draw: Callable[..., Any], values: dict[str, Any], *, figsize: tuple[float, float], dpi: int
) -> bytes:
    """PNG bytes of a new figure on whose single Axes ``draw(ax, **values)`` has drawn.

    Uses ``matplotlib.figure.Figure`` directly, not pyplot, so no global figure is left
    open and nothing is shown twice by the notebook's inline backend.
    """
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.add_subplot()
    draw(ax, **values)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class Explorer(ipywidgets.VBox):
    """A row of controls above an image that ``draw`` redraws when a control changes.

    Attributes
    ----------
    controls : dict of str to widget
        The control of each keyword argument of ``draw`` (fixed values excluded).
    image : ipywidgets.Image
        The current figure, as PNG.
    """

    def __init__(
        self,
        draw: Callable[..., Any],
        controls: dict[str, Any],
        *,
        alt: str,
        figsize: tuple[float, float],
        dpi: int,
    ) -> None:
        self._draw = draw
        self._alt = alt
        self._figsize = figsize
        self._dpi = dpi
        self._fixed: dict[str, Any] = {}
        self.controls: dict[str, ipywidgets.Widget] = {}
        for name, abbrev in controls.items():
            if isinstance(abbrev, ipywidgets.fixed):
                self._fixed[name] = abbrev.value
                continue
            widget = ipywidgets.interactive.widget_from_abbrev(abbrev)
            if widget is None:
                raise ValueError(f"explorer: cannot make a control for {name}={abbrev!r}")
            if not getattr(widget, "description", ""):
                widget.description = name
            if hasattr(widget, "continuous_update"):
                # Redraw once when a slider is released, not at every pixel of a drag.
                widget.continuous_update = False
            widget.observe(self.redraw, names="value")
            self.controls[name] = widget
        self.image = ipywidgets.Image(format="png")
        super().__init__([ipywidgets.HBox(list(self.controls.values())), self.image])
        self.add_class("nnlab-explorer")
        self.redraw()

    def values(self) -> dict[str, Any]:
        """The current value of every argument of ``draw``, by name."""
        return {**self._fixed, **{name: w.value for name, w in self.controls.items()}}

    def redraw(self, change: Any = None) -> None:
        """Draw the figure for the current values into :attr:`image`."""
        values = self.values()
        self.image.value = render_png(self._draw, values, figsize=self._figsize, dpi=self._dpi)

    def alt_text(self) -> str:
        """The alt text of the figure for the current values of the controls."""
        return self._alt.format(**self.values())


def explorer(
    draw: Callable[..., Any],
    *,
    alt: str,
    figsize: tuple[float, float] = (6.0, 3.2),
    dpi: int = 80,
    **controls: Any,
) -> Explorer:
    """Controls over ``draw(ax, **values)``, redrawn whenever one changes.

    Parameters
    ----------
    draw : callable
        ``draw(ax, **values)`` draws on the matplotlib Axes ``ax``; ``values`` holds
        the current value of every control, by name.
    figsize : (float, float)
        Size of the figure in inches.
    dpi : int
        Resolution of the figure (modest, so that notebooks stay small).
    alt : str
        The figure's alt text, written by the author: what the figure shows and what to
        read from it. A template formatted with the current values of the controls, e.g.
        ``"Fit of a width-{width} network: ..."``; every ``{name}`` must be a control.
    **controls
        One per keyword argument of ``draw``: an ipywidgets widget, or an
        abbreviation as for ``ipywidgets.interact`` (``(1, 64, 1)`` is an integer
        slider, a list of strings a dropdown), or ``ipywidgets.fixed(value)``.

    Returns
    -------
    Explorer
        An ``ipywidgets.VBox``: the controls above the figure. Display it as a cell's
        last expression.
    """
    if not controls:
        raise ValueError("explorer expected at least one control (e.g. width=(1, 64, 1)); got none")
    if not isinstance(alt, str) or not alt.strip():
        raise TypeError(f"explorer expected alt, the figure's alt text, as a non-empty str; got {alt!r}")
    names = {field for _, field, _, _ in string.Formatter().parse(alt) if field}
    unknown = sorted(names - set(controls))
    if unknown:
        raise ValueError(
            f"explorer's alt text names {unknown}, which are not controls; the controls are {sorted(controls)}"
        )
    return Explorer(draw, controls, alt=alt, figsize=figsize, dpi=dpi)
