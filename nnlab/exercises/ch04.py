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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nnlab.activations import ReLU, Sigmoid, sigmoid
from nnlab.exercises._core import Case, Exercise
from nnlab.gradcheck import numerical_gradient
from nnlab.layers import Linear, Sequential
from nnlab.losses import MSELoss

__all__ = ["linear_backward", "mlp_backward", "sigmoid_delta", "softplus_layer_backward", "EXERCISES"]

# Headings of book/04_backprop/lesson.ipynb (tests/test_exercises_ch04.py keeps them in sync).
SECTION_DELTA = "Backpropagation for a layer: the delta recursion"
SECTION_BATCH = "A batch at once: the code of Linear.backward"


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


def _factor(reference: Callable[..., Any], names: Sequence[str] = ()) -> dict[str, Any]:
    """The fields that name a constant factor explaining a wrong answer (every exercise here)."""
    return {"note_format": "Note: {}.",
            "diagnose": lambda args, got: _factor_note(reference(*args), got, tuple(names) or ("the result",))}


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


linear_backward = Exercise(
    **_factor(_linear_reference, ("dX", "dW", "db")),
    name="linear_backward",
    chapter=4,
    section=SECTION_BATCH,
    make_cases=_linear_cases,
    references=[("nnlab.Linear.backward", _linear_reference),
                ("central differences of sum(G * (X W^T + b))", _linear_numerical)],
    output_names=("dX", "dW", "db"),
    hints=(
        ("Row n of Z is W x_n + b. Take the gradient of each example's contribution, then add "
         "up the contributions of the N rows of the batch."),
        ("Match shapes: G is (N, d_out); dX must be (N, d_in) like X, dW (d_out, d_in) like W,"
         " db (d_out,) like b. For each, only one product of G with X or W (transposed or not)"
         " has the right shape."),
        '∂ℒ/∂X = G W,  ∂ℒ/∂W = Σ_n g_n x_nᵀ = Gᵀ X,  ∂ℒ/∂b = Σ_n g_n.',
    ),
)


_MLP_SHAPES = [(4, 3, 5, 2), (1, 6, 4, 3), (8, 2, 7, 1), (5, 4, 3, 6)]


def _mlp_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d_in, d_hidden, d_out in _MLP_SHAPES:
        X = rng.normal(size=(batch, d_in))
        Y = rng.normal(size=(batch, d_out))
        while True:
            W1 = rng.normal(size=(d_hidden, d_in))
            # Biases of both signs, so that some hidden units are off for some examples and
            # a missing ReLU mask shows.
            b1 = rng.normal(size=d_hidden) - 0.3
            # No pre-activation next to the ReLU's kink, where the derivative is undefined
            # and rounding (or a finite difference) could pick either side.
            if np.abs(X @ W1.T + b1).min() > 1e-3:
                break
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


