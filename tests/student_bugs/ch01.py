"""Typical mistakes in chapter 1's graded exercises, each with the symptom its check must name."""

from student_bugs import Bug

BUGS: dict[str, list[Bug]] = {
    "linear_forward": [
        Bug("missing transpose", "def linear_forward(X, W, b):\n    return X @ W + b",
            r"raised ValueError: matmul.*\n  on input X \(4, 3\), W \(2, 3\)"),
        Bug("W on the left", "def linear_forward(X, W, b):\n    return W @ X.T + b",
            r"raised ValueError.*\n  on input X \(4, 3\)"),
        Bug("forgot the bias", "def linear_forward(X, W, b):\n    return X @ W.T",
            r"right shape \(4, 2\) but wrong values.*expected .*received"),
        Bug("bias summed over outputs", "def linear_forward(X, W, b):\n    return X @ W.T + b.sum()",
            r"right shape \(4, 2\) but wrong values"),
        Bug("one example only", "def linear_forward(X, W, b):\n    return X[0] @ W.T + b",
            r"wrong shape: expected \(4, 2\), received \(2,\)"),
    ],
    "mlp_forward": [
        Bug("ReLU on the output layer",
            "def mlp_forward(X, W1, b1, W2, b2):\n"
            "    H = np.maximum(0, X @ W1.T + b1)\n    return np.maximum(0, H @ W2.T + b2)",
            r"right shape \(4, 2\) but wrong values.*expected -"),
        Bug("no ReLU at all",
            "def mlp_forward(X, W1, b1, W2, b2):\n    return (X @ W1.T + b1) @ W2.T + b2",
            r"right shape \(4, 2\) but wrong values"),
        Bug("ReLU before the bias",
            "def mlp_forward(X, W1, b1, W2, b2):\n"
            "    H = np.maximum(0, X @ W1.T) + b1\n    return H @ W2.T + b2",
            r"right shape \(4, 2\) but wrong values"),
        Bug("missing transpose in the output layer",
            "def mlp_forward(X, W1, b1, W2, b2):\n"
            "    H = np.maximum(0, X @ W1.T + b1)\n    return H @ W2 + b2",
            r"raised ValueError: matmul.*\n  on input X \(4, 3\), W1 \(5, 3\)"),
    ],
    "count_parameters": [
        Bug("forgot the biases",
            "def count_parameters(sizes):\n"
            "    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))",
            r"expected 4, received 3"),
        Bug("a bias for the input layer too",
            "def count_parameters(sizes):\n"
            "    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + sum(sizes)",
            r"expected 4, received 7"),
        Bug("one layer per width (off by one)",
            "def count_parameters(sizes):\n"
            "    return sum(d * d + d for d in sizes)",
            r"expected 4, received 14"),
        Bug("returns a float",
            "def count_parameters(sizes):\n"
            "    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) / 1.0000001",
            r"should be an int; received float"),
    ],
    "collapse_linear": [
        Bug("product in the wrong order",
            "def collapse_linear(W1, b1, W2, b2):\n    return W1 @ W2, W2 @ b1 + b2",
            r"raised ValueError: matmul.*\n  on input W1 \(5, 3\)"),
        Bug("biases just added",
            "def collapse_linear(W1, b1, W2, b2):\n    return W2 @ W1, b1 + b2",
            r"raised ValueError: operands could not be broadcast"),
        Bug("forgot the first bias",
            "def collapse_linear(W1, b1, W2, b2):\n    return W2 @ W1, b2",
            r"b \(item 1 of the result\) has the right shape \(2,\) but wrong values"),
        Bug("returns (b, W)",
            "def collapse_linear(W1, b1, W2, b2):\n    return W2 @ b1 + b2, W2 @ W1",
            r"W \(item 0 of the result\) has the wrong shape: expected \(2, 3\), received \(2,\)"),
    ],
    "linear_regions": [
        Bug('one region per unit',
            "def linear_regions(w1, b1, w2):\n"
            "    return len(w1) + 1",
            r"expected 5, received 7(.|\n)*units with w1 = 0(.|\n)*Likely cause: the number of hidden units \+ 1"),
        Bug('forgot the +1',
            "def linear_regions(w1, b1, w2):\n"
            "    live = (w1 != 0) & (w2 != 0)\n"
            "    return len(np.unique(-b1[live] / w1[live]))",
            r"Likely cause: the number of breakpoints: n bends cut the line into n \+ 1"),
        Bug('shared breakpoints counted twice',
            "def linear_regions(w1, b1, w2):\n"
            "    return 1 + int(np.sum((w1 != 0) & (w2 != 0)))",
            r"shared breakpoints(.|\n)*Likely cause: units that share a breakpoint are counted once each"),
        Bug('cancelling bends counted',
            "def linear_regions(w1, b1, w2):\n"
            "    live = (w1 != 0) & (w2 != 0)\n"
            "    return 1 + len(np.unique(-b1[live] / w1[live]))",
            r"two bends that cancel(.|\n)*Likely cause: bends that cancel are counted"),
        Bug('units the output ignores counted',
            "def linear_regions(w1, b1, w2):\n"
            "    live = w1 != 0\n"
            "    return 1 + len(np.unique(-b1[live] / w1[live]))",
            r"units with w2 = 0(.|\n)*Likely cause: a unit with w2 = 0 is counted"),
        Bug('flat units counted (division by zero)',
            "def linear_regions(w1, b1, w2):\n"
            "    t = -b1 / w1\n"
            "    return 1 + len(np.unique(t[w2 != 0]))",
            r"Likely cause: a unit with w1 = 0 is counted"),
    ],
}
