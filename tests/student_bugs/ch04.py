"""Typical mistakes in chapter 4's graded exercises, each with the symptom its check must name.

The first case of each check has distinct widths (linear: N=4, d_in=3, d_out=2; mlp:
N=4, d_in=3, d_hidden=5, d_out=2; sigmoid_delta: N=4, d_l=3, d_next=2), which is what
the shapes and factors in the symptoms refer to.
"""

from student_bugs import Bug

_MLP_FORWARD = (
    "def mlp_backward(X, Y, W1, b1, W2, b2):\n"
    "    Z1 = X @ W1.T + b1\n"
    "    H = np.maximum(Z1, 0)\n"
    "    Yhat = H @ W2.T + b2\n"
)


def _mlp(body: str) -> str:
    return _MLP_FORWARD + body


_MLP_RIGHT_TAIL = (
    "    dW2 = dYhat.T @ H\n"
    "    db2 = dYhat.sum(axis=0)\n"
    "    dZ1 = (dYhat @ W2) * (Z1 > 0)\n"
    "    return dZ1.T @ X, dZ1.sum(axis=0), dW2, db2\n"
)

BUGS: dict[str, list[Bug]] = {
    "linear_backward": [
        Bug("missing transpose in dW",
            "def linear_backward(X, W, G):\n    return G @ W, X.T @ G, G.sum(axis=0)",
            r"dW \(item 1 of the result\) has the wrong shape: expected \(2, 3\), received \(3, 2\)"),
        Bug("db without summing over the batch",
            "def linear_backward(X, W, G):\n    return G @ W, G.T @ X, G",
            r"db \(item 2 of the result\) has the wrong shape: expected \(2,\), received \(4, 2\)"),
        Bug("db summed over the wrong axis",
            "def linear_backward(X, W, G):\n    return G @ W, G.T @ X, G.sum(axis=1)",
            r"db \(item 2 of the result\) has the wrong shape: expected \(2,\), received \(4,\)"),
        Bug("db averaged instead of summed",
            "def linear_backward(X, W, G):\n    return G @ W, G.T @ X, G.mean(axis=0)",
            r"db \(item 2 of the result\) has the right shape \(2,\) but wrong values(.|\n)*"
            r"every entry of db is 0\.25 times the right one"),
        Bug("dX with W.T instead of W",
            "def linear_backward(X, W, G):\n    return G @ W.T, G.T @ X, G.sum(axis=0)",
            r"raised ValueError: matmul.*\n  on input X \(4, 3\), W \(2, 3\), G \(4, 2\)"),
    ],
    "mlp_backward": [
        Bug("no ReLU mask",
            _mlp("    dYhat = 2 * (Yhat - Y) / Yhat.size\n"
                 "    dW2 = dYhat.T @ H\n"
                 "    db2 = dYhat.sum(axis=0)\n"
                 "    dZ1 = dYhat @ W2\n"
                 "    return dZ1.T @ X, dZ1.sum(axis=0), dW2, db2\n"),
            r"dW1 \(item 0 of the result\) has the right shape \(5, 3\) but wrong values"),
        Bug("dropped 1/N: the sum, not the mean",
            _mlp("    dYhat = 2 * (Yhat - Y)\n" + _MLP_RIGHT_TAIL),
            r"dW1 \(item 0 of the result\) has the right shape(.|\n)*"
            r"every entry of dW1 is 8 times the right one"),
        Bug("mean over the batch only, not over every output",
            _mlp("    dYhat = 2 * (Yhat - Y) / len(Y)\n" + _MLP_RIGHT_TAIL),
            r"wrong values(.|\n)*every entry of dW1 is 2 times the right one"),
        Bug("dropped the 2 of the square",
            _mlp("    dYhat = (Yhat - Y) / Yhat.size\n" + _MLP_RIGHT_TAIL),
            r"wrong values(.|\n)*every entry of dW1 is 0\.5 times the right one"),
        Bug("wrong order of the product in dW2",
            _mlp("    dYhat = 2 * (Yhat - Y) / Yhat.size\n"
                 "    dW2 = H.T @ dYhat\n"
                 "    db2 = dYhat.sum(axis=0)\n"
                 "    dZ1 = (dYhat @ W2) * (Z1 > 0)\n"
                 "    return dZ1.T @ X, dZ1.sum(axis=0), dW2, db2\n"),
            r"dW2 \(item 2 of the result\) has the wrong shape: expected \(2, 5\), received \(5, 2\)"),
        Bug("ReLU mask on the output layer too",
            _mlp("    dYhat = 2 * (Yhat - Y) / Yhat.size * (Yhat > 0)\n" + _MLP_RIGHT_TAIL),
            r"has the right shape \(\d, \d\) but wrong values"),
    ],
    "sigmoid_delta": [
        Bug("derivative applied to Z instead of sigmoid(Z)",
            "def sigmoid_delta(Z, W_next, delta_next):\n"
            "    return Z * (1 - Z) * (delta_next @ W_next)",
            r"the result has the right shape \(4, 3\) but wrong values"),
        Bug("forgot the derivative of the sigmoid",
            "def sigmoid_delta(Z, W_next, delta_next):\n    return delta_next @ W_next",
            r"the result has the right shape \(4, 3\) but wrong values"),
        Bug("sigmoid instead of its derivative",
            "def sigmoid_delta(Z, W_next, delta_next):\n"
            "    s = 1 / (1 + np.exp(-Z))\n    return s * (delta_next @ W_next)",
            r"the result has the right shape \(4, 3\) but wrong values"),
        Bug("W_next transposed",
            "def sigmoid_delta(Z, W_next, delta_next):\n"
            "    s = 1 / (1 + np.exp(-Z))\n    return s * (1 - s) * (delta_next @ W_next.T)",
            r"raised ValueError: matmul.*\n  on input Z \(4, 3\), W_next \(2, 3\), delta_next \(4, 2\)"),
        Bug("matrix product instead of the elementwise one",
            "def sigmoid_delta(Z, W_next, delta_next):\n"
            "    s = 1 / (1 + np.exp(-Z))\n    return (s * (1 - s)).T @ (delta_next @ W_next)",
            r"the result has the wrong shape: expected \(4, 3\), received \(3, 3\)"),
    ],
    "softplus_layer_backward": [
        Bug('softplus for its derivative',
            "def softplus_layer_backward(X, W, b, G):\n"
            "    Z = X @ W.T + b\n"
            "    D = G * np.log1p(np.exp(Z))\n"
            "    return D @ W, D.T @ X, D.sum(axis=0)",
            r"Note: the local derivative is softplus\(Z\) itself"),
        Bug('derivative at the output',
            "def softplus_layer_backward(X, W, b, G):\n"
            "    Z = X @ W.T + b\n"
            "    H = np.log1p(np.exp(Z))\n"
            "    D = G / (1 + np.exp(-H))\n"
            "    return D @ W, D.T @ X, D.sum(axis=0)",
            r"Note: the derivative is evaluated at the output H"),
        Bug('activation skipped',
            "def softplus_layer_backward(X, W, b, G):\n"
            "    D = G\n"
            "    return D @ W, D.T @ X, D.sum(axis=0)",
            r"Note: the activation is skipped"),
        Bug("sigmoid's derivative",
            "def softplus_layer_backward(X, W, b, G):\n"
            "    Z = X @ W.T + b\n"
            "    s = 1 / (1 + np.exp(-Z))\n"
            "    D = G * s * (1 - s)\n"
            "    return D @ W, D.T @ X, D.sum(axis=0)",
            r"Note: the sigmoid's derivative sigma \(1 - sigma\) is used"),
        Bug('db not summed',
            "def softplus_layer_backward(X, W, b, G):\n"
            "    Z = X @ W.T + b\n"
            "    D = G / (1 + np.exp(-Z))\n"
            "    return D @ W, D.T @ X, D",
            r"db \(item 2 of the result\) has the wrong shape(.|\n)*Note: db is not summed over the batch"),
    ],
}
