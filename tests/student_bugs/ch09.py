"""Typical mistakes in chapter 9's graded exercises, each with the symptom its check must name.

The first case of each check: residual_backward N=4, d=3, h=5; residual_jacobian d=3;
prenorm_block N=4, d=3.
"""

from student_bugs import Bug

_FORWARD = (
    "def residual_backward(X, W1, b1, W2, b2, G):\n"
    "    Z = X @ W1.T + b1\n"
    "    H = np.maximum(Z, 0)\n"
)


def _backward(body: str) -> str:
    return _FORWARD + body


_PRENORM = (
    "def prenorm_block(X, gamma, beta, W, b):\n"
    "    def layer_norm(A, axis=1, ddof=0, eps=1e-5):\n"
    "        mu = A.mean(axis=axis, keepdims=True)\n"
    "        var = A.var(axis=axis, ddof=ddof, keepdims=True)\n"
    "        return gamma * (A - mu) / np.sqrt(var + eps) + beta\n"
)


def _prenorm(body: str) -> str:
    return _PRENORM + body


BUGS: dict[str, list[Bug]] = {
    "residual_backward": [
        Bug("dropped the skip path",
            _backward("    dZ = (G @ W2) * (Z > 0)\n"
                      "    return dZ @ W1, dZ.T @ X, dZ.sum(axis=0), G.T @ H, G.sum(axis=0)\n"),
            r"dX \(item 0 of the result\) has the right shape \(4, 3\) but wrong values(.|\n)*"
            r"Note: dX is exactly G short: the gradient of the skip path is missing"),
        Bug("skip gradient added twice",
            _backward("    dZ = (G @ W2) * (Z > 0)\n"
                      "    return 2 * G + dZ @ W1, dZ.T @ X, dZ.sum(axis=0), G.T @ H, G.sum(axis=0)\n"),
            r"Note: dX is exactly G too large: the skip path's gradient G is counted twice"),
        Bug("only the skip path",
            _backward("    dZ = (G @ W2) * (Z > 0)\n"
                      "    return G, dZ.T @ X, dZ.sum(axis=0), G.T @ H, G.sum(axis=0)\n"),
            r"Note: dX is G alone: that is only the skip path"),
        Bug("no ReLU mask in the branch",
            _backward("    dZ = G @ W2\n"
                      "    return G + dZ @ W1, dZ.T @ X, dZ.sum(axis=0), G.T @ H, G.sum(axis=0)\n"),
            r"Note: this is what you get without the ReLU mask"),
        Bug("dW2 from the pre-activation instead of H",
            _backward("    dZ = (G @ W2) * (Z > 0)\n"
                      "    return G + dZ @ W1, dZ.T @ X, dZ.sum(axis=0), G.T @ Z, G.sum(axis=0)\n"),
            r"dW2 \(item 3 of the result\) has the right shape \(3, 5\) but wrong values"),
        Bug("missing transpose in dW1",
            _backward("    dZ = (G @ W2) * (Z > 0)\n"
                      "    return G + dZ @ W1, X.T @ dZ, dZ.sum(axis=0), G.T @ H, G.sum(axis=0)\n"),
            r"dW1 \(item 1 of the result\) has the wrong shape: expected \(5, 3\), received \(3, 5\)"),
    ],
    "residual_jacobian": [
        Bug("forgot the identity of the skip path",
            "def residual_jacobian(x, W, b):\n"
            "    z = W @ x + b\n"
            "    return (z > 0)[:, None] * W\n",
            r"Note: this is df/dx alone: the identity I of the skip path is missing"),
        Bug("transposed Jacobian",
            "def residual_jacobian(x, W, b):\n"
            "    z = W @ x + b\n"
            "    return np.eye(len(x)) + ((z > 0)[:, None] * W).T\n",
            r"Note: this is the transpose of the Jacobian"),
        Bug("no ReLU derivative",
            "def residual_jacobian(x, W, b):\n"
            "    return np.eye(len(x)) + W\n",
            r"Note: this is I \+ W: the ReLU's derivative is missing"),
        Bug("mask on the columns",
            "def residual_jacobian(x, W, b):\n"
            "    z = W @ x + b\n"
            "    return np.eye(len(x)) + W * (z > 0)\n",
            r"Note: the ReLU mask is applied to the columns of W"),
        Bug("identity as ones instead of eye",
            "def residual_jacobian(x, W, b):\n"
            "    z = W @ x + b\n"
            "    return 1 + (z > 0)[:, None] * W\n",
            r"the result has the right shape \(3, 3\) but wrong values"),
    ],
    "prenorm_block": [
        Bug("post-norm instead of pre-norm",
            _prenorm("    return layer_norm(X + np.maximum(X @ W.T + b, 0))\n"),
            r"Note: this is the post-norm block"),
        Bug("statistics over the batch",
            _prenorm("    N = layer_norm(X, axis=0)\n"
                     "    return X + np.maximum(N @ W.T + b, 0)\n"),
            r"Note: the statistics were taken over the batch \(axis 0\)"),
        Bug("unbiased variance",
            _prenorm("    N = layer_norm(X, ddof=1)\n"
                     "    return X + np.maximum(N @ W.T + b, 0)\n"),
            r"Note: the variance is the unbiased one \(ddof=1\)"),
        Bug("no eps",
            _prenorm("    N = layer_norm(X, eps=0.0)\n"
                     "    return X + np.maximum(N @ W.T + b, 0)\n"),
            r"Note: eps is missing: layer norm divides by sqrt\(var \+ eps\)"),
        Bug("no skip connection",
            _prenorm("    return np.maximum(layer_norm(X) @ W.T + b, 0)\n"),
            r"Note: the skip connection is missing: add X"),
        Bug("skip from the normalised input",
            _prenorm("    N = layer_norm(X)\n"
                     "    return N + np.maximum(N @ W.T + b, 0)\n"),
            r"Note: the skip path carries the normalised X"),
    ],
    "projection_backward": [
        Bug('identity skip',
            "def projection_backward(X, P, W1, b1, W2, b2, G):\n"
            "    Z = X @ W1.T + b1\n"
            "    dZ = (G @ W2) * (Z > 0)\n"
            "    return G + dZ @ W1, G.T @ X",
            r"raised ValueError: operands could not be broadcast.*The skip path is X P\^T, not X"),
        Bug('dP transposed',
            "def projection_backward(X, P, W1, b1, W2, b2, G):\n"
            "    Z = X @ W1.T + b1\n"
            "    dZ = (G @ W2) * (Z > 0)\n"
            "    return G @ P + dZ @ W1, X.T @ G",
            r"dP \(item 1 of the result\) has the wrong shape(.|\n)*Note: dP is transposed"),
        Bug('no branch in dX',
            "def projection_backward(X, P, W1, b1, W2, b2, G):\n"
            "    Z = X @ W1.T + b1\n"
            "    dZ = (G @ W2) * (Z > 0)\n"
            "    return G @ P, G.T @ X",
            r"dX \(item 0 of the result\)(.|\n)*Note: dX misses the branch"),
        Bug('no shortcut in dX',
            "def projection_backward(X, P, W1, b1, W2, b2, G):\n"
            "    Z = X @ W1.T + b1\n"
            "    dZ = (G @ W2) * (Z > 0)\n"
            "    return dZ @ W1, G.T @ X",
            r"Note: dX misses the shortcut"),
        Bug('no ReLU mask',
            "def projection_backward(X, P, W1, b1, W2, b2, G):\n"
            "    dZ = G @ W2\n"
            "    return G @ P + dZ @ W1, G.T @ X",
            r"Note: the ReLU's mask is missing in the branch"),
    ],
}
