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

__all__ = ["linear_forward", "mlp_forward", "count_parameters", "collapse_linear", "linear_regions",
           "EXERCISES"]

# Headings of book/01_feedforward/lesson.ipynb (tests/test_exercises.py keeps them in sync).
SECTION_LINEAR = "The forward pass for a batch: rows are examples"
SECTION_MLP = "A 2-2-1 network, by hand and by nnlab"
SECTION_COUNT = "Layers"
SECTION_COLLAPSE = "Why depth needs non-linearity"
SECTION_REGIONS = "Universal approximation"


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
        ("One example is a column vector: z = W x + b. A batch stacks the examples as the ROWS"
         " of X, so write the same map for a row xᵀ and stack the rows."),
        ("Shapes: X is (N, d_in), W is (d_out, d_in), b is (d_out,); the answer Z is (N, "
         "d_out). Only one product of X and W (transposed or not) has that shape; b is added "
         "to every row."),
        'Z = X Wᵀ + 𝟏 bᵀ, that is Z_nk = Σ_i X_ni W_ki + b_k.',
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
        ("Two affine maps with a ReLU between them and none after the last: the outputs may be"
         " negative."),
        ("X (N, d_in) → hidden H (N, d_hidden) through W1 (d_hidden, d_in) → output (N, d_out)"
         " through W2 (d_out, d_hidden). The ReLU acts entry by entry and keeps the shape."),
        'H = max(0, X W₁ᵀ + 𝟏 b₁ᵀ) entrywise, then Ŷ = H W₂ᵀ + 𝟏 b₂ᵀ.',
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
        ("sizes = [d₀, d₁, …, d_L] lists the widths from input to output: the network has L = "
         "len(sizes) − 1 Linear layers; count the weights and the biases of each."),
        ("Layer l maps d_{l−1} inputs to d_l outputs: its weight matrix is (d_l, d_{l−1}) and "
         "its bias (d_l,). The input itself has no parameters."),
        'P = Σ_{l=1}^{L} (d_l d_{l−1} + d_l) = Σ_l d_l (d_{l−1} + 1).',
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
        ("Write the composition for one example, W₂(W₁x + b₁) + b₂, and multiply out: it is "
         "again of the form W x + b."),
        ("W1 is (d_hidden, d_in) and W2 (d_out, d_hidden): the collapsed W must be (d_out, "
         "d_in) and b (d_out,). Only one order of the product has that shape."),
        'W₂(W₁x + b₁) + b₂ = (W₂W₁) x + (W₂b₁ + b₂).',
    ),
)


# --- Exercise 5: how many linear pieces? (not in the lesson's code) -----------------------
# f(x) = sum_j w2_j relu(w1_j x + b1_j) on the real line is piecewise linear. Unit j can
# only bend f at t_j = -b1_j / w1_j, by a change of slope w2_j |w1_j|; units sharing a
# breakpoint add their changes, which may cancel. The student reasons this out.

