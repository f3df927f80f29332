"""Chapter 1 (feedforward networks): the graded exercises.

Each exercise is checked against nnlab itself: ``linear_forward`` against
:class:`nnlab.Linear`, ``mlp_forward`` against ``Sequential(Linear, ReLU, Linear)``,
``count_parameters`` against the parameters of :func:`nnlab.mlp`, and
``collapse_linear`` against two stacked ``Linear`` layers applied to data.

>>> from nnlab.exercises import ch01
>>> ch01.linear_forward.check(my_linear_forward)     # doctest: +SKIP
✓ linear_forward: passed (6 random cases)
"""

from __future__ import annotations

import numpy as np

from nnlab.activations import ReLU
from nnlab.exercises._core import Case, Exercise
from nnlab.layers import Linear, Sequential, mlp

__all__ = ["linear_forward", "mlp_forward", "count_parameters", "collapse_linear", "EXERCISES"]

# Headings of book/01_feedforward/lesson.ipynb (tests/test_exercises.py keeps them in sync).
SECTION_LINEAR = "1.3 The forward pass for a batch: rows are examples"
SECTION_MLP = "1.4 A 2-2-1 network, by hand and by nnlab"
SECTION_COUNT = "1.2 Layers"
SECTION_COLLAPSE = "1.5 Why depth needs non-linearity"


def _linear(weight: np.ndarray, bias: np.ndarray) -> Linear:
    """An nnlab.Linear holding exactly ``weight`` (out, in) and ``bias`` (out,)."""
    layer = Linear(weight.shape[1], weight.shape[0], init="zeros")
    layer.weight.value[...] = weight
    layer.bias.value[...] = bias
    return layer


# Shapes are chosen so that no width equals another: a missing transpose or a bias on
# the wrong axis then fails loudly instead of passing by accident on a square matrix.
# A batch of one and an output width of one catch code that squeezes or sums wrongly.
_LINEAR_SHAPES = [(4, 3, 2), (1, 5, 3), (7, 2, 6), (3, 6, 1), (10, 8, 4), (2, 1, 5)]


def _linear_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d_in, d_out in _LINEAR_SHAPES:
        X = rng.normal(size=(batch, d_in))
        W = rng.normal(size=(d_out, d_in))
        b = rng.normal(size=d_out)
        cases.append(Case((X, W, b), ("X", "W", "b")))
    return cases


def _linear_reference(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _linear(W, b)(X)


linear_forward = Exercise(
    name="linear_forward",
    chapter=1,
    section=SECTION_LINEAR,
    make_cases=_linear_cases,
    references=[("nnlab.Linear", _linear_reference)],
    hints=(
        "One example x is a column: z = W x + b. A batch X stacks examples as ROWS, "
        "shape (batch, d_in). Transpose the formula so that each row of X is one x.",
        "W has shape (d_out, d_in). Which product of X (batch, d_in) and W gives "
        "(batch, d_out)? Write down the shapes before you write code.",
        "Z = X @ W.T + b: numpy broadcasting adds b (d_out,) to every row.",
    ),
)


_MLP_SHAPES = [(4, 3, 5, 2), (1, 6, 4, 3), (8, 2, 7, 1), (5, 4, 3, 6)]


def _mlp_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batch, d_in, d_hidden, d_out in _MLP_SHAPES:
        X = rng.normal(size=(batch, d_in))
        W1 = rng.normal(size=(d_hidden, d_in))
        # Biases of both signs, and some large negative, so that a ReLU in the wrong
        # place (before the bias, or on the output) changes the result.
        b1 = rng.normal(size=d_hidden) - 0.5
        W2 = rng.normal(size=(d_out, d_hidden))
        b2 = rng.normal(size=d_out) - 1.0
        cases.append(Case((X, W1, b1, W2, b2), ("X", "W1", "b1", "W2", "b2")))
    return cases


def _mlp_reference(X: np.ndarray, W1: np.ndarray, b1: np.ndarray,
                   W2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    return Sequential(_linear(W1, b1), ReLU(), _linear(W2, b2))(X)


mlp_forward = Exercise(
    name="mlp_forward",
    chapter=1,
    section=SECTION_MLP,
    make_cases=_mlp_cases,
    references=[("nnlab.Sequential(Linear, ReLU, Linear)", _mlp_reference)],
    hints=(
        "A two-layer network is two affine maps with a nonlinearity between them: "
        "H = relu(X W1^T + b1), then the output layer.",
        "relu(z) = max(0, z) elementwise: np.maximum(0, Z). The output layer has no ReLU: "
        "its outputs (logits or regression targets) may be negative.",
        "H = np.maximum(0, X @ W1.T + b1); return H @ W2.T + b2.",
    ),
)


def _count_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case(([3, 1],), ("sizes",)), Case(([2, 5, 1],), ("sizes",))]
    for depth in (3, 4, 5, 6):
        sizes = [int(s) for s in rng.integers(1, 300, size=depth)]
        cases.append(Case((sizes,), ("sizes",)))
    return cases


def _count_reference(sizes: list[int]) -> int:
    net = mlp(sizes, init="zeros")
    return sum(p.value.size for p in net.parameters())


count_parameters = Exercise(
    name="count_parameters",
    chapter=1,
    section=SECTION_COUNT,
    make_cases=_count_cases,
    references=[("the parameters of nnlab.mlp(sizes)", _count_reference)],
    hints=(
        "sizes = [d_0, d_1, ..., d_L] lists the widths from input to output, so the "
        "network has L = len(sizes) - 1 Linear layers.",
        "Layer l maps d_(l-1) to d_l: its weight has d_l * d_(l-1) entries and its "
        "bias d_l. The input layer has no bias of its own.",
        "sum(d_out * d_in + d_out for d_in, d_out in zip(sizes[:-1], sizes[1:]))",
    ),
)


_COLLAPSE_SHAPES = [(3, 5, 2), (4, 2, 6), (1, 3, 4), (6, 4, 1)]


def _collapse_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for d_in, d_hidden, d_out in _COLLAPSE_SHAPES:
        W1 = rng.normal(size=(d_hidden, d_in))
        b1 = rng.normal(size=d_hidden)
        W2 = rng.normal(size=(d_out, d_hidden))
        b2 = rng.normal(size=d_out)
        cases.append(Case((W1, b1, W2, b2), ("W1", "b1", "W2", "b2")))
    return cases


def _collapse_reference(W1: np.ndarray, b1: np.ndarray,
                        W2: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Two stacked Linear layers, probed with the identity and with zero input: the
    # composed map's matrix and offset, read off nnlab rather than from the formula.
    net = Sequential(_linear(W1, b1), _linear(W2, b2))
    d_in = W1.shape[1]
    b = net(np.zeros((1, d_in)))[0]
    W = (net(np.eye(d_in)) - b).T
    return W, b


collapse_linear = Exercise(
    name="collapse_linear",
    chapter=1,
    section=SECTION_COLLAPSE,
    make_cases=_collapse_cases,
    references=[("two stacked nnlab.Linear layers", _collapse_reference)],
    output_names=("W", "b"),
    hints=(
        "Write the composition for one example: W2 (W1 x + b1) + b2, and multiply out.",
        "The result is W x + b with W = (a product of W1 and W2) and b = (W2 applied to "
        "something) + b2. Check the shapes: W must be (d_out, d_in).",
        "W = W2 @ W1 and b = W2 @ b1 + b2; return (W, b).",
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (linear_forward, mlp_forward, count_parameters, collapse_linear)
}
