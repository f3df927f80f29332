"""Chapter 6 (vanishing and exploding gradients): the graded exercises.

- ``layer_gradient_norms(X, y, weights, biases) -> norms``: ||dL/dW_l||_F of every
  layer of a tanh MLP with cross-entropy, input to output; against
  :func:`nnlab.diagnostics.gradient_norms` and against central differences.
- ``sigmoid_jacobian(x, weights, biases) -> (J, bound)``: the input-output Jacobian
  J_L ... J_1 of a stack of sigmoid layers and the bound prod_l ||W_l||_2 / 4 on its
  spectral norm; against nnlab's backward pass (one row per output unit) and central
  differences.
- ``diagnose_gradients(norms) -> (ratio, verdict)``: the first/last ratio and the
  chapter's verdict ("vanishing", "exploding" or "healthy"); against
  :func:`nnlab.explore.ch06.diagnose`.

When an answer is wrong in one of the typical ways (norms in reverse order, norms of
the weights instead of their gradients, a factor N, an L1 norm; a Frobenius norm in
the bound; an inverted ratio), the message says which.

>>> from nnlab.exercises import ch06
>>> ch06.layer_gradient_norms.check(my_layer_gradient_norms)     # doctest: +SKIP
✓ layer_gradient_norms: passed (5 random cases)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnlab.activations import Sigmoid, Tanh, sigmoid
from nnlab.diagnostics import gradient_norms
from nnlab.exercises._core import Case, Exercise, _copy_args, compare
from nnlab.explore.ch06 import EXPLODE_RATIO, HUGE_NORM, TINY_NORM, VANISH_RATIO, diagnose
from nnlab.gradcheck import numerical_gradient
from nnlab.layers import Linear, Sequential
from nnlab.losses import CrossEntropyLoss

__all__ = ["EXERCISES", "clip_by_global_norm", "diagnose_gradients", "layer_gradient_norms",
           "sigmoid_jacobian"]

# Headings of book/06_vanishing_gradients/lesson.ipynb (tests/test_exercises_ch06.py keeps them in sync).
SECTION_JACOBIAN = "Sigmoid's slope is at most 1/4"
SECTION_MEASURE = "Measuring the gradient, layer by layer"
SECTION_CLIP = "Gradient clipping: a cap on the step"


def _linear(weight: np.ndarray, bias: np.ndarray) -> Linear:
    layer = Linear(weight.shape[1], weight.shape[0], init="zeros")
    layer.weight.value[...] = weight
    layer.bias.value[...] = bias
    return layer


def _network(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], activation: type) -> Sequential:
    """Linear, activation, ..., Linear (no activation after the last layer)."""
    layers: list[Any] = []
    for W, b in zip(weights, biases):
        layers += [_linear(W, b), activation()]
    return Sequential(*layers[:-1])


def _as_float_vector(x: Any) -> np.ndarray | None:
    try:
        v = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return v if v.ndim == 1 and np.all(np.isfinite(v)) else None


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-12))


# --- Exercise 1: per-layer gradient norms ---------------------------------------------

# (batch, widths d_0 .. d_L): every width differs from its neighbours and from the batch.
_NORM_SHAPES = [
    (6, [4, 5, 3]),
    (1, [3, 7, 6, 2]),
    (9, [5, 8, 6, 7, 4]),
    (4, [2, 6, 5, 7, 3, 3]),
    (12, [7, 5, 9, 4, 6, 8, 5, 3]),
]


def _norm_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, widths in _NORM_SHAPES:
        X = rng.normal(size=(batch, widths[0]))
        y = rng.integers(0, widths[-1], size=batch)
        # Var W = 1.5 / d_in: neither vanishing nor saturated, so every layer matters.
        weights = [rng.normal(scale=np.sqrt(1.5 / d_in), size=(d_out, d_in))
                   for d_in, d_out in zip(widths[:-1], widths[1:])]
        biases = [rng.normal(scale=0.5, size=d_out) for d_out in widths[1:]]
        cases.append(Case((X, y, weights, biases), ("X", "y", "weights", "biases")))
    return cases


def _norm_grads(X: np.ndarray, y: np.ndarray, weights: list[np.ndarray],
                biases: list[np.ndarray]) -> list[np.ndarray]:
    net = _network(weights, biases, Tanh)
    loss = CrossEntropyLoss()
    loss(net(X), y)
    net.backward(loss.backward(), input_grad=False)
    return [m.weight.grad for m in net if isinstance(m, Linear)]


def _norm_reference(X: np.ndarray, y: np.ndarray, weights: list[np.ndarray],
                    biases: list[np.ndarray]) -> np.ndarray:
    net = _network(weights, biases, Tanh)
    return np.array([v for _, v in gradient_norms(net, CrossEntropyLoss(), X, y)])


def _norm_numerical(X: np.ndarray, y: np.ndarray, weights: list[np.ndarray],
                    biases: list[np.ndarray]) -> np.ndarray:
    net = _network(weights, biases, Tanh)
    loss = CrossEntropyLoss()
    linears = [m for m in net if isinstance(m, Linear)]
    return np.array([np.linalg.norm(numerical_gradient(lambda _: loss(net(X), y), m.weight.value))
                     for m in linears])


def _norms_diagnosis(args: tuple[Any, ...], got: Any) -> str | None:
    """The typical mistake a wrong list of norms shows, if any."""
    expected = _norm_reference(*_copy_args(args))
    got = _as_float_vector(got)
    if got is None or got.shape != expected.shape:
        return None
    X, y, weights, biases = _copy_args(args)
    grads = _norm_grads(X, y, weights, biases)
    if _close(got, expected[::-1]):
        return ("your norms are the right ones in reverse order: backpropagation meets the "
                "layers from output to input, but the answer lists them from input to output")
    if _close(got, np.array([np.linalg.norm(W) for W in weights])):
        return "these are the norms of the weights W_l themselves, not of their gradients dL/dW_l"
    if _close(got, np.array([np.abs(g).sum() for g in grads])):
        return ("these are sums of absolute values (an L1 norm); the Frobenius norm is "
                "sqrt(sum of squares), np.linalg.norm(dW)")
    if _close(got, np.array([np.linalg.norm(g, 2) for g in grads])):
        return "these are spectral norms (ord=2); the Frobenius norm is np.linalg.norm(dW)"
    big = expected > 0
    factors = got[big] / expected[big]
    if np.allclose(factors, factors[0], rtol=1e-6) and abs(factors[0] - 1) > 1e-6:
        return (f"every norm is {factors[0]:.4g} times the right one (the batch has "
                f"{len(X)} examples): the loss is the MEAN over the batch, so dL/dlogits "
                "carries a 1/N; summing per-example gradients without it multiplies by N")
    return None


layer_gradient_norms = Exercise(
    diagnose=_norms_diagnosis,
    name="layer_gradient_norms",
    chapter=6,
    section=SECTION_MEASURE,
    make_cases=_norm_cases,
    references=[("nnlab.diagnostics.gradient_norms", _norm_reference),
                ("central differences of the loss, then the Frobenius norm", _norm_numerical)],
    note_format="Note: {}.",
    hints=(
        ("Forward through the tanh layers (the last layer has none), keeping every layer's "
         "input; the loss is nnlab.CrossEntropyLoss, a mean over the batch. Then go backward "
         "from ∂ℒ/∂logits to the first layer, recording the norm of each weight's gradient."),
        ("H₀ = X is (N, d₀); layer l's input H_{l−1} is (N, d_{l−1}), its weight (d_l, "
         "d_{l−1}), the gradient G_l at its output (N, d_l). You meet the layers last-first, "
         "but the answer lists them first-to-last: a vector of L norms."),
        ("G_L = ∂ℒ/∂logits = (softmax(logits) − onehot(y))/N; ∂ℒ/∂W_l = G_lᵀ H_{l−1}; G_{l−1} "
         "= (G_l W_l) ⊙ (1 − H_{l−1} ⊙ H_{l−1}); ‖A‖_F = √(Σ_ij A_ij²)."),
    ),
)


# --- Exercise 2: the Jacobian of a sigmoid stack and its bound --------------------------

_JAC_SHAPES = [[3, 5, 2], [4, 6, 5, 3], [2, 7, 4, 6, 5], [5, 3], [6, 4, 7, 3, 5, 2]]


def _jac_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for widths in _JAC_SHAPES:
        x = rng.normal(size=widths[0])
        weights = [rng.normal(scale=1.5 / np.sqrt(d_in), size=(d_out, d_in))
                   for d_in, d_out in zip(widths[:-1], widths[1:])]
        biases = [rng.normal(size=d_out) for d_out in widths[1:]]
        cases.append(Case((x, weights, biases), ("x", "weights", "biases")))
    return cases


def _jac_bound(weights: list[np.ndarray]) -> float:
    return float(np.prod([np.linalg.norm(W, 2) / 4.0 for W in weights]))


def _jac_reference(x: np.ndarray, weights: list[np.ndarray],
                   biases: list[np.ndarray]) -> tuple[np.ndarray, float]:
    net = Sequential(*[m for W, b in zip(weights, biases) for m in (_linear(W, b), Sigmoid())])
    d_out = weights[-1].shape[0]
    rows = []
    for k in range(d_out):  # row k of J is the gradient of output unit k: backward from e_k
        net(x[None, :])
        rows.append(net.backward(np.eye(d_out)[k][None, :])[0])
    return np.array(rows), _jac_bound(weights)


def _jac_numerical(x: np.ndarray, weights: list[np.ndarray],
                   biases: list[np.ndarray]) -> tuple[np.ndarray, float]:
    def forward(v: np.ndarray) -> np.ndarray:
        for W, b in zip(weights, biases):
            v = sigmoid(W @ v + b)
        return v

    d_out = weights[-1].shape[0]
    J = np.array([numerical_gradient(lambda v, k=k: float(forward(v)[k]), x.copy())
                  for k in range(d_out)])
    # The spectral norm as the square root of the largest eigenvalue of W^T W.
    bound = float(np.prod([np.sqrt(np.linalg.eigvalsh(W.T @ W).max()) / 4.0 for W in weights]))
    return J, bound


def _jacobian_diagnosis(args: tuple[Any, ...], got: Any) -> str | None:
    """The typical mistake a wrong (J, bound) shows, if any."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return None
    _, weights, _ = args
    J, bound = _jac_reference(*_copy_args(args))
    try:
        got_bound = float(got[1])
    except (TypeError, ValueError):
        return None
    L = len(weights)
    frobenius = float(np.prod([np.linalg.norm(W) / 4.0 for W in weights]))
    if np.isclose(got_bound, frobenius, rtol=1e-6):
        return ("your bound uses the Frobenius norm (np.linalg.norm(W) with no ord); the "
                "bound needs the spectral norm, the largest singular value, np.linalg.norm(W, 2)")
    if np.isclose(got_bound, bound * 4.0**L, rtol=1e-6):
        return f"your bound is 4^{L} times the right one: each layer contributes max sigma' = 1/4"
    got_J = got[0]
    if isinstance(got_J, np.ndarray) and got_J.shape == J.shape[::-1] and got_J.shape != J.shape:
        return ("your J is transposed: row k of J holds the derivatives of output unit k, "
                "so J has shape (d_L, d_0)")
    return None


