"""nnlab.widgets.explorer, exercised without a kernel."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets
import matplotlib.pyplot as plt
import pytest

from nnlab.explore.ch01 import draw_fit
from nnlab.widgets import explorer


def test_controls_call_draw_with_their_values() -> None:
    calls: list[dict] = []

    def draw(ax, width, target):
        calls.append({"width": width, "target": target, "ax": ax})
        ax.plot([0, 1], [0, width])

    w = explorer(draw, width=(1, 64, 1), target=["sine", "step"])
    assert isinstance(w, ipywidgets.interactive)
    slider, dropdown = w.kwargs_widgets
    assert isinstance(slider, ipywidgets.IntSlider) and (slider.min, slider.max) == (1, 64)
    assert isinstance(dropdown, ipywidgets.Dropdown)
    assert slider.continuous_update is False  # one redraw per release, not per pixel
    assert isinstance(w.children[-1], ipywidgets.Output)
    slider.value = 5
    dropdown.value = "step"
    # Drawn once at construction (the figure the static page shows), then once per change.
    assert [(c["width"], c["target"]) for c in calls] == [(32, "sine"), (5, "sine"), (5, "step")]
    assert all(isinstance(c["ax"], plt.Axes) for c in calls)
    assert plt.get_fignums() == []  # every figure is closed after it is shown


def test_explorer_over_the_chapter_1_fit() -> None:
    w = explorer(draw_fit, width=ipywidgets.IntSlider(value=8, min=1, max=64), target=ipywidgets.fixed("sine"))
    assert [c.description for c in w.kwargs_widgets if not isinstance(c, ipywidgets.fixed)] == ["width"]
    w.update()
    assert plt.get_fignums() == []


def test_draw_errors_close_the_figure() -> None:
    # ipywidgets shows a callback's traceback in the Output (a log line without a kernel)
    # rather than raising; the figure must not be left open either way.
    seen: list[int] = []

    def draw(ax, width):
        seen.append(width)
        raise ValueError("bad width")

    w = explorer(draw, width=(1, 4, 1))
    w.kwargs_widgets[0].value = 4
    assert seen == [2, 4]
    assert plt.get_fignums() == []


def test_explorer_needs_a_control() -> None:
    with pytest.raises(ValueError, match="at least one control"):
        explorer(lambda ax: None)
