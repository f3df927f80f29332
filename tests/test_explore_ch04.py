"""The chapter 4 explorer: the forward and backward pass of the 2-2-1 network, step by step."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.explore.ch04 import LEAVES, NODES, backprop_steps, draw_backprop, graph_state
from nnlab.gradcheck import numerical_gradient
from test_backprop_by_hand import DB1, DB2, DELTA1, DW1, DW2, DL_DYHAT, H1, LOSS, YHAT, Z1

close = dict(rtol=1e-9, atol=1e-12)

# A grid of inputs and targets: both signs, zero, and a target the network already hits
# almost exactly (tiny gradients).
SETTINGS = [((1.0, 0.5), 1.0), ((0.0, 0.0), 0.0), ((-2.0, 3.0), -1.0), ((4.0, -4.0), 2.5),
            ((0.3, -0.7), 0.2284637312837135), ((1e-3, 10.0), -3.0)]


def _by_node(steps, phase):
    return {s.node: s.value for s in steps if s.phase == phase}


def test_the_book_example_reproduces_the_hand_computation() -> None:
    steps = backprop_steps()
    fwd, bwd = _by_node(steps, "forward"), _by_node(steps, "backward")
    np.testing.assert_allclose(fwd["z1"].ravel(), Z1, **close)
    np.testing.assert_allclose(fwd["h1"].ravel(), H1, **close)
    np.testing.assert_allclose(fwd["yhat"].item(), YHAT, **close)
    np.testing.assert_allclose(fwd["L"].item(), LOSS, **close)
    np.testing.assert_allclose(bwd["yhat"].item(), DL_DYHAT, **close)
    np.testing.assert_allclose(bwd["W2"], DW2, **close)
    np.testing.assert_allclose(bwd["b2"], DB2, **close)
    np.testing.assert_allclose(bwd["z1"].ravel(), DELTA1, **close)
    np.testing.assert_allclose(bwd["W1"], DW1, **close)
    np.testing.assert_allclose(bwd["b1"], DELTA1, **close)
    np.testing.assert_allclose(bwd["b1"], DB1, **close)


@pytest.mark.parametrize(("x", "y"), SETTINGS)
def test_steps_follow_the_graph_in_order(x, y) -> None:
    steps = backprop_steps(x, y)
    assert [s.phase for s in steps] == ["forward"] * 4 + ["backward"] * 8
    done_values, done_grads = set(LEAVES), set()
    for step in steps:
        assert step.node in NODES
        if step.phase == "forward":
            # A value is computed only from values already known.
            assert set(NODES[step.node]["inputs"]) <= done_values, step
            done_values.add(step.node)
        else:
            # A gradient is computed only after the gradients of every node that consumes
            # it (the reverse topological order that makes one sweep enough).
            consumers = {m for m, spec in NODES.items() if step.node in spec["inputs"]}
            assert consumers <= done_grads, step
            done_grads.add(step.node)
    assert {"W1", "b1", "W2", "b2"} <= done_grads


@pytest.mark.parametrize(("x", "y"), SETTINGS)
def test_values_and_gradients_agree_with_nnlab_and_central_differences(x, y) -> None:
    steps = backprop_steps(x, y)
    fwd, bwd = _by_node(steps, "forward"), _by_node(steps, "backward")
    net, _, _ = nnlab.examples.tiny_network()
    xb, yb = np.array([x], dtype=float), np.array([[y]])
    criterion = nnlab.MSELoss()
    assert fwd["L"].item() == pytest.approx(criterion(net(xb), yb), rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(fwd["yhat"], net(xb), **close)
    net.backward(criterion.backward())
    for name, p in net.named_parameters():
        node = {"0.weight": "W1", "0.bias": "b1", "2.weight": "W2", "2.bias": "b2"}[name]
        np.testing.assert_allclose(bwd[node], p.grad, **close)
        numerical = numerical_gradient(lambda _: criterion(net(xb), yb), p.value)
        np.testing.assert_allclose(bwd[node], numerical, rtol=1e-6, atol=1e-9)
    # The equations the steps name, applied to the recorded numbers.
    h1 = fwd["h1"]
    np.testing.assert_allclose(bwd["yhat"], 2 * (fwd["yhat"] - yb), **close)
    np.testing.assert_allclose(bwd["z1"], h1 * (1 - h1) * bwd["h1"], **close)
    np.testing.assert_allclose(bwd["W1"], bwd["z1"].T @ xb, **close)


def test_graph_state_grows_one_node_per_step() -> None:
    steps = backprop_steps()
    assert all(v["value"] is None and v["grad"] is None for v in graph_state(steps, 0).values())
    known = 0
    for k in range(1, len(steps) + 1):
        state = graph_state(steps, k)
        count = sum((v["value"] is not None) + (v["grad"] is not None) for v in state.values())
        assert count == known + 1
        known = count
        last = steps[k - 1]
        assert state[last.node]["value" if last.phase == "forward" else "grad"] is last.value


@pytest.mark.parametrize("k", [-1, 13, 2.0, True])
def test_bad_step_numbers_are_named(k) -> None:
    with pytest.raises(ValueError, match=r"graph_state expected k in 0..12"):
        graph_state(backprop_steps(), k)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="expected x with 2 entries; got 3"):
        backprop_steps((1.0, 2.0, 3.0))
    with pytest.raises((TypeError, ValueError), match="y"):
        backprop_steps((1.0, 2.0), "one")


@pytest.mark.parametrize("k", range(13))
def test_draw_shows_what_is_known_at_step_k(k) -> None:
    fig, ax = plt.subplots()
    try:
        steps = draw_backprop(ax, k)
        texts = [t.get_text() for t in ax.texts if t.get_text()]  # arrows are empty annotations
        # One label per node, the leaves' values, and one text per value or gradient known.
        assert sum(t in NODES for t in texts) == len(NODES)
        assert sum(t.startswith("grad ") for t in texts) == sum(s.phase == "backward" for s in steps[:k])
        assert len(texts) == len(NODES) + len(LEAVES) + k
        assert f"step {k} of 12" in ax.get_title()
        if k:
            assert steps[k - 1].rule in ax.get_title()
    finally:
        plt.close(fig)


def test_fast_enough_for_a_slider() -> None:
    import time

    fig, ax = plt.subplots()
    try:
        times = []
        for _ in range(3):
            ax.clear()
            start = time.perf_counter()
            draw_backprop(ax, 9)
            fig.canvas.draw()
            times.append(time.perf_counter() - start)
        assert min(times) < 0.5
    finally:
        plt.close(fig)


@pytest.mark.parametrize("k", [0, 4, 7, 12])
def test_every_label_is_readable_at_the_lessons_size(k) -> None:
    """At least 9 pt at the size the lesson shows the figure (8 in wide at 80 dpi: 640 px,
    which the page does not shrink), and no two numbers or node names overlap."""
    fig, ax = plt.subplots(figsize=(8, 4.6), dpi=80)
    try:
        draw_backprop(ax, k)
        fig.tight_layout()
        fig.canvas.draw()
        texts = [t for t in ax.texts if t.get_text()] + [ax.title]
        assert min(t.get_fontsize() for t in texts) >= 9
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text()]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b), (a, b)
        assert fig.get_size_inches()[0] * fig.dpi <= 640
    finally:
        plt.close(fig)