sigmoid_jacobian = Exercise(
    diagnose=_jacobian_diagnosis,
    name="sigmoid_jacobian",
    chapter=6,
    section=SECTION_JACOBIAN,
    make_cases=_jac_cases,
    references=[("nnlab Sequential(Linear, Sigmoid, ...).backward, one output unit at a time",
                 _jac_reference),
                ("central differences, and the spectral norm from eigvalsh(W^T W)", _jac_numerical)],
    output_names=("J", "bound"),
    note_format="Note: {}.",
    hints=(
        ("Go forward one layer at a time and multiply the layer Jacobians (the chain rule); "
         "bound each factor by the largest slope of σ and the size of W_l."),
        ("J_l = ∂h_l/∂h_{l−1} is (d_l, d_{l−1}); the product J = J_L ⋯ J₁ is (d_L, d₀), the "
         "last layer on the left. Start from the identity of size d₀. The bound is one number."),
        ("J_l = diag(σ′(z_l)) W_l with σ′ = σ(1 − σ) ≤ ¼, so ‖J‖₂ ≤ Π_l ‖W_l‖₂ / 4, where ‖W‖₂"
         " is the spectral norm (the largest singular value), not the Frobenius norm."),
    ),
)


# --- Exercise 3: reading the norms ---------------------------------------------------------

