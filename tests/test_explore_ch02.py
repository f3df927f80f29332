"""The chapter 2 explorer: one activation, its derivative, and a least-squares fit."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import time

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.explore.ch02 import ACTIVATIONS, TARGETS, draw_activation, fit_activation

WIDTHS = [1, 2, 5, 8, 16, 33]


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_fit_is_the_network_it_returns(activation: str, width: int, target: str) -> None:
    fit = fit_activation(activation, target, width, n_points=61)
    assert fit.x.shape == fit.target.shape == fit.prediction.shape == (61, 1)
    hidden, act, out = fit.net
    assert isinstance(act, type(ACTIVATIONS[activation].module()))
    # The prediction is phi applied to the hidden pre-activations, then the output layer.
    z = fit.x @ hidden.weight.value.T + hidden.bias.value
    h = ACTIVATIONS[activation].f(z)
    np.testing.assert_allclose(fit.prediction, h @ out.weight.value.T + out.bias.value, atol=1e-10)
    # Each unit's pre-activation is zero at its centre.
    np.testing.assert_allclose(-hidden.bias.value / hidden.weight.value[:, 0], fit.centres)
    assert fit.mse == pytest.approx(float(np.mean((fit.prediction - fit.target) ** 2)))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_derivatives_shown_are_the_derivatives(activation: str) -> None:
    act = ACTIVATIONS[activation]
    z = np.linspace(-4, 4, 81) + 0.013  # off the ReLU kink at 0
    report = nnlab.gradcheck.check_function(act.f, act.df, z)
    assert report.max_rel_error < 1e-7, report


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_the_hidden_layer_is_the_same_for_every_activation(activation: str) -> None:
    base = fit_activation("relu", "sine", 8).net[0]
    hidden = fit_activation(activation, "sine", 8).net[0]
    np.testing.assert_array_equal(hidden.weight.value, base.weight.value)
    np.testing.assert_array_equal(hidden.bias.value, base.bias.value)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("width", WIDTHS)
def test_without_a_nonlinearity_the_fit_is_the_best_straight_line(width: int, target: str) -> None:
    fit = fit_activation("identity", target, width)
    slope, intercept = np.polyfit(fit.x[:, 0], fit.target[:, 0], 1)
    np.testing.assert_allclose(fit.prediction[:, 0], slope * fit.x[:, 0] + intercept, atol=1e-9)


@pytest.mark.parametrize("activation", sorted(set(ACTIVATIONS) - {"identity"}))
@pytest.mark.parametrize("target", ["sine", "bump", "wiggle"])
def test_every_nonlinearity_fits_smooth_targets_closely_when_wide(activation: str, target: str) -> None:
    line = fit_activation("identity", target, 64).mse
    wide = fit_activation(activation, target, 64).mse
    assert wide < 1e-4 and wide < line / 1000


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gelu"])
def test_more_units_fit_the_wiggle_better(activation: str) -> None:
    errors = [fit_activation(activation, "wiggle", w).mse for w in (4, 16, 64)]
    assert errors[0] > 10 * errors[1] > 100 * errors[2], errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"activation": "swish"}, ValueError, "activation must be one of"),
        ({"activation": "relu", "target": "cosine"}, ValueError, "target must be one of"),
        ({"activation": "relu", "width": 0}, ValueError, "width must be >= 1"),
        ({"activation": "relu", "width": 2.5}, TypeError, "width must be an int"),
        ({"activation": "relu", "n_points": 1}, ValueError, "n_points must be >= 2"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        fit_activation(**kwargs)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_draw_activation_draws_phi_phi_prime_and_the_fit(activation: str) -> None:
    fig, ax = plt.subplots()
    try:
        fit = draw_activation(ax, activation, "bump", 8)
        left, right = fig.axes
        phi, dphi = left.get_lines()[1:]
        np.testing.assert_allclose(phi.get_ydata(), ACTIVATIONS[activation].f(phi.get_xdata()))
        np.testing.assert_allclose(dphi.get_ydata(), ACTIVATIONS[activation].df(dphi.get_xdata()))
        np.testing.assert_allclose(right.get_lines()[1].get_ydata(), fit.prediction[:, 0])
        # Curves differ in line style, not only in colour.
        assert phi.get_linestyle() != dphi.get_linestyle()
        assert right.get_lines()[0].get_linestyle() != right.get_lines()[1].get_linestyle()
        assert ACTIVATIONS[activation].label == left.get_title()
    finally:
        plt.close(fig)


def test_works_inside_the_widget_explorer() -> None:
    import ipywidgets

    from nnlab.widgets import explorer

    widget = explorer(
        draw_activation,
        alt="test figure",
        figsize=(8, 3),
        activation=ipywidgets.Dropdown(options=list(ACTIVATIONS), value="tanh"),
        target=ipywidgets.fixed("sine"),
        width=ipywidgets.IntSlider(value=8, min=1, max=64),
    )
    first = bytes(widget.image.value)
    widget.controls["activation"].value = "relu"
    second = bytes(widget.image.value)
    assert second != first and second.startswith(b"\x89PNG")


def test_fast_enough_for_a_slider() -> None:
    # The best of a few runs, so that a busy machine does not fail the test.
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fit_activation("gelu", "wiggle", 64)
        times.append(time.perf_counter() - start)
    assert min(times) < 0.5  # a slider redraw must feel instant even on a busy machine
