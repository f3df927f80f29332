"""nnlab.widgets.explorer, exercised without a kernel."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets
import matplotlib.pyplot as plt
import pytest

from nnlab.explore.ch01 import draw_fit
from nnlab.widgets import Explorer, explorer, render_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_controls_call_draw_with_their_values() -> None:
    calls: list[tuple] = []

    def draw(ax, width, target, scale):
        calls.append((width, target, scale, type(ax).__name__))
        ax.plot([0, 1], [0, width * scale])

    w = explorer(draw, alt="fit of width {width}", width=(1, 64, 1), target=["sine", "step"], scale=ipywidgets.fixed(2.0))
    assert isinstance(w, Explorer) and isinstance(w, ipywidgets.VBox)
    slider, dropdown = w.controls["width"], w.controls["target"]
    assert isinstance(slider, ipywidgets.IntSlider) and (slider.min, slider.max) == (1, 64)
    assert isinstance(dropdown, ipywidgets.Dropdown)
    assert "scale" not in w.controls  # fixed values are passed, not shown
    assert slider.description == "width"
    assert slider.continuous_update is False  # one redraw per release, not per pixel
    assert w.children[1] is w.image and bytes(w.image.value).startswith(PNG_MAGIC)

    first = w.image.value
    slider.value = 5
    dropdown.value = "step"
    # Drawn once at construction (the figure the static page shows), then once per change.
    assert [c[:3] for c in calls] == [(32, "sine", 2.0), (5, "sine", 2.0), (5, "step", 2.0)]
    assert {c[3] for c in calls} == {"Axes"}
    assert bytes(w.image.value) != bytes(first)
    assert plt.get_fignums() == []  # no pyplot figure is left open


def test_explorer_over_the_chapter_1_fit() -> None:
    w = explorer(draw_fit, alt="fit of width {width}", width=ipywidgets.IntSlider(value=8, min=1, max=64), target=ipywidgets.fixed("sine"))
    assert list(w.controls) == ["width"]
    assert w.values() == {"target": "sine", "width": 8}
    assert bytes(w.image.value) == render_png(draw_fit, {"width": 8, "target": "sine"}, figsize=(6.0, 3.2), dpi=80)


def test_the_same_values_give_the_same_png() -> None:
    # Determinism is what lets strict nbval and the embedded widget state agree run to run.
    a = render_png(draw_fit, {"width": 8, "target": "bump"}, figsize=(4, 3), dpi=50)
    b = render_png(draw_fit, {"width": 8, "target": "bump"}, figsize=(4, 3), dpi=50)
    assert a == b and a.startswith(PNG_MAGIC)


def test_draw_errors_propagate_from_construction() -> None:
    def draw(ax, width):
        raise ValueError("bad width")

    with pytest.raises(ValueError, match="bad width"):
        explorer(draw, alt="x", width=(1, 4, 1))
    assert plt.get_fignums() == []


@pytest.mark.parametrize(
    ("controls", "match"),
    [({}, "at least one control"), ({"width": object()}, "cannot make a control for width")],
)
def test_bad_controls_are_named(controls: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        explorer(lambda ax, **kw: None, alt="x", **controls)