_VERDICTS = ("vanishing", "exploding", "healthy")


def _diag_cases(rng: np.random.Generator) -> list[Case]:
    """Geometric profiles of each kind, with margins of at least 10x from every threshold."""

    def profile(n: int, log_first: float, log_last: float) -> np.ndarray:
        logs = np.linspace(log_first, log_last, n) + rng.normal(scale=0.1, size=n)
        logs[0], logs[-1] = log_first, log_last
        return 10.0 ** logs

    specs = [
        (12, -14.0, -1.0),   # sigmoid-like: vanishing towards the input
        (9, -0.1, 0.1),      # healthy at both ends with a dip to ~1e-2 in the middle (below)
        (20, 5.5, 0.0),      # exploding towards the input
        (8, -0.4, 0.1),      # healthy
        (20, -23.0, -23.2),  # tanh with N(0, 0.01^2): ratio ~1, but every norm tiny
        (15, 11.0, 11.5),    # ReLU with N(0, 1): ratio ~0.3, but every norm huge
        (5, 0.3, -0.5),      # healthy, growing slightly towards the input
        (10, -0.5, 4.6),     # ratio < 1e-3 and last norm > 1e4: vanishing comes first
        (3, -10.5, -10.8),   # short and tiny
    ]
    cases = []
    for k, (n, first, last) in enumerate(specs):
        shift = rng.uniform(-0.3, 0.3)
        norms = profile(n, first + shift, last + shift)
        if k == 1:
            # Not monotone, so that smallest/largest differs from first/last.
            norms[n // 2] = 10.0 ** rng.uniform(-2.2, -1.8)
        cases.append(Case((norms,), ("norms",), by_value=("norms",)))
    return cases


def _diag_reference(norms: np.ndarray) -> tuple[float, str]:
    return diagnose(norms)


def _diag_rules(norms: np.ndarray) -> tuple[float, str]:
    # The rules written out once more, independently of nnlab.explore.ch06.diagnose.
    ratio = float(norms[0] / norms[-1])
    if ratio < 1e-3 or norms.max() < 1e-8:
        return ratio, "vanishing"
    if ratio > 1e3 or norms.max() > 1e4:
        return ratio, "exploding"
    return ratio, "healthy"


def _diag_judge(case: Case, got: Any) -> str | None:
    """Compares the ratio as a number and the verdict as a word, with both references."""
    (norms,) = case.args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"the result should be a tuple (ratio, verdict); received {type(got).__name__}"
    where = (f"(first norm {norms[0]:.3g}, last {norms[-1]:.3g}, largest {norms.max():.3g}; "
             "compared with {})")
    for label, reference in (("nnlab.explore.ch06.diagnose", _diag_reference),
                             ("the rules of the exercise", _diag_rules)):
        ratio, word = reference(norms.copy())
        problem = compare(np.float64(ratio), got[0], "ratio (item 0 of the result)")
        if problem:
            return f"{problem} {where.format(label)}"
        if not isinstance(got[1], str) or got[1] != word:
            return (f"verdict (item 1 of the result): expected {word!r}, received {got[1]!r:.60} "
                    f"{where.format(label)}")
    return None


def _diag_diagnosis(args: tuple[Any, ...], got: Any) -> str | None:
    """What a wrong ratio or verdict shows, if anything."""
    (norms,) = args
    ratio, word = _diag_reference(norms.copy())
    try:
        if not np.isclose(float(got[0]), ratio, rtol=1e-6):
            if np.isclose(float(got[0]), 1.0 / ratio, rtol=1e-6):
                return ("your ratio is the inverse of the right one: it is the FIRST layer's norm "
                        "over the LAST layer's, norms[0] / norms[-1]")
            if np.isclose(float(got[0]), norms.min() / norms.max(), rtol=1e-6):
                return ("your ratio is smallest / largest norm; the rule compares the first and "
                        "the last layer, norms[0] / norms[-1]")
            return None
    except (TypeError, ValueError, IndexError):
        return None
    if isinstance(got[1], str) and got[1] in _VERDICTS and got[1] != word:
        if ratio < VANISH_RATIO and norms.max() > HUGE_NORM:
            return "both rules apply here; the vanishing test comes first"
        if norms.max() < TINY_NORM or norms.max() > HUGE_NORM:
            return (f"the ratio alone misses this case: check the size of the norms too "
                    f"(largest < {TINY_NORM:g} or > {HUGE_NORM:g})")
    return None


diagnose_gradients = Exercise(
    judge=_diag_judge,
    diagnose=_diag_diagnosis,
    note_format="Note: {}.",
    name="diagnose_gradients",
    chapter=6,
    section=SECTION_MEASURE,
    make_cases=_diag_cases,
    references=[("nnlab.explore.ch06.diagnose", _diag_reference),
                ("the rules of the exercise", _diag_rules)],
    output_names=("ratio", "verdict"),
    hints=(
        ("Compare the gradient that reaches the first layer with the one at the last layer: "
         "far below 1 it vanished on its way down, far above 1 it exploded."),
        ("norms is a vector of L numbers, entry 0 the first (input) layer. Return a pair "
         "(ratio, verdict): a float and one of the words 'vanishing', 'exploding', 'healthy'. "
         "The ratio alone cannot see a network whose every norm is tiny, or huge."),
        (f"r = n₁ / n_L (first norm over last). Vanishing if r < {VANISH_RATIO:g} or max_l n_l < "
         f"{TINY_NORM:g}; else exploding if r > {EXPLODE_RATIO:g} or max_l n_l > {HUGE_NORM:g}; "
         "else healthy."),
    ),
)


# --- Exercise 4: clipping by the global norm ---------------------------------------------------
# PyTorch's clip_grad_norm_ rule, written from its formula: one norm over ALL gradients,
# one common factor, applied only when the norm exceeds the cap.

CLIP_EPS = 1e-6
_CLIP_SHAPES = [[(3, 4), (3,)], [(5, 2), (5,), (2, 5), (2,)], [(6,)], [(2, 3), (4, 2), (7,)],
                [(4, 4), (4,)]]


def _clip_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i, shapes in enumerate(_CLIP_SHAPES):
        grads = [rng.normal(scale=rng.uniform(0.2, 3.0), size=shape) for shape in shapes]
        total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
        # Alternate: a cap below the norm (clipping acts) and above it (nothing changes).
        max_norm = total * (rng.uniform(0.1, 0.6) if i % 2 == 0 else rng.uniform(1.5, 3.0))
        cases.append(Case((grads, float(max_norm)), ("grads", "max_norm")))
    return cases


def _clip_with(grads: list[np.ndarray], max_norm: float, *, total: float | None = None,
               always: bool = False, per_array: bool = False,
               report_after: bool = False) -> tuple[tuple[np.ndarray, ...], float]:
    """The rule, or one of its typical mistakes (used to name them)."""
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads))) if total is None else total
    if per_array:
        clipped = tuple(g * min(1.0, max_norm / (float(np.sqrt(np.sum(g * g))) + CLIP_EPS))
                        for g in grads)
    else:
        scale = max_norm / (norm + CLIP_EPS)
        clipped = tuple(g * (scale if always else min(1.0, scale)) for g in grads)
    if report_after:
        norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in clipped)))
    return clipped, norm


