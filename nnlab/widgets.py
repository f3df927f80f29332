"""Thin ipywidgets front ends over the book's pure, tested explorer functions.

The logic of every explorer lives in :mod:`nnlab.explore` as a function that draws on
a matplotlib Axes; this module only wires controls to it. A notebook first draws a
static figure with the same function (so the book works without a kernel), then calls
:func:`explorer` for the interactive version. See chapter 1.

The figure is rendered to PNG and shown in an ``ipywidgets.Image`` rather than printed
into an ``Output`` widget: the picture is then part of the widget state that the built
book embeds (so the static page shows controls and figure together), and the cell has
a single, deterministic output that strict nbval can compare.

The published site has no kernel, so an explorer also describes itself as HTML: native,
labelled controls over a grid of the controls' values (every option of a menu, a few
values of a slider, see :func:`frame_grid`) and an ``<img>`` that
``book/_static/nnlab-explorer.js`` points at the figure precomputed for the chosen point.
That HTML names the frames and holds their alt texts but not their pixels, so it is the
same on every machine and strict nbval compares it like any text. The frames themselves
are PNG files written next to the notebook, in ``_explorer_frames/<key>/``, when the
notebook is executed with ``NNLAB_EXPLORER_FRAMES=1`` (``scripts/execute_notebooks.py``
sets it); the book's Sphinx extension publishes them. In a live notebook nothing changes:
the front end shows the widget, and no frame is computed.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import math
import os
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets
from matplotlib.figure import Figure

__all__ = ["Explorer", "FrameControl", "explorer", "frame_grid", "render_png"]

#: Set to ``1`` to write the frames of every explorer a notebook builds (see module doc).
FRAMES_ENV = "NNLAB_EXPLORER_FRAMES"
#: Folder, next to the notebook, that holds one sub-folder of frames per explorer.
FRAMES_DIR = "_explorer_frames"
#: Most frames precomputed for one explorer: every option of each menu is kept, and the
#: sliders share what is left (at least two values each).
MAX_FRAMES = 96


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


def quantize_png(png: bytes, colors: int = 64) -> bytes:
    """``png`` reduced to a palette of ``colors`` colours (no dithering), about 3x smaller.

    Line plots have few colours; the antialiased edges are what the palette rounds.
    """
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    paletted = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    paletted.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class FrameControl:
    """The values of one control that the published site offers.

    Attributes
    ----------
    name : str
        The keyword argument of ``draw``.
    label : str
        What the control is called on the page.
    kind : str
        ``"range"`` (a slider), ``"select"`` (a menu) or ``"checkbox"``.
    values : tuple
        The values precomputed, in the control's order.
    labels : tuple of str
        How each value is shown.
    initial : int
        Index in ``values`` of the control's value when the notebook ran.
    full_count : int
        How many values the live control has (more than ``len(values)`` for a coarsened
        slider).
    """

    name: str
    label: str
    kind: str
    values: tuple
    labels: tuple
    initial: int
    full_count: int


def _slider_values(widget: Any) -> list[Any]:
    """Every value a slider can take, in order."""
    if isinstance(widget, ipywidgets.widgets.widget_selection._Selection):
        return list(widget._options_values)
    count = int(round((widget.max - widget.min) / widget.step)) + 1
    if isinstance(widget, ipywidgets.IntSlider):
        return [int(widget.min + k * widget.step) for k in range(count)]
    exponents = [round(widget.min + k * widget.step, 10) for k in range(count)]
    if isinstance(widget, ipywidgets.FloatLogSlider):
        return [float(f"{widget.base ** e:.12g}") for e in exponents]
    return exponents


def _label_of(widget: Any, value: Any) -> str:
    fmt = getattr(widget, "readout_format", None)
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return format(value, fmt)
        except ValueError:
            pass
    return str(value)


def _spread(values: list[Any], initial: Any, count: int) -> list[int]:
    """Indices of about ``count`` values evenly spread over ``values``, ends and initial included."""
    if count >= len(values):
        return list(range(len(values)))
    start = values.index(initial)
    if count == 2:
        # The starting value and the end farther from it.
        return sorted({start, 0 if start >= len(values) - 1 - start else len(values) - 1})
    picks = [round(k * (len(values) - 1) / (count - 1)) for k in range(count)]
    if start not in picks:
        # The evenly spread value nearest the start gives way to it (ends stay).
        inner = [i for i in range(1, count - 1)] or [0]
        nearest = min(inner, key=lambda i: abs(picks[i] - start))
        picks[nearest] = start
    return sorted(set(picks))


def frame_grid(controls: dict[str, Any], max_frames: int = MAX_FRAMES) -> list[FrameControl]:
    """The values of each control that the published site precomputes.

    Menus and check boxes keep every option; sliders are coarsened so that the product of
    the counts, the number of frames, stays within ``max_frames``: each slider gets the
    same number of values (at least 2), evenly spread, its ends and its starting value
    included. Raises ``ValueError`` for a control the site cannot offer (e.g. a text box).
    """
    grid: list[tuple[str, str, str, list[Any], Any, Any]] = []
    for name, widget in controls.items():
        label = getattr(widget, "description", "") or name
        if isinstance(widget, (ipywidgets.Checkbox, ipywidgets.ToggleButton)):
            grid.append((name, label, "checkbox", [False, True], widget.value, widget))
        elif isinstance(widget, ipywidgets.widgets.widget_selection._Selection) and not isinstance(
            widget, ipywidgets.SelectionSlider
        ):
            grid.append((name, label, "select", list(widget._options_values), widget.value, widget))
        elif isinstance(widget, (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider,
                                 ipywidgets.SelectionSlider)):
            values = _slider_values(widget)
            if widget.value not in values:
                values = sorted([*values, widget.value])
            grid.append((name, label, "range", values, widget.value, widget))
        else:
            raise ValueError(
                f"explorer: the published site cannot precompute {name}={type(widget).__name__}; "
                "use a slider, a dropdown or a checkbox"
            )
    fixed = math.prod(len(values) for _, _, kind, values, _, _ in grid if kind != "range")
    sliders = [entry for entry in grid if entry[2] == "range"]
    room = max(max_frames // fixed, 1)
    counts = {entry[0]: 2 for entry in sliders}
    # Give every slider one more value in turn while the product stays within the room.
    grown = True
    while grown:
        grown = False
        for name, _, _, values, _, _ in sliders:
            trial = {**counts, name: counts[name] + 1}
            if counts[name] < len(values) and math.prod(min(trial[n], len(v)) for n, _, _, v, _, _ in sliders) <= room:
                counts = trial
                grown = True
    result = []
    for name, label, kind, values, initial, widget in grid:
        picks = _spread(values, initial, counts[name]) if kind == "range" else list(range(len(values)))
        chosen = [values[i] for i in picks]
        result.append(FrameControl(
            name=name, label=label, kind=kind, values=tuple(chosen),
            labels=tuple(_label_of(widget, v) for v in chosen),
            initial=chosen.index(initial), full_count=len(values),
        ))
    return result


def _frame_points(grid: Sequence[FrameControl]) -> list[dict[str, Any]]:
    """Every point of the grid, in row-major order (the last control varies fastest)."""
    points: list[dict[str, Any]] = [{}]
    for control in grid:
        points = [{**p, control.name: v} for p in points for v in control.values]
    return points


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
        self.grid = frame_grid(self.controls)
        self.key = self._frame_key()
        if os.environ.get(FRAMES_ENV) == "1":
            self.write_frames(Path.cwd() / FRAMES_DIR)

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

    # The published site: frames precomputed over `grid`, and HTML controls that show them.

    def frame_values(self) -> list[dict[str, Any]]:
        """The values of ``draw``'s arguments at every frame, in file order."""
        return [{**self._fixed, **point} for point in _frame_points(self.grid)]

    def _frame_key(self) -> str:
        """A folder name that changes whenever what the frames show may change."""
        spec = {
            "alt": self._alt, "figsize": list(self._figsize), "dpi": self._dpi,
            "fixed": {k: repr(v) for k, v in sorted(self._fixed.items())},
            "grid": [[c.name, [repr(v) for v in c.values]] for c in self.grid],
        }
        digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
        name = "".join(ch if ch.isalnum() or ch == "_" else "" for ch in getattr(self._draw, "__name__", "draw"))
        return f"{name or 'draw'}-{digest}"

    def write_frames(self, folder: Path) -> Path:
        """Write one PNG per point of the grid into ``folder / self.key``; return that folder.

        Frames are palette PNGs (:func:`quantize_png`) named ``0000.png``, ``0001.png``, ...
        in the order of :meth:`frame_values`. Files of an older grid there are removed.
        """
        target = Path(folder) / self.key
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("*.png"):
            old.unlink()
        for index, values in enumerate(self.frame_values()):
            png = render_png(self._draw, values, figsize=self._figsize, dpi=self._dpi)
            (target / f"{index:04d}.png").write_bytes(quantize_png(png))
        return target

    def static_html(self) -> str:
        """The explorer for a page without a kernel: native controls over the frames' grid.

        ``book/_static/nnlab-explorer.js`` wires the controls to the ``<img>``; the HTML
        holds each frame's alt text, not its pixels, so it is the same on every machine.
        """
        base = f"{FRAMES_DIR}/{self.key}/"
        strides = []
        stride = 1
        for control in reversed(self.grid):
            strides.append(stride)
            stride *= len(control.values)
        strides.reverse()
        start = sum(c.initial * s for c, s in zip(self.grid, strides))
        alts = [self._alt.format(**values) for values in self.frame_values()]
        width, height = (round(x * self._dpi) for x in self._figsize)
        esc = html.escape
        parts = [
            f'<div class="nnlab-frames" data-nnlab-frames="{esc(base)}" data-nnlab-start="{start}">',
            '<div class="nnlab-frames-controls">',
        ]
        for control, step in zip(self.grid, strides):
            attrs = f'data-nnlab-name="{esc(control.name)}" data-nnlab-stride="{step}"'
            if control.kind == "select":
                options = "".join(
                    f'<option value="{i}"{" selected" if i == control.initial else ""}>{esc(label)}</option>'
                    for i, label in enumerate(control.labels)
                )
                field = f"<select {attrs}>{options}</select>"
            elif control.kind == "checkbox":
                checked = " checked" if control.values[control.initial] else ""
                field = f'<input type="checkbox" {attrs}{checked}>'
            else:
                labels = esc(json.dumps(list(control.labels)))
                current = esc(control.labels[control.initial])
                field = (
                    f'<input type="range" min="0" max="{len(control.values) - 1}" step="1" '
                    f'value="{control.initial}" aria-valuetext="{current}" data-nnlab-labels="{labels}" {attrs}>'
                    f'<output aria-hidden="true">{current}</output>'
                )
            note = ""
            if control.kind == "range" and len(control.values) < control.full_count:
                note = (
                    f'<span class="nnlab-frames-note">{len(control.values)} of the slider\'s '
                    f"{control.full_count} values here; all of them when you run the notebook</span>"
                )
            parts.append(
                f'<div class="nnlab-frames-control"><label><span class="nnlab-frames-label">'
                f"{esc(control.label)}</span> {field}</label>{note}</div>"
            )
        parts.append("</div>")
        parts.append(
            f'<img class="nnlab-frames-image" src="{esc(base)}{start:04d}.png" alt="{esc(alts[start])}" '
            f'width="{width}" height="{height}">'
        )
        parts.append(
            f'<script type="application/json" class="nnlab-frames-alt">{_json_for_script(alts)}</script>'
        )
        parts.append("</div>")
        return "\n".join(parts)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle = {**bundle, "text/html": self.static_html()}
        return bundle


def _json_for_script(value: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</`` can close it early)."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


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