def _regions_cases(rng: np.random.Generator) -> list[Case]:
    """Small integers and halves, so that equal breakpoints are exactly equal."""
    def units(h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w1 = rng.choice([-2.0, -1.0, 1.0, 2.0, 4.0], size=h)
        t = rng.choice(np.arange(-6, 7) / 2.0, size=h, replace=False)
        w2 = rng.choice([-3.0, -1.0, 0.5, 1.0, 2.0], size=h)
        return w1, -w1 * t, w2

    cases = []
    w1, b1, w2 = units(5)  # distinct breakpoints, every unit bends f
    cases.append(Case((w1, b1, w2), ("w1", "b1", "w2"), by_value=("w1", "b1", "w2"), note="distinct breakpoints"))
    w1, b1, w2 = units(6)
    w1[[1, 4]] = 0.0  # dead-flat units: no breakpoint at all
    cases.append(Case((w1, b1, w2), ("w1", "b1", "w2"), by_value=("w1", "b1", "w2"), note="units with w1 = 0"))
    w1, b1, w2 = units(6)
    w2[[0, 3]] = 0.0  # units the output ignores
    cases.append(Case((w1, b1, w2), ("w1", "b1", "w2"), by_value=("w1", "b1", "w2"), note="units with w2 = 0"))
    w1, b1, w2 = units(4)
    w1 = np.concatenate([w1, 2 * w1[:2]])  # two units share each of two breakpoints
    b1 = np.concatenate([b1, 2 * b1[:2]])
    w2 = np.concatenate([w2, np.abs(w2[:2]) * np.sign(w2[:2])])
    cases.append(Case((w1, b1, w2), ("w1", "b1", "w2"), by_value=("w1", "b1", "w2"), note="shared breakpoints"))
    w1, b1, w2 = units(5)
    # Unit 5 undoes unit 0's bend at the same breakpoint: slope change w2 |w1| cancels.
    w1 = np.append(w1, -w1[0])
    b1 = np.append(b1, -b1[0])
    w2 = np.append(w2, -w2[0])
    cases.append(Case((w1, b1, w2), ("w1", "b1", "w2"), by_value=("w1", "b1", "w2"), note="two bends that cancel"))
    w1, b1, w2 = units(7)
    w1[2], w2[5] = 0.0, 0.0
    w1 = np.append(w1, 2 * w1[0])
    b1 = np.append(b1, 2 * b1[0])
    w2 = np.append(w2, 1.0 if w2[0] > 0 else -1.0)
    cases.append(Case((w1, b1, w2), ("w1", "b1", "w2"), by_value=("w1", "b1", "w2"), note="all of the above"))
    return cases


def _breakpoints(w1: np.ndarray, b1: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -b1 / w1


def _regions_from_kinks(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray) -> int:
    """1 + the number of distinct breakpoints at which the slope changes do not cancel."""
    t, change = _breakpoints(w1, b1), w2 * np.abs(w1)
    kinks: dict[float, float] = {}
    for i in np.flatnonzero(w1 != 0):
        kinks[float(t[i])] = kinks.get(float(t[i]), 0.0) + float(change[i])
    return 1 + sum(1 for v in kinks.values() if abs(v) > 1e-12)


def _distinct(values: np.ndarray) -> int:
    return len(np.unique(values))  # NaNs count once, as np.unique does


def _regions_reference(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray) -> int:
    return _regions_from_kinks(w1, b1, w2)


def _regions_by_slopes(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray) -> int:
    # Independently: the slope of f on each interval between candidate breakpoints (at its
    # midpoint, and beyond the ends); a region ends where the slope changes.
    live = w1 != 0
    points = np.unique(-b1[live] / w1[live])
    probes = np.concatenate([[points[0] - 1.0], (points[:-1] + points[1:]) / 2, [points[-1] + 1.0]]) \
        if points.size else np.array([0.0])
    slopes = [float(np.sum(w2 * w1 * (w1 * x + b1 > 0))) for x in probes]
    return 1 + sum(1 for a, b in zip(slopes[:-1], slopes[1:]) if abs(a - b) > 1e-9)


linear_regions = Exercise(
    name="linear_regions",
    chapter=1,
    section=SECTION_REGIONS,
    make_cases=_regions_cases,
    note_format="Likely cause: {}.",
    references=[("the breakpoint rule", _regions_reference),
                ("the slope of f on every interval between breakpoints", _regions_by_slopes)],
    hints=(
        ("f is a sum of bent lines: each ReLU unit is flat on one side of one point and "
         "straight on the other. Where can f bend, and does it always bend there?"),
        ("w1, b1 and w2 hold one number per hidden unit (shape (H,)); the answer is one "
         "integer. Work unit by unit: does it have a breakpoint, where, and by how much does "
         "it change the slope of f there? Then group units by breakpoint."),
        ("Unit j bends f only at t_j = −b1_j / w1_j (if w1_j ≠ 0), changing its slope by "
         "w2_j |w1_j|. The number of regions is 1 + the number of distinct t at which the "
         "changes of slope of the units sharing t do not add up to 0."),
    ),
    diagnoses=(
        ("the number of breakpoints: n bends cut the line into n + 1 regions",
         lambda w1, b1, w2: _regions_from_kinks(w1, b1, w2) - 1),
        ("units that share a breakpoint are counted once each; they bend f at the same point",
         lambda w1, b1, w2: 1 + int(np.sum((w1 != 0) & (w2 != 0)))),
        ("bends that cancel are counted: where the slope changes w2 |w1| of the units sharing "
         "a breakpoint add up to 0, f does not bend",
         lambda w1, b1, w2: 1 + _distinct(_breakpoints(w1, b1)[(w1 != 0) & (w2 != 0)])),
        ("a unit with w2 = 0 is counted; the output ignores it, so it bends nothing",
         lambda w1, b1, w2: 1 + _distinct(_breakpoints(w1, b1)[w1 != 0])),
        ("a unit with w1 = 0 is counted; it is constant in x (its breakpoint -b1/0 is not a "
         "number)", lambda w1, b1, w2: 1 + _distinct(_breakpoints(w1, b1)[w2 != 0])),
        ("the number of hidden units + 1: a unit with w1 = 0 or w2 = 0 never bends f, and "
         "units sharing a breakpoint bend it once",
         lambda w1, b1, w2: len(w1) + 1),
    ),)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (linear_forward, mlp_forward, count_parameters, collapse_linear,
                           linear_regions)
}