def _clip_reference(grads: list[np.ndarray], max_norm: float) -> tuple[tuple[np.ndarray, ...], float]:
    return _clip_with(grads, max_norm)


def _clip_flat(grads: list[np.ndarray], max_norm: float) -> tuple[tuple[np.ndarray, ...], float]:
    # Independently: concatenate everything into one vector, clip it, cut it back.
    flat = np.concatenate([g.ravel() for g in grads])
    norm = float(np.linalg.norm(flat))
    flat = flat * min(1.0, max_norm / (norm + CLIP_EPS))
    out, at = [], 0
    for g in grads:
        out.append(flat[at:at + g.size].reshape(g.shape))
        at += g.size
    return tuple(out), norm


clip_by_global_norm = Exercise(
    name="clip_by_global_norm",
    chapter=6,
    section=SECTION_CLIP,
    make_cases=_clip_cases,
    references=[("the clipping rule of torch.nn.utils.clip_grad_norm_", _clip_reference),
                ("one concatenated vector, clipped and cut back", _clip_flat)],
    output_names=("the clipped gradients", "total_norm"),
    note_format="Note: {}.",
    hints=(
        ("Treat all the gradients together as ONE long vector: measure its length, and if it "
         "is longer than the cap, shrink every gradient by the same factor, so that the "
         "direction of the step is kept."),
        ("grads is a list of arrays of different shapes; return a list of arrays of the same "
         "shapes in the same order, and one number, the norm measured BEFORE clipping."),
        ("‖g‖ = √(Σ_i Σ_entries g_i²) over every array i; each g_i ← g_i · min(1, c / (‖g‖ + "
         "10⁻⁶)), with c = max_norm."),
    ),
    diagnoses=(
        ("each array is clipped by its own norm; the cap applies to the global norm of all "
         "of them together, with one common factor",
         lambda grads, c: _clip_with(grads, c, per_array=True)),
        ("the gradients are scaled even though their norm is below the cap: the factor is "
         "min(1, c / (norm + 1e-6)), so small gradients are left alone",
         lambda grads, c: _clip_with(grads, c, always=True)),
        ("the norm is the sum of the arrays' norms; the global norm is the square root of "
         "the sum of ALL squared entries",
         lambda grads, c: _clip_with(grads, c, total=float(sum(np.sqrt(np.sum(g * g)) for g in grads)))),
        ("the norm reported is the one after clipping; return the norm measured before",
         lambda grads, c: _clip_with(grads, c, report_after=True)),
        ("the norm is the sum of squares, without the square root",
         lambda grads, c: _clip_with(grads, c, total=float(sum(np.sum(g * g) for g in grads)))),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (layer_gradient_norms, sigmoid_jacobian, diagnose_gradients, clip_by_global_norm)
}