mlp_backward = Exercise(
    **_factor(_mlp_reference, ("dW1", "db1", "dW2", "db2")),
    name="mlp_backward",
    chapter=4,
    section=SECTION_BATCH,
    make_cases=_mlp_cases,
    references=[("nnlab Sequential(Linear, ReLU, Linear) with MSELoss", _mlp_reference),
                ("central differences of the loss", _mlp_numerical)],
    output_names=("dW1", "db1", "dW2", "db2"),
    hints=(
        ("Forward first, keeping Z₁, H = ReLU(Z₁) and Ŷ; then backwards: ∂ℒ/∂Ŷ, the output "
         "layer, the ReLU, the hidden layer. It is exercise 1 twice with a ReLU between."),
        ("The loss is the mean over all N·d_out entries (nnlab.MSELoss). ∂ℒ/∂Ŷ is (N, d_out), "
         "∂ℒ/∂H and ∂ℒ/∂Z₁ are (N, d_hidden); each parameter's gradient has the parameter's "
         "shape."),
        ("∂ℒ/∂Ŷ = 2(Ŷ − Y)/(N d_out) =: D₂; ∂ℒ/∂W₂ = D₂ᵀ H, ∂ℒ/∂b₂ = Σ_n (D₂)_n; D₁ = (D₂ W₂) "
         "⊙ 𝟙[Z₁ > 0]; ∂ℒ/∂W₁ = D₁ᵀ X, ∂ℒ/∂b₁ = Σ_n (D₁)_n."),
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


sigmoid_delta = Exercise(
    **_factor(_delta_reference),
    name="sigmoid_delta",
    chapter=4,
    section=SECTION_DELTA,
    make_cases=_delta_cases,
    references=[("nnlab Linear.backward then Sigmoid.backward", _delta_reference),
                ("central differences", _delta_numerical)],
    hints=(
        ("Two steps back from δ_next = ∂ℒ/∂Z_next: through the next Linear layer to ∂ℒ/∂H, "
         "then through the sigmoid, entry by entry, to ∂ℒ/∂Z."),
        ("Z and H are (N, d_l), W_next is (d_next, d_l), delta_next (N, d_next): the product "
         "that brings delta_next back to (N, d_l) has W_next, untransposed, on the right."),
        'δ = (δ_next W_next) ⊙ σ′(Z), with σ′(Z) = σ(Z) ⊙ (1 − σ(Z)).',
    ),
)



# --- Exercise 4: a new module's backward pass (softplus is not in nnlab) -----------------------

_SOFTPLUS_SHAPES = [(4, 3, 2), (1, 5, 3), (7, 2, 6), (3, 6, 1), (5, 4, 7)]


def _softplus_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, d_in, d_out in _SOFTPLUS_SHAPES:
        X, W = rng.normal(size=(n, d_in)), rng.normal(size=(d_out, d_in))
        b, G = rng.normal(size=d_out), rng.normal(size=(n, d_out))
        cases.append(Case((X, W, b, G), ("X", "W", "b", "G")))
    return cases


def _softplus(Z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, Z)


def _softplus_reference(X: np.ndarray, W: np.ndarray, b: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, ...]:
    # nnlab's Linear.backward, fed dL/dZ = G * softplus'(Z) = G * sigmoid(Z).
    layer = _linear(W, b)
    Z = layer(X)
    dX = layer.backward(G * sigmoid(Z))
    return dX, layer.weight.grad, layer.bias.grad


def _softplus_numerical(X: np.ndarray, W: np.ndarray, b: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, ...]:
    def f(_: np.ndarray) -> float:
        return float(np.sum(G * _softplus(X @ W.T + b)))

    return tuple(numerical_gradient(f, p) for p in (X, W, b))


def _softplus_with(X, W, b, G, local):
    D = G * local
    return D @ W, D.T @ X, D.sum(axis=0)


softplus_layer_backward = Exercise(
    **_factor(_softplus_reference, ("dX", "dW", "db")),
    name="softplus_layer_backward",
    chapter=4,
    section=SECTION_DELTA,
    make_cases=_softplus_cases,
    references=[("nnlab.Linear.backward fed G * sigmoid(Z)", _softplus_reference),
                ("central differences of sum(G * softplus(X W^T + b))", _softplus_numerical)],
    output_names=("dX", "dW", "db"),
    hints=(
        ("A layer H = softplus(X Wᵀ + b) is a Linear layer followed by an entrywise activation: "
         "go back through the activation first (its derivative is not in nnlab: derive it), "
         "then through the Linear layer as in exercise 1."),
        ("G and Z = X Wᵀ + b are (N, d_out); the gradient with respect to Z has that shape too. "
         "dX is (N, d_in), dW (d_out, d_in), db (d_out,)."),
        ("softplus(z) = log(1 + e^z) has derivative e^z/(1 + e^z) = σ(z). With D = G ⊙ σ(Z): "
         "∂ℒ/∂X = D W, ∂ℒ/∂W = Dᵀ X, ∂ℒ/∂b = Σ_n D_n."),
    ),
    diagnoses=(
        ("the local derivative is softplus(Z) itself; the derivative of log(1 + e^z) is "
         "sigmoid(z)", lambda X, W, b, G: _softplus_with(X, W, b, G, _softplus(X @ W.T + b))),
        ("the derivative is evaluated at the output H = softplus(Z); it is sigmoid(Z), at the "
         "layer's pre-activation", lambda X, W, b, G: _softplus_with(X, W, b, G, sigmoid(_softplus(X @ W.T + b)))),
        ("the activation is skipped: G must first be multiplied by softplus'(Z) = sigmoid(Z)",
         lambda X, W, b, G: _softplus_with(X, W, b, G, 1.0)),
        ("the sigmoid's derivative sigma (1 - sigma) is used; softplus' = sigma itself",
         lambda X, W, b, G: _softplus_with(X, W, b, G, sigmoid(X @ W.T + b) * (1 - sigmoid(X @ W.T + b)))),
        ("db is not summed over the batch: each example's contribution adds up, db has b's shape",
         lambda X, W, b, G: (*_softplus_with(X, W, b, G, sigmoid(X @ W.T + b))[:2], G * sigmoid(X @ W.T + b))),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (linear_backward, mlp_backward, sigmoid_delta, softplus_layer_backward)
}
