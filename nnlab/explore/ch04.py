"""Chapter 4 explorer: step through the forward and backward pass of the 2-2-1 network.

The network of :func:`nnlab.examples.tiny_network` is a computational graph

    x, W1, b1 -> z1 = W1 x + b1 -> h1 = sigmoid(z1) -> yhat = W2 h1 + b2 -> L = (yhat - y)^2
                                                  W2, b2 ^                    y ^

:func:`backprop_steps` runs it with nnlab, one layer at a time, and records every value
the forward pass computes and every gradient dL/d(node) the backward pass computes, in
the order they are computed. :func:`graph_state` says what is known after the first k
steps, and :func:`draw_backprop` draws the graph with those values, so a slider over k
walks through backpropagation. See chapter 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab._checks import check_real
from nnlab.examples import tiny_network
from nnlab.losses import MSELoss

__all__ = ["NODES", "LEAVES", "COLUMNS", "Step", "backprop_steps", "graph_state", "draw_backprop"]

#: Every node of the graph: its inputs (the nodes it is computed from) and where it is drawn.
NODES: dict[str, dict[str, Any]] = {
    "x": {"inputs": (), "pos": (0.0, 2.6)},
    "W1": {"inputs": (), "pos": (0.0, 1.0)},
    "b1": {"inputs": (), "pos": (0.0, -0.6)},
    "z1": {"inputs": ("x", "W1", "b1"), "pos": (2.35, 1.0)},
    "h1": {"inputs": ("z1",), "pos": (3.95, 1.0)},
    "W2": {"inputs": (), "pos": (3.95, 2.6)},
    "b2": {"inputs": (), "pos": (3.95, -0.6)},
    "yhat": {"inputs": ("h1", "W2", "b2"), "pos": (5.45, 1.0)},
    "y": {"inputs": (), "pos": (5.45, 2.6)},
    "L": {"inputs": ("yhat", "y"), "pos": (7.15, 1.0)},
}

#: Where a node's numbers go, so that no arrow crosses them: the top row writes its value
#: and gradient above the node, the bottom row below it, the middle row the value above
#: and the gradient below; yhat and L, whose arrows come in from the upper left, write
#: theirs to the right.
_PLACE = {"x": "above", "W2": "above", "y": "above", "b1": "below", "b2": "below"}
_RIGHT = ("yhat", "L")

#: Column vectors of the maths, stored as rows (1, 2) by nnlab: drawn as columns.
COLUMNS = ("x", "z1", "h1", "b1")

#: Font sizes (points) of the drawing: at the book's dpi and the lesson's figure width the
#: figure is shown at its own size, so these are the sizes the reader sees (at least 9 pt).
FONT_NODE, FONT_NUMBERS, FONT_TITLE = 12, 11, 11

#: The nodes known before the forward pass starts: the data and the parameters.
LEAVES = ("x", "W1", "b1", "W2", "b2", "y")


@dataclass(frozen=True)
class Step:
    """One computation of the forward or the backward pass.

    Attributes
    ----------
    phase : {"forward", "backward"}
        Forward steps compute a node's value, backward steps its gradient dL/d(node).
    node : str
        A key of :data:`NODES`.
    value : np.ndarray
        The node's value (forward) or dL/d(node) (backward), the node's shape.
    rule : str
        The equation applied, e.g. ``"dL/dz1 = sigmoid'(z1) * dL/dh1"``.
    """

    phase: str
    node: str
    value: np.ndarray
    rule: str


def backprop_steps(x: Any = (1.0, 0.5), y: float = 1.0) -> list[Step]:
    """The forward then backward pass of the 2-2-1 network, one node per step, computed by nnlab.

    Forward: z1, h1, yhat, L. Backward, in reverse order: L (the seed dL/dL = 1), yhat,
    W2, b2, h1, z1, W1, b1. Every gradient of a node is computed after the gradients of
    all the nodes that consume it, which is what makes one backward sweep enough.

    Parameters
    ----------
    x : pair of float
        The input (default: the book's example (1.0, 0.5)).
    y : float
        The target (default 1.0).

    Returns
    -------
    list of Step
        12 steps; values have the nodes' shapes: x, z1, h1 ``(1, 2)``, yhat ``(1, 1)``,
        W1 ``(2, 2)``, b1 ``(2,)``, W2 ``(1, 2)``, b2 ``(1,)``, L a 0-d array.
    """
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    if x.shape != (1, 2):
        raise ValueError(f"backprop_steps expected x with 2 entries; got {x.size}")
    target = np.array([[check_real(y, "y", "backprop_steps")]])
    net, _, _ = tiny_network()
    layer1, act, layer2 = net
    criterion = MSELoss()

    z1 = layer1(x)
    h1 = act(z1)
    yhat = layer2(h1)
    loss = np.array(criterion(yhat, target))
    steps = [
        Step("forward", "z1", z1, "z1 = W1 x + b1"),
        Step("forward", "h1", h1, "h1 = sigmoid(z1)"),
        Step("forward", "yhat", yhat, "yhat = W2 h1 + b2"),
        Step("forward", "L", loss, "L = (yhat - y)^2"),
    ]

    d_yhat = criterion.backward()
    d_h1 = layer2.backward(d_yhat)
    d_z1 = act.backward(d_h1)
    layer1.backward(d_z1, input_grad=False)
    steps += [
        Step("backward", "L", np.array(1.0), "dL/dL = 1"),
        Step("backward", "yhat", d_yhat, "dL/dyhat = 2 (yhat - y)"),
        Step("backward", "W2", layer2.weight.grad.copy(), "dL/dW2 = dL/dyhat h1^T"),
        Step("backward", "b2", layer2.bias.grad.copy(), "dL/db2 = dL/dyhat"),
        Step("backward", "h1", d_h1, "dL/dh1 = W2^T dL/dyhat"),
        Step("backward", "z1", d_z1, "dL/dz1 = sigmoid'(z1) * dL/dh1"),
        Step("backward", "W1", layer1.weight.grad.copy(), "dL/dW1 = dL/dz1 x^T"),
        Step("backward", "b1", layer1.bias.grad.copy(), "dL/db1 = dL/dz1"),
    ]
    return steps


def _leaf_values(x: Any, y: float) -> dict[str, np.ndarray]:
    net, _, _ = tiny_network()
    return {
        "x": np.asarray(x, dtype=np.float64).reshape(1, -1),
        "W1": net[0].weight.value,
        "b1": net[0].bias.value,
        "W2": net[2].weight.value,
        "b2": net[2].bias.value,
        "y": np.array([[float(y)]]),
    }


def graph_state(steps: list[Step], k: int) -> dict[str, dict[str, np.ndarray | None]]:
    """What is known after the first ``k`` steps: ``{node: {"value": ..., "grad": ...}}``.

    Values of the nodes computed by the first ``k`` steps, and their gradients; ``None``
    where not yet computed. Leaves (data, parameters) get their values from :data:`LEAVES`
    by the caller (:func:`draw_backprop`); here only computed quantities appear.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= len(steps):
        raise ValueError(f"graph_state expected k in 0..{len(steps)}; got {k!r}")
    state: dict[str, dict[str, np.ndarray | None]] = {n: {"value": None, "grad": None} for n in NODES}
    for step in steps[:k]:
        state[step.node]["value" if step.phase == "forward" else "grad"] = step.value
    return state


def _fmt(a: np.ndarray, column: bool = False) -> str:
    """Numbers of a node, one line per row; a column vector one entry per line."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 1:
        return f"{a.item():.4f}"
    if column:
        return "\n".join(f"{v:.3f}" for v in a.ravel())
    return "\n".join(" ".join(f"{v:6.3f}" for v in row) for row in np.atleast_2d(a))


def draw_backprop(ax: Any, k: int, x: Any = (1.0, 0.5), y: float = 1.0) -> list[Step]:
    """Draw the graph with every value and gradient (marked "grad") known after ``k`` steps.

    Values are drawn in colour C0, gradients in colour C1 and prefixed "grad"; column vectors of the maths (x, z1, h1, b1) as columns. The fonts
    are at least 11 pt (:data:`FONT_NUMBERS`), readable at the lesson's size of 8 x 4.6 in.

    The node computed by step ``k`` is outlined, and the arrows it used are highlighted:
    in the forward pass the arrows from its inputs, in the backward pass the arrows from
    the nodes that consume it, along which the gradient flows back. Returns the steps.
    """
    steps = backprop_steps(x, y)
    state = graph_state(steps, k)
    for name, leaf in _leaf_values(x, y).items():
        state[name]["value"] = leaf
    current = steps[k - 1] if k > 0 else None

    for node, spec in NODES.items():
        for src in spec["inputs"]:
            active = current is not None and (
                (current.phase == "forward" and current.node == node)
                or (current.phase == "backward" and current.node == src)
            )
            color = ("C0" if current.phase == "forward" else "C1") if active else "0.75"
            (x0, y0), (x1, y1) = NODES[src]["pos"], spec["pos"]
            # A gradient flows against the arrow: draw the active backward edge reversed.
            backward = active and current.phase == "backward"
            start, end = ((x1, y1), (x0, y0)) if backward else ((x0, y0), (x1, y1))
            ax.annotate("", xy=end, xytext=start, arrowprops=dict(
                arrowstyle="-|>", color=color, lw=2.2 if active else 1.0, shrinkA=16, shrinkB=16))

    numbers = dict(textcoords="offset points", multialignment="right",
                   fontsize=FONT_NUMBERS, family="monospace")
    line = 1.25 * FONT_NUMBERS  # points per line of numbers
    for node, spec in NODES.items():
        px, py = spec["pos"]
        is_current = current is not None and current.node == node
        edge = ("C0" if current.phase == "forward" else "C1") if is_current else "0.4"
        ax.text(px, py, node, ha="center", va="center", fontsize=FONT_NODE, fontweight="bold",
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec=edge, lw=2.5 if is_current else 1.0))
        value, grad = state[node]["value"], state[node]["grad"]
        place = _PLACE.get(node, "split")
        # The value next to the node; the gradient on the other side, or beyond the value.
        value_text = _fmt(value, node in COLUMNS) if value is not None else ""
        value_up = place != "below"
        dx, ha = (10, "left") if node in _RIGHT else (0, "center")
        if value is not None:
            ax.annotate(value_text, (px, py), xytext=(dx, 12 if value_up else -12), ha=ha,
                        va="bottom" if value_up else "top", color="C0", **numbers)
        if grad is not None:
            # "grad" in front, not the colour alone, tells a gradient from a value.
            grad_up = place == "above"
            gap = 12 + (line * (value_text.count("\n") + 1) + 2 if place != "split" else 0)
            ax.annotate("grad " + _fmt(grad, node in COLUMNS), (px, py),
                        xytext=(dx, gap if grad_up else -gap), ha=ha, va="bottom" if grad_up else "top",
                        color="C1", **numbers)

    if current is None:
        title = f"step 0 of {len(steps)}: only the data and the parameters are known"
    else:
        title = f"step {k} of {len(steps)} ({current.phase}): {current.rule}"
    ax.set_title(title, fontsize=FONT_TITLE)
    ax.set_xlim(-0.9, 8.1)
    ax.set_ylim(-1.6, 3.5)
    ax.set_axis_off()
    return steps
