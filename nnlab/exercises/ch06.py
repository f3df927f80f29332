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
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab.activations import Sigmoid, Tanh, sigmoid
from nnlab.diagnostics import gradient_norms
from nnlab.exercises._core import Case, Exercise, Outcome, _copy_args, compare, describe_shape
from nnlab.explore.ch06 import EXPLODE_RATIO, HUGE_NORM, TINY_NORM, VANISH_RATIO, diagnose
from nnlab.gradcheck import numerical_gradient
from nnlab.layers import Linear, Sequential
from nnlab.losses import CrossEntropyLoss

__all__ = ["EXERCISES", "diagnose_gradients", "layer_gradient_norms", "sigmoid_jacobian"]

# Headings of book/06_vanishing_gradients/lesson.ipynb (tests/test_exercises_ch06.py keeps them in sync).
SECTION_JACOBIAN = "6.2 Sigmoid's slope is at most 1/4"
SECTION_MEASURE = "6.5 Measuring the gradient, layer by layer"


@dataclass(frozen=True)
class _ListCase(Case):
    """A Case whose lists of arrays are described by their shapes, not their values."""

    def describe(self) -> str:
        parts = []
        for name, arg in zip(self.names, self.args):
            if isinstance(arg, list) and arg and all(isinstance(a, np.ndarray) for a in arg):
                parts.append(f"{name} [{', '.join(str(a.shape) for a in arg)}]")
            elif isinstance(arg, np.ndarray) and arg.ndim == 1 and name == "norms":
                shown = arg if arg.size <= 8 else [*arg[:3], *arg[-2:]]
                values = [f"{v:.3g}" for v in shown]
                if arg.size > 8:
                    values[3:3] = [f"... ({arg.size} norms)"]
                parts.append(f"{name} [{', '.join(values)}]")
            else:
                parts.append(f"{name} {describe_shape(arg)}")
        return ", ".join(parts)


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
        cases.append(_ListCase((X, y, weights, biases), ("X", "y", "weights", "biases")))
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


class _NormsExercise(Exercise):
    def explain(self, case: Case, got: Any) -> str | None:
        expected = self.expected(case)
        got = _as_float_vector(got)
        if got is None or got.shape != expected.shape:
            return None
        X, y, weights, biases = _copy_args(case.args)
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


