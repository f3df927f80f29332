"""Chapter 4 (backpropagation): the graded exercises.

Every answer is a gradient, so every check compares it twice: with nnlab's own backward
pass, and with central differences (:func:`nnlab.gradcheck.numerical_gradient`) of the
scalar the gradient belongs to, which shares no code with any backward pass.

- ``linear_backward(X, W, G) -> (dX, dW, db)``: one ``Linear`` layer, against
  :meth:`nnlab.Linear.backward`;
- ``mlp_backward(X, Y, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)``: ``Linear -> ReLU ->
  Linear`` with ``MSELoss``, against ``Sequential.backward``;
- ``sigmoid_delta(Z, W_next, delta_next) -> delta``: one step of the delta recursion
  through a sigmoid layer, against ``Linear.backward`` then ``Sigmoid.backward``.

When an answer has the right shape but every entry is the right one times the same
factor (a dropped 1/N, a missing 2), the message says so.

>>> from nnlab.exercises import ch04
>>> ch04.linear_backward.check(my_linear_backward)     # doctest: +SKIP
✓ linear_backward: passed (6 random cases)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab.activations import ReLU, Sigmoid, sigmoid
from nnlab.exercises._core import Case, Exercise
from nnlab.gradcheck import numerical_gradient
from nnlab.layers import Linear, Sequential
from nnlab.losses import MSELoss

__all__ = ["linear_backward", "mlp_backward", "sigmoid_delta", "EXERCISES"]

# Headings of book/04_backprop/lesson.ipynb (tests/test_exercises_ch04.py keeps them in sync).
SECTION_DELTA = "4.3 Backpropagation for a layer: the delta recursion"
SECTION_BATCH = "4.4 A batch at once: the code of Linear.backward"


def _linear(weight: np.ndarray, bias: np.ndarray | None = None) -> Linear:
    """An nnlab.Linear holding exactly ``weight`` (out, in) and ``bias`` (out,) (zeros if None)."""
    layer = Linear(weight.shape[1], weight.shape[0], init="zeros")
    layer.weight.value[...] = weight
    if bias is not None:
        layer.bias.value[...] = bias
    return layer


def _factor_note(expected: Any, got: Any, names: Sequence[str]) -> str | None:
    """'every entry of dW is 4 times the right one ...' when one constant factor explains the error."""
    if not isinstance(expected, tuple):
        expected, got, names = (expected,), (got,), ("the result",)
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        return None
    for name, e, g in zip(names, expected, got):
        e = np.asarray(e, dtype=np.float64)
        if not isinstance(g, np.ndarray) or g.shape != e.shape or g.dtype.kind not in "fiu":
            continue
        g = g.astype(np.float64)
        big = np.abs(e) > 1e-6 * max(float(np.abs(e).max()), 1e-300)
        if not big.any() or not np.all(np.isfinite(g)):
            continue
        ratio = g[big] / e[big]
        factor = float(np.median(ratio))
        if abs(factor - 1) > 1e-6 and np.allclose(ratio, factor, rtol=1e-6) and np.allclose(
                g[~big], 0, atol=1e-8):
            return (f"every entry of {name} is {factor:.4g} times the right one: a constant factor "
                    "is wrong or missing (a 1/N of the mean? the 2 of the square?)")
    return None


@dataclass
class _GradientExercise(Exercise):
    """An Exercise whose message also names a constant factor that explains a wrong answer."""

    note_format: str = "Note: {}."

    def explain(self, case: Case, got: Any) -> str | None:
        return _factor_note(self.expected(case), got, tuple(self.output_names) or ("the result",))


# Every width differs from every other and from the batch size, so that a missing
# transpose or a sum over the wrong axis fails on shape instead of passing by accident.
_LINEAR_SHAPES = [(4, 3, 2), (1, 5, 3), (7, 2, 6), (3, 6, 1), (10, 8, 4), (2, 1, 5)]


def _linear_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d_in, d_out in _LINEAR_SHAPES:
        X = rng.normal(size=(batch, d_in))
        W = rng.normal(size=(d_out, d_in))
        G = rng.normal(size=(batch, d_out))
        cases.append(Case((X, W, G), ("X", "W", "G")))
    return cases


def _linear_reference(X: np.ndarray, W: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, ...]:
    layer = _linear(W)
    layer(X)
    dX = layer.backward(G)
    return dX, layer.weight.grad, layer.bias.grad


def _linear_numerical(X: np.ndarray, W: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, ...]:
    # G is dL/dZ, so the gradients are those of the scalar sum(G * Z), Z = X W^T + b.
    b = np.zeros(W.shape[0])

    def f(_: np.ndarray) -> float:
        return float(np.sum(G * (X @ W.T + b)))

    return numerical_gradient(f, X), numerical_gradient(f, W), numerical_gradient(f, b)


linear_backward = _GradientExercise(
    name="linear_backward",
    chapter=4,
    section=SECTION_BATCH,
    make_cases=_linear_cases,
    references=[("nnlab.Linear.backward", _linear_reference),
                ("central differences of sum(G * (X W^T + b))", _linear_numerical)],
    output_names=("dX", "dW", "db"),
    hints=(
        "Start from the shapes: dX must be (N, d_in) like X, dW (d_out, d_in) like W, db "
        "(d_out,) like b. G is (N, d_out). Which products of G, X and W have those shapes?",
        "Row n of Z is W x_n + b, so example n contributes g_n x_n^T to dW and g_n to db; "
        "the batch gradient is the SUM of the contributions of all rows.",
        "dX = G @ W, dW = G.T @ X, db = G.sum(axis=0).",
    ),
)


_MLP_SHAPES = [(4, 3, 5, 2), (1, 6, 4, 3), (8, 2, 7, 1), (5, 4, 3, 6)]


def _mlp_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d_in, d_hidden, d_out in _MLP_SHAPES:
        X = rng.normal(size=(batch, d_in))
        Y = rng.normal(size=(batch, d_out))
        W1 = rng.normal(size=(d_hidden, d_in))
        # Biases of both signs, so that some hidden units are off for some examples and a
        # missing ReLU mask shows.
        b1 = rng.normal(size=d_hidden) - 0.3
        W2 = rng.normal(size=(d_out, d_hidden))
        b2 = rng.normal(size=d_out)
        cases.append(Case((X, Y, W1, b1, W2, b2), ("X", "Y", "W1", "b1", "W2", "b2")))
    return cases


def _mlp_net(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> Sequential:
    return Sequential(_linear(W1, b1), ReLU(), _linear(W2, b2))


def _mlp_reference(X: np.ndarray, Y: np.ndarray, W1: np.ndarray, b1: np.ndarray,
                   W2: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, ...]:
    net = _mlp_net(W1, b1, W2, b2)
    criterion = MSELoss()
    criterion(net(X), Y)
    net.backward(criterion.backward(), input_grad=False)
    return net[0].weight.grad, net[0].bias.grad, net[2].weight.grad, net[2].bias.grad


def _mlp_numerical(X: np.ndarray, Y: np.ndarray, W1: np.ndarray, b1: np.ndarray,
                   W2: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, ...]:
    def loss(_: np.ndarray) -> float:
        H = np.maximum(X @ W1.T + b1, 0.0)
        return float(np.mean((H @ W2.T + b2 - Y) ** 2))

    return tuple(numerical_gradient(loss, p) for p in (W1, b1, W2, b2))


mlp_backward = _GradientExercise(
    name="mlp_backward",
    chapter=4,
    section=SECTION_BATCH,
    make_cases=_mlp_cases,
    references=[("nnlab Sequential(Linear, ReLU, Linear) with MSELoss", _mlp_reference),
                ("central differences of the loss", _mlp_numerical)],
    output_names=("dW1", "db1", "dW2", "db2"),
    hints=(
        "Run the forward pass and keep Z1, H and Yhat. Then go backwards: dL/dYhat first, "
        "then layer 2 (dW2, db2, dH), then the ReLU (dZ1), then layer 1 (dW1, db1).",
        "The loss is the mean over ALL N * d_out entries of (Yhat - Y)^2, as nnlab.MSELoss, "
        "so dL/dYhat = 2 (Yhat - Y) / Yhat.size. The ReLU passes the gradient only where "
        "its input was positive: dZ1 = dH * (Z1 > 0).",
        "dYhat = 2 * (Yhat - Y) / Yhat.size; dW2 = dYhat.T @ H; db2 = dYhat.sum(axis=0); "
        "dH = dYhat @ W2; dZ1 = dH * (Z1 > 0); dW1 = dZ1.T @ X; db1 = dZ1.sum(axis=0).",
    ),
)


_DELTA_SHAPES = [(4, 3, 2), (1, 5, 3), (6, 2, 4), (3, 7, 1), (9, 4, 6)]


def _delta_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d_l, d_next in _DELTA_SHAPES:
        # Pre-activations of both signs and some large ones, where sigmoid saturates.
        Z = rng.normal(scale=2.0, size=(batch, d_l))
        W_next = rng.normal(size=(d_next, d_l))
        delta_next = rng.normal(size=(batch, d_next))
        cases.append(Case((Z, W_next, delta_next), ("Z", "W_next", "delta_next")))
    return cases


def _delta_reference(Z: np.ndarray, W_next: np.ndarray, delta_next: np.ndarray) -> np.ndarray:
    act, layer = Sigmoid(), _linear(W_next)
    layer(act(Z))
    return act.backward(layer.backward(delta_next))


def _delta_numerical(Z: np.ndarray, W_next: np.ndarray, delta_next: np.ndarray) -> np.ndarray:
    # delta_next is dL/dZ_next, so delta is the gradient of sum(delta_next * Z_next).
    def f(_: np.ndarray) -> float:
        return float(np.sum(delta_next * (sigmoid(Z) @ W_next.T)))

    return numerical_gradient(f, Z)


sigmoid_delta = _GradientExercise(
    name="sigmoid_delta",
    chapter=4,
    section=SECTION_DELTA,
    make_cases=_delta_cases,
    references=[("nnlab Linear.backward then Sigmoid.backward", _delta_reference),
                ("central differences", _delta_numerical)],
    hints=(
        "delta = dL/dZ for the layer whose pre-activations are Z (N, d_l). Two steps back "
        "from delta_next = dL/dZ_next: through the next Linear layer to dL/dH, then "
        "through the sigmoid to dL/dZ.",
        "Z_next = H W_next^T + b, so dL/dH = delta_next @ W_next (shape (N, d_l)). The "
        "sigmoid acts entry by entry: multiply elementwise by sigmoid'(Z) = s (1 - s) with "
        "s = sigmoid(Z), not with Z (1 - Z).",
        "s = 1 / (1 + np.exp(-Z)); return s * (1 - s) * (delta_next @ W_next).",
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (linear_backward, mlp_backward, sigmoid_delta)
}
