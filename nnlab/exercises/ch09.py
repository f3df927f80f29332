"""Chapter 9 (residual connections): the graded exercises.

- ``residual_backward(X, W1, b1, W2, b2, G) -> (dX, dW1, db1, dW2, db2)``: the backward
  pass of the block Y = X + relu(X W1^T + b1) W2^T + b2; against
  :meth:`nnlab.Residual.backward` around ``Sequential(Linear, ReLU, Linear)`` and
  against central differences of sum(G * Y).
- ``residual_jacobian(x, W, b) -> J``: the Jacobian I + diag(relu'(W x + b)) W of the
  block y = x + relu(W x + b) for one example; against nnlab's backward pass (one row
  per output unit) and central differences.
- ``prenorm_block(X, gamma, beta, W, b) -> Y``: the forward pass of the pre-norm block
  Y = X + relu(LayerNorm(X) W^T + b); against ``nnlab.Residual(Sequential(LayerNorm,
  Linear, ReLU))``, the block that ``nnlab.mlp(..., norm="layer", residual=True)`` builds.

When a wrong answer is one of the typical wrong answers (the skip path dropped or
counted twice, no ReLU mask, the Jacobian transposed, post-norm instead of pre-norm,
statistics over the batch, ...), the message says which.

>>> from nnlab.exercises import ch09
>>> ch09.residual_backward.check(my_residual_backward)     # doctest: +SKIP
✓ residual_backward: passed (5 random cases)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.activations import ReLU
from nnlab.exercises._core import Case, Exercise
from nnlab.gradcheck import numerical_gradient
from nnlab.layers import Linear, Residual, Sequential
from nnlab.normalization import LayerNorm

__all__ = ["EXERCISES", "prenorm_block", "projection_backward", "residual_backward",
           "residual_jacobian"]

# Headings of book/09_residual/lesson.ipynb (tests/test_exercises_ch09.py keeps them in sync).
SECTION_GRADIENT = "The gradient of a residual block"
SECTION_PRENORM = "Pre-norm residual blocks: the recipe"
SECTION_PROJECTION = "Blocks that change width: projection shortcuts"

LN_EPS = 1e-5  # nnlab.LayerNorm's default, as torch.nn.LayerNorm's


def _linear(weight: np.ndarray, bias: np.ndarray) -> Linear:
    """An nnlab.Linear holding exactly ``weight`` (out, in) and ``bias`` (out,)."""
    layer = Linear(weight.shape[1], weight.shape[0], init="zeros")
    layer.weight.value[...] = weight
    layer.bias.value[...] = bias
    return layer


def _away_from_kink(Z: np.ndarray) -> bool:
    # Central differences straddling relu's kink at 0 would be wrong.
    return bool(np.abs(Z).min() > 1e-3)


# --- Exercise 1: the backward pass of a residual block --------------------------------

# (batch N, width d, hidden width h): all different, so that a wrong transpose or a sum
# over the wrong axis fails on shape.
_BACKWARD_SHAPES = [(4, 3, 5), (1, 6, 2), (7, 2, 4), (5, 5, 3), (3, 4, 7)]


def _backward_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d, h in _BACKWARD_SHAPES:
        while True:
            X = rng.normal(size=(batch, d))
            W1 = rng.normal(size=(h, d))
            # Biases of both signs, so that some hidden units are off and the mask matters.
            b1 = rng.normal(size=h) - 0.3
            if _away_from_kink(X @ W1.T + b1):
                break
        W2 = rng.normal(size=(d, h))
        b2 = rng.normal(size=d)
        G = rng.normal(size=(batch, d))
        cases.append(Case((X, W1, b1, W2, b2, G), ("X", "W1", "b1", "W2", "b2", "G")))
    return cases


def _backward_reference(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray,
                        b2: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, ...]:
    first, second = _linear(W1, b1), _linear(W2, b2)
    block = Residual(Sequential(first, ReLU(), second))
    block(X)
    dX = block.backward(G)
    return dX, first.weight.grad, first.bias.grad, second.weight.grad, second.bias.grad


def _backward_numerical(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray,
                        b2: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, ...]:
    # G is dL/dY, so the gradients are those of the scalar sum(G * Y).
    def f(_: np.ndarray) -> float:
        Y = X + np.maximum(X @ W1.T + b1, 0.0) @ W2.T + b2
        return float(np.sum(G * Y))

    return tuple(numerical_gradient(f, p) for p in (X, W1, b1, W2, b2))


def _with_dX(change: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[..., Any]:
    """The reference answer with dX replaced by change(dX, G)."""
    def wrong(*args: np.ndarray) -> tuple[np.ndarray, ...]:
        dX, *rest = _backward_reference(*args)
        return (change(dX, args[-1]), *rest)
    return wrong


def _backward_no_mask(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray,
                      b2: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, ...]:
    H = np.maximum(X @ W1.T + b1, 0.0)
    dZ = G @ W2  # the mask (Z > 0) forgotten
    return G + dZ @ W1, dZ.T @ X, dZ.sum(axis=0), G.T @ H, G.sum(axis=0)


residual_backward = Exercise(
    name="residual_backward",
    chapter=9,
    section=SECTION_GRADIENT,
    make_cases=_backward_cases,
    references=[("nnlab.Residual(Sequential(Linear, ReLU, Linear)).backward", _backward_reference),
                ("central differences of sum(G * Y)", _backward_numerical)],
    output_names=("dX", "dW1", "db1", "dW2", "db2"),
    note_format="Note: {}.",
    diagnoses=[
        (("dX is exactly G short: the gradient of the skip path is missing (dY/dX = I + dF/dX, "
          "so dX = G + the gradient through the branch)"),
         _with_dX(lambda dX, G: dX - G)),
        ("dX is exactly G too large: the skip path's gradient G is counted twice",
         _with_dX(lambda dX, G: dX + G)),
        ("dX is G alone: that is only the skip path; add the gradient through the branch",
         _with_dX(lambda dX, G: G)),
        (("this is what you get without the ReLU mask: the branch passes the gradient only where "
          "X W1^T + b1 > 0"),
         _backward_no_mask),
    ],
    hints=(
        ("Y = X + F(X): the gradient reaching X is the sum of what flows through the skip and "
         "what flows through the branch. The parameter gradients are the branch's alone "
         "(chapter 4's two-layer network)."),
        ("X, G and Y are (N, d); W1 is (h, d), W2 (d, h); Z and H are (N, h). Return the five "
         "gradients in the order of the docstring, each with its variable's shape."),
        ("With Z = X W₁ᵀ + 𝟏 b₁ᵀ, H = ReLU(Z) and Δ = (G W₂) ⊙ 𝟙[Z > 0]: ∂ℒ/∂X = G + Δ W₁, "
         "∂ℒ/∂W₁ = Δᵀ X, ∂ℒ/∂b₁ = Σ_n Δ_n, ∂ℒ/∂W₂ = Gᵀ H, ∂ℒ/∂b₂ = Σ_n g_n."),
    ),
)


# --- Exercise 2: the Jacobian of a residual block ---------------------------------------

_JACOBIAN_WIDTHS = [3, 5, 1, 6, 4, 8]


def _jacobian_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for d in _JACOBIAN_WIDTHS:
        while True:
            x = rng.normal(size=d)
            W = rng.normal(size=(d, d))
            b = rng.normal(size=d) - 0.2
            z = W @ x + b
            # Some units on and some off (where d > 1), away from the kink.
            if _away_from_kink(z) and (d == 1 or (np.any(z > 0) and np.any(z < 0))):
                break
        cases.append(Case((x, W, b), ("x", "W", "b")))
    return cases


def _jacobian_reference(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = x.shape[0]
    block = Residual(Sequential(_linear(W, b), ReLU()))
    block(x[None, :])
    # Row i of J is dy_i/dx: the backward pass of the upstream gradient e_i.
    return np.concatenate([block.backward(np.eye(d)[i:i + 1]) for i in range(d)])


def _jacobian_numerical(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    def output(i: int) -> Callable[[np.ndarray], float]:
        return lambda v: float((v + np.maximum(W @ v + b, 0.0))[i])

    return np.stack([numerical_gradient(output(i), x) for i in range(x.shape[0])])


def _mask(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (W @ x + b > 0).astype(np.float64)


residual_jacobian = Exercise(
    name="residual_jacobian",
    chapter=9,
    section=SECTION_GRADIENT,
    make_cases=_jacobian_cases,
    references=[("nnlab.Residual(Sequential(Linear, ReLU)).backward, one row per output",
                 _jacobian_reference),
                ("central differences of each output y_i", _jacobian_numerical)],
    note_format="Note: {}.",
    diagnoses=[
        ("this is df/dx alone: the identity I of the skip path is missing",
         lambda x, W, b: _mask(x, W, b)[:, None] * W),
        ("this is the transpose of the Jacobian: J[i, j] must be dy_i/dx_j (row = output)",
         lambda x, W, b: _jacobian_reference(x, W, b).T),
        ("this is I + W: the ReLU's derivative is missing (a unit that is off passes nothing)",
         lambda x, W, b: np.eye(x.shape[0]) + W),
        ("the ReLU mask is applied to the columns of W; relu'(z_i) belongs to output i, a row",
         lambda x, W, b: np.eye(x.shape[0]) + W * _mask(x, W, b)[None, :]),
    ],
    hints=(
        ("y = x + f(x): the Jacobian of a sum is the sum of the Jacobians, and that of x with "
         "respect to itself is the identity."),
        ("x is (d,), W (d, d), b (d,): ∂y/∂x is (d, d), row i holding the derivatives of y_i. "
         "Each ReLU unit i is either on or off."),
        ("∂y/∂x = I + diag(𝟙[z > 0]) W with z = W x + b: row i of W is kept where z_i > 0 and "
         "zeroed elsewhere."),
    ),
)


# --- Exercise 3: the pre-norm block's forward pass ---------------------------------------

# (batch N, width d) and the scale of X; the last case has rows of tiny variance, where
# the eps inside the square root matters.
_PRENORM_CASES = [(4, 3, 1.0), (1, 5, 1.0), (6, 2, 2.0), (3, 7, 1.0), (5, 4, 0.5), (2, 6, 0.003)]


def _prenorm_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d, scale in _PRENORM_CASES:
        X = rng.normal(loc=rng.normal(size=d), scale=scale, size=(batch, d))
        gamma = rng.uniform(0.5, 1.5, size=d)
        beta = rng.normal(scale=0.3, size=d)
        W = rng.normal(size=(d, d)) / np.sqrt(d)
        b = rng.normal(scale=0.3, size=d)
        cases.append(Case((X, gamma, beta, W, b), ("X", "gamma", "beta", "W", "b")))
    return cases


def _prenorm_reference(X: np.ndarray, gamma: np.ndarray, beta: np.ndarray, W: np.ndarray,
                       b: np.ndarray) -> np.ndarray:
    norm = LayerNorm(X.shape[1], eps=LN_EPS)
    norm.weight.value[...] = gamma
    norm.bias.value[...] = beta
    return Residual(Sequential(norm, _linear(W, b), ReLU()))(X)


def _layer_norm(X: np.ndarray, gamma: np.ndarray, beta: np.ndarray, *, axis: int = 1,
                ddof: int = 0, eps: float = LN_EPS) -> np.ndarray:
    mean = X.mean(axis=axis, keepdims=True)
    var = X.var(axis=axis, ddof=ddof, keepdims=True) if X.shape[axis] > ddof else np.zeros_like(mean)
    return gamma * (X - mean) / np.sqrt(var + eps) + beta


def _branch(N: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(N @ W.T + b, 0.0)


prenorm_block = Exercise(
    name="prenorm_block",
    chapter=9,
    section=SECTION_PRENORM,
    make_cases=_prenorm_cases,
    references=[("nnlab.Residual(Sequential(LayerNorm, Linear, ReLU))", _prenorm_reference)],
    note_format="Note: {}.",
    diagnoses=[
        (("this is the post-norm block LayerNorm(X + relu(X W^T + b)); pre-norm normalises the "
          "input of the branch and leaves the skip path untouched"),
         lambda X, g, be, W, b: _layer_norm(X + _branch(X, W, b), g, be)),
        (("the statistics were taken over the batch (axis 0), as batch norm does; layer norm "
          "normalises each example (row) over its features (axis 1)"),
         lambda X, g, be, W, b: X + _branch(_layer_norm(X, g, be, axis=0), W, b)),
        ("the variance is the unbiased one (ddof=1); layer norm divides by d (np.var's default)",
         lambda X, g, be, W, b: X + _branch(_layer_norm(X, g, be, ddof=1), W, b)),
        (("eps is missing: layer norm divides by sqrt(var + eps) with eps = 1e-5, which matters "
          "when a row's variance is small"),
         lambda X, g, be, W, b: X + _branch(_layer_norm(X, g, be, eps=0.0), W, b)),
        ("the skip connection is missing: add X",
         lambda X, g, be, W, b: _branch(_layer_norm(X, g, be), W, b)),
        ("the skip path carries the normalised X; it must carry X itself",
         lambda X, g, be, W, b: _layer_norm(X, g, be) + _branch(_layer_norm(X, g, be), W, b)),
        ("gamma and beta are not used: layer norm ends with gamma * x_hat + beta",
         lambda X, g, be, W, b: X + _branch(_layer_norm(X, np.ones_like(g), np.zeros_like(be)), W, b)),
    ],
    hints=(
        ("Three steps: layer-normalise each row of X (with γ and β), send the result through "
         "the branch ReLU(· Wᵀ + b), and add the ORIGINAL, un-normalised X."),
        ("X is (N, d), γ, β and b are (d,), W (d, d): every step keeps the shape (N, d). The "
         "statistics are per row, an (N, 1) column."),
        ("x̂_n = (x_n − μ_n)/√(s_n² + 10⁻⁵) with the row's mean μ_n and biased variance s_n²; "
         "y_n = x_n + ReLU(W (γ ⊙ x̂_n + β) + b)."),
    ),
)



# --- Exercise 4: the backward pass of a projection shortcut (derived, not shown) ---------------
# Y = X P^T + relu(X W1^T + b1) W2^T + b2 changes the width from d_in to d_out: the skip is
# no longer the identity, and the student works out what flows back through it.

_PROJECTION_SHAPES = [(4, 3, 5, 2), (1, 4, 6, 3), (6, 2, 3, 5), (3, 5, 4, 7), (5, 6, 2, 4)]


def _projection_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d_in, h, d_out in _PROJECTION_SHAPES:
        while True:
            X = rng.normal(size=(batch, d_in))
            W1 = rng.normal(size=(h, d_in))
            b1 = rng.normal(size=h) - 0.3
            if _away_from_kink(X @ W1.T + b1):
                break
        P, W2 = rng.normal(size=(d_out, d_in)), rng.normal(size=(d_out, h))
        b2, G = rng.normal(size=d_out), rng.normal(size=(batch, d_out))
        cases.append(Case((X, P, W1, b1, W2, b2, G), ("X", "P", "W1", "b1", "W2", "b2", "G")))
    return cases


def _projection_reference(X, P, W1, b1, W2, b2, G):
    # nnlab: the branch as a Sequential, the shortcut as a Linear without bias.
    shortcut, first, second = _linear(P, np.zeros(P.shape[0])), _linear(W1, b1), _linear(W2, b2)
    branch = Sequential(first, ReLU(), second)
    shortcut(X)
    branch(X)
    dX = shortcut.backward(G) + branch.backward(G)
    return dX, shortcut.weight.grad


def _projection_numerical(X, P, W1, b1, W2, b2, G):
    def f(_: np.ndarray) -> float:
        Y = X @ P.T + np.maximum(X @ W1.T + b1, 0.0) @ W2.T + b2
        return float(np.sum(G * Y))

    return numerical_gradient(f, X), numerical_gradient(f, P)


def _branch_dX(X, W1, b1, W2, G, mask=True):
    dZ = G @ W2
    if mask:
        dZ = dZ * (X @ W1.T + b1 > 0)
    return dZ @ W1


projection_backward = Exercise(
    name="projection_backward",
    chapter=9,
    section=SECTION_PROJECTION,
    make_cases=_projection_cases,
    references=[("nnlab: Linear(bias=False) shortcut plus Sequential(Linear, ReLU, Linear)",
                 _projection_reference),
                ("central differences of sum(G * Y)", _projection_numerical)],
    output_names=("dX", "dP"),
    note_format="Note: {}.",
    hints=(
        ("The block is a sum of two paths, the projection X Pᵀ and the branch; the gradient "
         "reaching X is the sum of what flows back through each. The projection is a linear "
         "layer without bias (chapter 4), the branch the two-layer network of exercise 1."),
        ("X is (N, d_in), P is (d_out, d_in), G is (N, d_out): the skip no longer has G's shape "
         "on the input side. dX must be (N, d_in) and dP (d_out, d_in): only one product of G "
         "and X (transposed or not) has dP's shape."),
        ("With Z = X W₁ᵀ + 𝟏 b₁ᵀ and Δ = (G W₂) ⊙ 𝟙[Z > 0]: ∂ℒ/∂X = G P + Δ W₁ and "
         "∂ℒ/∂P = Gᵀ X."),
    ),
    advice=((r"could not be broadcast together",
             "The skip path is X P^T, not X: G (N, d_out) and the branch's gradient (N, d_in) "
             "cannot be added; what flows back through the projection is G P."),),
    diagnoses=(
        ("dP is transposed: dP has P's shape (d_out, d_in), G^T X",
         lambda X, P, W1, b1, W2, b2, G: (G @ P + _branch_dX(X, W1, b1, W2, G), X.T @ G)),
        ("dX misses the branch: the gradient through relu(X W1^T + b1) W2^T adds to G P",
         lambda X, P, W1, b1, W2, b2, G: (G @ P, G.T @ X)),
        ("dX misses the shortcut: the projection X P^T adds G P to the branch's gradient",
         lambda X, P, W1, b1, W2, b2, G: (_branch_dX(X, W1, b1, W2, G), G.T @ X)),
        ("the ReLU's mask is missing in the branch: the gradient passes only where "
         "X W1^T + b1 > 0",
         lambda X, P, W1, b1, W2, b2, G: (G @ P + _branch_dX(X, W1, b1, W2, G, mask=False), G.T @ X)),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (residual_backward, residual_jacobian, prenorm_block, projection_backward)
}
