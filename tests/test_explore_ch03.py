"""The chapter 3 explorer: softmax probabilities, cross-entropy and its gradient p - y."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.explore.ch03 import draw_logits, logit_state
from nnlab.gradcheck import check_loss

# The slider range of the lesson (-10 .. 10) and beyond it, where a naive softmax overflows.
VALUES = [-1000.0, -10.0, -2.5, 0.0, 0.5, 3.0, 10.0, 1000.0]
GRID = [(z, label) for z in itertools.product(VALUES, repeat=3) for label in range(3)]


@pytest.mark.parametrize("logits, label", GRID[::7] + GRID[-3:])
def test_state_is_softmax_loss_and_p_minus_y(logits, label):
    state = logit_state(logits, label)
    z = np.array(logits)
    # An independent, exact evaluation: the log-sum-exp with the max shift, by hand.
    m = z.max()
    log_p = z - (m + np.log(np.sum(np.exp(z - m))))
    np.testing.assert_allclose(state.probabilities, np.exp(log_p), rtol=1e-12, atol=1e-300)
    assert state.loss == pytest.approx(-log_p[label], rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(state.gradient, np.exp(log_p) - np.eye(3)[label], atol=1e-12)
    assert np.all(np.isfinite(state.probabilities)) and np.isfinite(state.loss)
    assert state.probabilities.sum() == pytest.approx(1.0)
    assert state.gradient.sum() == pytest.approx(0.0, abs=1e-12)  # p and onehot(y) both sum to 1
    assert state.loss >= 0.0
    assert state.gradient[label] <= 0.0  # the loss always pushes the true logit up


@pytest.mark.parametrize("label", range(3))
@pytest.mark.parametrize("seed", range(5))
def test_gradient_matches_central_differences(label, seed):
    z = np.random.default_rng(seed).normal(scale=2.0, size=3)
    state = logit_state(z, label)
    report = check_loss(nnlab.CrossEntropyLoss(), z[None, :], np.array([label]))
    report.assert_ok()
    # The explorer shows the loss's own backward, which the check above just verified.
    criterion = nnlab.CrossEntropyLoss()
    criterion(z[None, :], np.array([label]))
    np.testing.assert_array_equal(state.gradient, criterion.backward()[0])


def test_equal_logits_give_the_uniform_distribution_and_log_c():
    for c in (2, 3, 7):
        state = logit_state(np.full(c, 4.2), 1)
        np.testing.assert_allclose(state.probabilities, 1 / c)
        assert state.loss == pytest.approx(np.log(c))


def test_raising_the_true_logit_lowers_the_loss():
    losses = [logit_state([z, 1.0, -1.0], 0).loss for z in np.linspace(-5, 5, 21)]
    assert all(b < a for a, b in itertools.pairwise(losses))


def test_confidently_wrong_costs_the_logit_gap():
    # -log p_y = log sum exp(z) - z_y ~ max(z) - z_y when one logit dominates.
    state = logit_state([50.0, 0.0, 0.0], 1)
    assert state.loss == pytest.approx(50.0, rel=1e-12)
    np.testing.assert_allclose(state.gradient, [1.0, -1.0, 0.0], atol=1e-12)


@pytest.mark.parametrize(
    ("logits", "label", "error", "match"),
    [
        ([1.0, 2.0, 3.0], 3, ValueError, r"label in \[0, 3\); got 3"),
        ([1.0, 2.0, 3.0], -1, ValueError, r"label in \[0, 3\); got -1"),
        ([1.0, 2.0, 3.0], 1.0, TypeError, "int label; got float"),
        ([1.0, 2.0, 3.0], True, TypeError, "int label; got bool"),
        ([1.0], 0, ValueError, r"C >= 2; got shape \(1,\)"),
        ([[1.0, 2.0]], 0, ValueError, r"shape \(C,\)"),
        ([1.0, np.nan, 3.0], 0, ValueError, "logit_state"),
        (["a", "b"], 0, TypeError, "logit_state"),
    ],
)
def test_bad_arguments_are_named(logits, label, error, match):
    with pytest.raises(error, match=match):
        logit_state(logits, label)


@pytest.mark.parametrize("label", range(3))
def test_draw_logits_draws_the_numbers_of_the_state(label):
    fig, ax = plt.subplots()
    try:
        state = draw_logits(ax, 2.0, -1.0, 0.5, label)
        heights = np.array([patch.get_height() for patch in ax.patches]).reshape(3, 3)
        np.testing.assert_allclose(heights[0], state.probabilities)
        np.testing.assert_allclose(heights[1], np.eye(3)[label])
        np.testing.assert_allclose(heights[2], state.gradient)
        np.testing.assert_allclose(heights[2], heights[0] - heights[1])
        assert f"{state.loss:.3f}" in ax.get_title()
    finally:
        plt.close(fig)


def test_fast_enough_for_a_slider():
    import time

    from nnlab.widgets import render_png

    # A redraw is the computation plus rendering the PNG the widget shows; the best of a
    # few runs is measured so that a busy machine does not fail the test.
    times = []
    for _ in range(3):
        start = time.perf_counter()
        render_png(draw_logits, {"z0": 1.0, "z1": 2.0, "z2": -3.0, "label": 2}, figsize=(6, 3.2), dpi=80)
        times.append(time.perf_counter() - start)
    assert min(times) < 0.5


def test_the_three_kinds_of_bar_differ_in_more_than_colour():
    fig, ax = plt.subplots()
    try:
        draw_logits(ax, 2.0, -1.0, 0.5, 0)
        groups = [ax.patches[3 * i] for i in range(3)]
        assert len({p.get_hatch() for p in groups}) == 3  # a hatch per kind, not colour alone
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "p = softmax(z)", "onehot(y)", "gradient p - onehot(y)"]
    finally:
        plt.close(fig)