layer_gradient_norms = _NormsExercise(
    name="layer_gradient_norms",
    chapter=6,
    section=SECTION_MEASURE,
    make_cases=_norm_cases,
    references=[("nnlab.diagnostics.gradient_norms", _norm_reference),
                ("central differences of the loss, then the Frobenius norm", _norm_numerical)],
    note_format="Note: {}.",
    hints=(
        "Forward: keep every layer's input H_{l-1} (H_0 = X) and the tanh outputs; the last layer "
        "has no tanh. The loss is nnlab.CrossEntropyLoss: the mean over the batch of "
        "-log softmax(logits)[y]. Backward: start from dL/dlogits and go from the last layer "
        "to the first.",
        "dL/dlogits = (softmax(logits) - onehot(y)) / N. For each layer, going back: "
        "dW_l = G^T H_{l-1}; then G <- (G W_l) * (1 - H_{l-1}**2) for the layer below "
        "(tanh' = 1 - tanh^2). Record np.linalg.norm(dW_l), the Frobenius norm.",
        "You meet the layers from the output to the input: reverse the list before "
        "returning it, as np.array(norms[::-1]), so that entry 0 is the first layer.",
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
        cases.append(_ListCase((x, weights, biases), ("x", "weights", "biases")))
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


class _JacobianExercise(Exercise):
    def explain(self, case: Case, got: Any) -> str | None:
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return None
        _, weights, _ = case.args
        J, bound = self.expected(case)
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


sigmoid_jacobian = _JacobianExercise(
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
        "Go forward one layer at a time, z_l = W_l h_{l-1} + b_l, h_l = sigma(z_l), and keep the "
        "layer Jacobian J_l = diag(sigma'(z_l)) W_l, shape (d_l, d_{l-1}).",
        "The chain rule multiplies the layer Jacobians, the LAST layer on the left: "
        "J = J_L ... J_2 J_1, so update J <- J_l @ J starting from the identity of size d_0. "
        "sigma'(z) = s (1 - s) with s = sigma(z); diag(v) @ W is v[:, None] * W.",
        "bound = prod over layers of np.linalg.norm(W_l, 2) / 4: ord=2 is the spectral norm "
        "(largest singular value); without it numpy returns the Frobenius norm.",
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
        cases.append(_ListCase((norms,), ("norms",)))
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


class _DiagnoseExercise(Exercise):
    """Compares the ratio as a number and the verdict as a word."""

    def verdict(self, cases: Sequence[Case], outcomes: Sequence[Outcome]) -> str | None:
        for case, outcome in zip(cases, outcomes):
            if outcome.raised:
                return super().verdict([case], [outcome])
            got = outcome.value
            (norms,) = case.args
            for label, reference in self.references:
                ratio, word = reference(norms.copy())
                where = (f"\n  on input {case.describe()} (first {norms[0]:.3g}, last "
                         f"{norms[-1]:.3g}, largest {norms.max():.3g}; compared with {label})")
                if not isinstance(got, (tuple, list)) or len(got) != 2:
                    return (f"{self.name}: the result should be a tuple (ratio, verdict); received "
                            f"{type(got).__name__}{where}.\n  {self.reread()}")
                problem = compare(np.float64(ratio), got[0], "ratio (item 0 of the result)")
                if problem:
                    note = ""
                    try:
                        if np.isclose(float(got[0]), 1.0 / ratio, rtol=1e-6):
                            note = ("\n  Note: your ratio is the inverse of the right one: it is the "
                                    "FIRST layer's norm over the LAST layer's, norms[0] / norms[-1]")
                        elif np.isclose(float(got[0]), norms.min() / norms.max(), rtol=1e-6):
                            note = ("\n  Note: your ratio is smallest / largest norm; the rule "
                                    "compares the first and the last layer, norms[0] / norms[-1]")
                    except (TypeError, ValueError):
                        pass
                    return f"{self.name}: {problem}{where}.{note}\n  {self.reread()}"
                if not isinstance(got[1], str) or got[1] != word:
                    hint = ""
                    if isinstance(got[1], str) and got[1] in _VERDICTS and got[1] != word:
                        if ratio < VANISH_RATIO and norms.max() > HUGE_NORM:
                            hint = ("\n  Note: both rules apply here; the vanishing test comes "
                                    "first")
                        elif norms.max() < TINY_NORM or norms.max() > HUGE_NORM:
                            hint = ("\n  Note: the ratio alone misses this case: check the size of "
                                    f"the norms too (largest < {TINY_NORM:g} or > {HUGE_NORM:g})")
                    return (f"{self.name}: verdict (item 1 of the result): expected {word!r}, "
                            f"received {got[1]!r:.60}{where}.{hint}\n  {self.reread()}")
        return None


diagnose_gradients = _DiagnoseExercise(
    name="diagnose_gradients",
    chapter=6,
    section=SECTION_MEASURE,
    make_cases=_diag_cases,
    references=[("nnlab.explore.ch06.diagnose", _diag_reference),
                ("the rules of the exercise", _diag_rules)],
    output_names=("ratio", "verdict"),
    hints=(
        "ratio = norms[0] / norms[-1]: the first (input) layer over the last (output) layer. "
        "Far below 1 the gradient vanished on its way down, far above 1 it exploded.",
        f"The ratio cannot see a network in which EVERY norm is tiny (or huge): check the "
        f"largest norm too, against {TINY_NORM:g} and {HUGE_NORM:g}.",
        f"if ratio < {VANISH_RATIO:g} or max < {TINY_NORM:g}: 'vanishing'; elif ratio > "
        f"{EXPLODE_RATIO:g} or max > {HUGE_NORM:g}: 'exploding'; else 'healthy'. Return "
        "(float(ratio), verdict).",
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (layer_gradient_norms, sigmoid_jacobian, diagnose_gradients)
}
