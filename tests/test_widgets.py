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


# The published site: frames precomputed over a grid of the controls' values.

import json
import re

from nnlab.widgets import FRAMES_DIR, FRAMES_ENV, MAX_FRAMES, frame_grid, quantize_png


def _lines(ax, width, target="sine", scale=1.0, log=False):
    ax.plot([0, 1], [0, width * scale * (2 if target == "step" else 1)])
    ax.set_yscale("log" if log else "linear")


def _small_explorer(**extra):
    return explorer(
        _lines, alt="Two lines, width {width}, target {target}, log scale {log}.",
        width=ipywidgets.IntSlider(value=8, min=1, max=64, description="width"),
        target=ipywidgets.Dropdown(options=["sine", "step", "bump"], value="step", description="target"),
        log=ipywidgets.Checkbox(value=False, description="log scale"), **extra,
    )


def test_the_grid_keeps_every_option_of_menus_and_coarsens_sliders() -> None:
    w = _small_explorer()
    width, target, log = w.grid
    assert (target.kind, target.values, target.initial) == ("select", ("sine", "step", "bump"), 1)
    assert (log.kind, log.values) == ("checkbox", (False, True))
    assert width.kind == "range" and width.full_count == 64
    # Ends and the starting value are kept; the product stays within the budget.
    assert width.values[0] == 1 and width.values[-1] == 64 and width.values[width.initial] == 8
    assert list(width.values) == sorted(width.values)
    assert len(width.values) * 3 * 2 <= MAX_FRAMES and len(width.values) >= MAX_FRAMES // 6 - 1
    assert len(w.frame_values()) == len(width.values) * 6


@pytest.mark.parametrize(
    ("widget", "expected"),
    [
        (ipywidgets.IntSlider(value=3, min=1, max=3), (1, 2, 3)),
        (ipywidgets.SelectionSlider(options=[1, 4, 16], value=4), (1, 4, 16)),
        (ipywidgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.25), (0.0, 0.25, 0.5, 0.75, 1.0)),
        (ipywidgets.FloatLogSlider(value=0.05, base=10, min=-2, max=0, step=1), (0.01, 0.05, 0.1, 1.0)),
    ],
)
def test_short_sliders_keep_all_their_values(widget, expected) -> None:
    (control,) = frame_grid({"x": widget})
    assert control.values == expected and control.values[control.initial] == widget.value


def test_every_slider_gets_at_least_two_values_even_over_budget() -> None:
    menus = {f"m{i}": ipywidgets.Dropdown(options=list("abcdefgh")) for i in range(3)}  # 512 points
    grid = frame_grid({**menus, "depth": ipywidgets.IntSlider(value=20, min=2, max=40)})
    assert [len(c.values) for c in grid] == [8, 8, 8, 2]
    assert grid[-1].values == (20, 40)  # the start and the end farther from it


def test_controls_the_site_cannot_offer_are_named() -> None:
    with pytest.raises(ValueError, match="cannot precompute name=Text"):
        frame_grid({"name": ipywidgets.Text()})


def test_the_html_names_frames_and_alts_but_holds_no_pixels() -> None:
    w = _small_explorer()
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # Jupyter shows the widget
    page = bundle["text/html"]
    assert page == _small_explorer().static_html()  # the same every run: nbval compares it
    assert "base64" not in page and f'data-nnlab-frames="{FRAMES_DIR}/{w.key}/"' in page
    alts = json.loads(re.search(r'class="nnlab-frames-alt">(.*?)</script>', page, re.S).group(1))
    assert alts == [w._alt.format(**v) for v in w.frame_values()]
    start = int(re.search(r'data-nnlab-start="(\d+)"', page).group(1))
    assert w.frame_values()[start] == w.values()  # the page starts where the notebook ran
    assert f'src="{FRAMES_DIR}/{w.key}/{start:04d}.png"' in page and f'alt="{alts[start]}"' in page
    # Labelled native controls: the label wraps each input, sliders say their value.
    assert page.count("<label>") == 3 and '<input type="range"' in page and "<select" in page
    assert 'aria-valuetext="8"' in page and '<input type="checkbox"' in page
    assert "of the slider's 64 values here" in page


def test_the_key_changes_with_what_the_frames_show() -> None:
    a, b = _small_explorer(), _small_explorer(figsize=(5.0, 3.0))
    assert a.key == _small_explorer().key and a.key != b.key and a.key.startswith("_lines-")


def test_frames_are_written_only_when_asked(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(FRAMES_ENV, raising=False)
    _small_explorer(dpi=20)
    assert not (tmp_path / FRAMES_DIR).exists()  # a live notebook computes no frame
    monkeypatch.setenv(FRAMES_ENV, "1")
    w = _small_explorer(dpi=20)
    frames = sorted((tmp_path / FRAMES_DIR / w.key).glob("*.png"))
    values = w.frame_values()
    assert [f.name for f in frames] == [f"{i:04d}.png" for i in range(len(values))]
    for index in (0, len(values) // 2, len(values) - 1):
        expected = quantize_png(render_png(_lines, values[index], figsize=(6.0, 3.2), dpi=20))
        assert frames[index].read_bytes() == expected


def test_quantized_frames_stay_close_to_the_figure() -> None:
    import io

    import numpy as np
    from PIL import Image

    png = render_png(draw_fit, {"width": 8, "target": "wiggle"}, figsize=(6.0, 3.2), dpi=80)
    small = quantize_png(png)
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(small)).convert("RGB"), dtype=float)
    psnr = 10 * np.log10(255**2 / np.mean((a - b) ** 2))
    assert len(small) < len(png) / 2 and psnr > 35, (len(small), len(png), psnr)
