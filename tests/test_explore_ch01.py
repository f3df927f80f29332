"""The chapter 1 explorer: a one-hidden-layer ReLU network fitted by least squares."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.explore.ch01 import TARGETS, draw_fit, fit_relu_network

WIDTHS = [1, 2, 3, 5, 8, 16, 33, 64]


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("width", WIDTHS)
def test_fit_is_the_network_it_returns(width: int, target: str) -> None:
    fit = fit_relu_network(width, target, n_points=101)
    assert fit.x.shape == fit.target.shape == fit.prediction.shape == (101, 1)
    assert fit.kinks.shape == (width,)
    # The prediction is what the returned nnlab network computes, layer by layer.
    hidden, relu, out = fit.net
    assert isinstance(relu, nnlab.ReLU)
    h = np.maximum(fit.x @ hidden.weight.value.T + hidden.bias.value, 0.0)
    np.testing.assert_allclose(fit.prediction, h @ out.weight.value.T + out.bias.value, atol=1e-12)
    np.testing.assert_allclose(fit.net(fit.x), fit.prediction)
    # Each unit switches on at its kink.
    np.testing.assert_allclose(-hidden.bias.value / hidden.weight.value[:, 0], fit.kinks)
    assert fit.mse == pytest.approx(float(np.mean((fit.prediction - fit.target) ** 2)))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_error_never_grows_when_units_are_added(target: str) -> None:
    # Widths that double keep every old kink, so the least-squares error cannot grow.
    errors = [fit_relu_network(w, target).mse for w in [1, 2, 4, 8, 16, 32, 64]]
    assert all(b <= a + 1e-12 for a, b in zip(errors, errors[1:])), errors


@pytest.mark.parametrize("target", ["sine", "bump", "wiggle"])
def test_smooth_targets_are_approximated_closely(target: str) -> None:
    # Piecewise-linear interpolation of a smooth function: error ~ width^-4 in MSE.
    assert fit_relu_network(64, target).mse < 1e-5
    assert fit_relu_network(64, target).mse < fit_relu_network(8, target).mse / 100


def test_a_step_is_approximated_but_never_exactly() -> None:
    # A continuous network cannot jump, so the error falls slowly and stays positive.
    errors = [fit_relu_network(w, "step").mse for w in (4, 16, 64)]
    assert errors[0] > errors[1] > errors[2] > 1e-4


@pytest.mark.parametrize("width", [1, 2, 8, 33])
def test_the_first_unit_is_a_straight_line_on_the_interval(width: int) -> None:
    # Its kink sits at the left end, so relu(x + 1) = x + 1 on all of [-1, 1].
    fit = fit_relu_network(width, "bump", n_points=51)
    assert fit.kinks[0] == -1.0 and np.all(fit.kinks[1:] > -1.0)
    h = fit.net[:2](fit.x)
    np.testing.assert_allclose(h[:, 0], fit.x[:, 0] + 1.0)


@pytest.mark.parametrize("target", ["sine", "wiggle"])
def test_width_two_adds_nothing_for_an_odd_target(target: str) -> None:
    # Width 2 adds one kink, at 0; relu(x) = (x + |x|) / 2, and the even |x| is orthogonal
    # to an odd target on the symmetric grid, so the fit stays the best straight line.
    one, two = fit_relu_network(1, target), fit_relu_network(2, target)
    assert two.mse == pytest.approx(one.mse, rel=1e-9)
    assert fit_relu_network(2, "bump").mse < fit_relu_network(1, "bump").mse / 2


def test_one_unit_is_the_best_straight_line() -> None:
    fit = fit_relu_network(1, "sine")
    slope, intercept = np.polyfit(fit.x[:, 0], fit.target[:, 0], 1)
    np.testing.assert_allclose(fit.prediction[:, 0], slope * fit.x[:, 0] + intercept, atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"width": 0}, ValueError, "width must be >= 1"),
        ({"width": 2.5}, TypeError, "width must be an int"),
        ({"width": 4, "target": "cosine"}, ValueError, "target must be one of"),
        ({"width": 4, "n_points": 1}, ValueError, "n_points must be >= 2"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        fit_relu_network(**kwargs)


def test_draw_fit_draws_target_network_and_kinks() -> None:
    fig, ax = plt.subplots()
    try:
        fit = draw_fit(ax, 8, "bump")
        lines = ax.get_lines()
        assert len(lines) == 3
        np.testing.assert_allclose(lines[1].get_ydata(), fit.prediction[:, 0])
        # Only the interior kinks are marked: the first unit's, at x = -1, bends nothing.
        np.testing.assert_allclose(lines[2].get_xdata(), fit.kinks[1:])
        assert {lines[0].get_linestyle(), lines[1].get_linestyle()} == {"-", "--"}
        assert "width 8" in ax.get_title()
    finally:
        plt.close(fig)


def test_fast_enough_for_a_slider() -> None:
    import time

    # A slider redraws on release; the fit itself should take milliseconds. The best of
    # a few runs is measured so that a busy machine does not fail the test.
    times = []
    for _ in range(5):
        start = time.perf_counter()
        fit_relu_network(64, "wiggle")
        times.append(time.perf_counter() - start)
    assert min(times) < 0.5  # a slider redraw must feel instant even on a busy machine
