"""Typical mistakes in chapter 3's graded exercises, each with the symptom its check must name."""

from student_bugs import Bug

BUGS: dict[str, list[Bug]] = {
    "log_softmax": [
        Bug("naive: no max shift",
            "def log_softmax(Z):\n"
            "    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))",
            r"contains NaN or inf\n  on input Z \(3, 4\) \(logits near \+1000\).*\n"
            r"  Likely cause: exp overflowed.*subtract each row's maximum"),
        Bug("log of a (stable) softmax",
            "def log_softmax(Z):\n"
            "    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    return np.log(E / E.sum(axis=1, keepdims=True))",
            r"contains NaN or inf\n  on input Z \(5, 3\) \(rows centred.*\n"
            r"  Likely cause: the log of a probability that rounded to 0 is -inf: do not take np.log"),
        Bug("shifted by the max but did not add it back",
            "def log_softmax(Z):\n"
            "    m = Z.max(axis=1, keepdims=True)\n"
            "    return Z - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))",
            r"wrong values.*\n.*\n  Likely cause: each row is off by exactly its maximum m"),
        Bug("one maximum for the whole array",
            "def log_softmax(Z):\n"
            "    m = Z.max()\n"
            "    return Z - m - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))",
            r"contains NaN or inf\n  on input Z \(5, 3\) \(rows centred.*\n"
            r"  Likely cause: a whole row's exp\(z - m\) underflowed to 0.*its OWN maximum"),
        Bug("normalised over the batch (axis 0)",
            "def log_softmax(Z):\n"
            "    m = Z.max(axis=0, keepdims=True)\n"
            "    return Z - m - np.log(np.exp(Z - m).sum(axis=0, keepdims=True))",
            r"wrong values.*\n.*\n  Likely cause: exp of each row of your result should sum "
            r"to 1: normalise over the classes \(axis=1\)"),
    ],
    "cross_entropy_grad": [
        Bug("missing 1/N: p - y without averaging",
            "def cross_entropy_grad(Z, y):\n"
            "    P = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    P /= P.sum(axis=1, keepdims=True)\n"
            "    P[np.arange(len(y)), y] -= 1\n"
            "    return P",
            r"wrong values.*\n  on input Z \(4, 3\), y \(4,\).*\n"
            r"  Likely cause: every entry is N = 4 times too large: the loss is the MEAN"),
        Bug("divided by N * C (np.mean habit)",
            "def cross_entropy_grad(Z, y):\n"
            "    P = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    P /= P.sum(axis=1, keepdims=True)\n"
            "    P[np.arange(len(y)), y] -= 1\n"
            "    return P / Z.size",
            r"Likely cause: every entry is C = 3 times too small: divide by the batch size N"),
        Bug("forgot to subtract the one-hot",
            "def cross_entropy_grad(Z, y):\n"
            "    P = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    return P / P.sum(axis=1, keepdims=True) / len(y)",
            r"Likely cause: each row of your gradient sums to 1 \(or 1/N\).*forget to subtract the one-hot"),
        Bug("softmax over the wrong axis",
            "def cross_entropy_grad(Z, y):\n"
            "    P = np.exp(Z - Z.max(axis=0, keepdims=True))\n"
            "    P /= P.sum(axis=0, keepdims=True)\n"
            "    P[np.arange(len(y)), y] -= 1\n"
            "    return P / len(y)",
            r"Likely cause: each row should sum to 0, and does not: is the softmax taken over the classes"),
        Bug("y - p instead of p - y",
            "def cross_entropy_grad(Z, y):\n"
            "    P = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    P /= P.sum(axis=1, keepdims=True)\n"
            "    P[np.arange(len(y)), y] -= 1\n"
            "    return -P / len(y)",
            r"Likely cause: the sign is flipped"),
    ],
    "bce_with_logits": [
        Bug("naive: logs of sigmoids",
            "def bce_with_logits(z, y):\n"
            "    s = 1 / (1 + np.exp(-z))\n"
            "    loss = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))\n"
            "    return loss, (s - y) / z.size",
            r"loss \(item 0 of the result\) contains NaN or inf\n  on input z \(4, 2\), y \(4, 2\) "
            r"\(logits up to \+-800\).*\n  Likely cause: the loss overflowed.*stable form"),
        Bug("right formula, but exp(-z) of a large negative z",
            "def bce_with_logits(z, y):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            "    loss = np.mean(z - z * y + np.log1p(np.exp(-z)))\n"
            "    return loss, (s - y) / z.size",
            r"loss \(item 0 of the result\) contains NaN or inf.*\n.*\n  Likely cause: the loss overflowed"),
        Bug("summed instead of averaged",
            "def bce_with_logits(z, y):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            "    loss = np.sum(np.maximum(z, 0) - z * y + np.log1p(e))\n"
            "    return loss, s - y",
            r"loss \(item 0 of the result\) has the right shape \(\) but wrong values.*\n.*\n"
            r"  Likely cause: the loss is n = 5 times too large: take the mean"),
        Bug("gradient without the 1/n",
            "def bce_with_logits(z, y):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            "    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(e))\n"
            "    return loss, s - y",
            r"grad \(item 1 of the result\) has the right shape \(5, 1\) but wrong values.*\n.*\n"
            r"  Likely cause: the gradient is n = 5 times too large"),
        Bug("gradient y - sigmoid(z)",
            "def bce_with_logits(z, y):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            "    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(e))\n"
            "    return loss, (y - s) / z.size",
            r"Likely cause: the gradient has the wrong sign: it is sigmoid\(z\) - y"),
    ],
    "softmax_vjp": [
        Bug("the diagonal only: G * p",
            "def softmax_vjp(Z, G):\n"
            "    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    P = E / E.sum(axis=1, keepdims=True)\n"
            "    return G * P",
            r"right shape \(4, 3\) but wrong values(.|\n)*Likely cause: G \* p: only the diagonal"),
        Bug("the diagonal of the Jacobian only: G * p (1 - p)",
            "def softmax_vjp(Z, G):\n"
            "    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    P = E / E.sum(axis=1, keepdims=True)\n"
            "    return G * P * (1 - P)",
            r"Likely cause: G \* p \(1 - p\): the diagonal entries"),
        Bug("sign flipped",
            "def softmax_vjp(Z, G):\n"
            "    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    P = E / E.sum(axis=1, keepdims=True)\n"
            "    return P * ((G * P).sum(axis=1, keepdims=True) - G)",
            r"Likely cause: the sign is flipped"),
        Bug("sum over the batch axis",
            "def softmax_vjp(Z, G):\n"
            "    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
            "    P = E / E.sum(axis=1, keepdims=True)\n"
            "    return P * (G - (G * P).sum(axis=0, keepdims=True))",
            r"Likely cause: the sum over k runs down the batch \(axis 0\)"),
        Bug("naive softmax (no max shift)",
            "def softmax_vjp(Z, G):\n"
            "    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)\n"
            "    return P * (G - (G * P).sum(axis=1, keepdims=True))",
            r"contains NaN or inf\n  on input Z \(3, 4\), G \(3, 4\) \(logits near \+900\)"
            r"(.|\n)*Likely cause: exp overflowed"),
    ],
}
