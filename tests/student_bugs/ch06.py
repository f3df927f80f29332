"""Typical mistakes in chapter 6's graded exercises, each with the symptom its check must name.

The first case of layer_gradient_norms has a batch of 6 and widths 4 -> 5 -> 3 (two
layers); of sigmoid_jacobian widths 3 -> 5 -> 2 (J is (2, 3)); diagnose_gradients'
first case is a vanishing profile of 12 norms and its fifth one has every norm near 1e-23.
"""

from student_bugs import Bug

_FORWARD = (
    "def layer_gradient_norms(X, y, weights, biases):\n"
    "    H = [X]\n"
    "    for W, b in zip(weights[:-1], biases[:-1]):\n"
    "        H.append(np.tanh(H[-1] @ W.T + b))\n"
    "    logits = H[-1] @ weights[-1].T + biases[-1]\n"
    "    p = np.exp(logits - logits.max(axis=1, keepdims=True))\n"
    "    p /= p.sum(axis=1, keepdims=True)\n"
    "    G = p.copy()\n"
    "    G[np.arange(len(y)), y] -= 1\n"
)


def _norms(scale: str = "    G /= len(y)\n", record: str = "np.linalg.norm(G.T @ H[l])",
           tanh_grad: str = " * (1 - H[l] ** 2)", ending: str = "norms[::-1]") -> str:
    return (_FORWARD + scale
            + "    norms = []\n"
            + "    for l in range(len(weights) - 1, -1, -1):\n"
            + f"        norms.append({record})\n"
            + "        if l > 0:\n"
            + f"            G = (G @ weights[l]){tanh_grad}\n"
            + f"    return np.array({ending})\n")


def _jacobian(step: str = "(s * (1 - s))[:, None] * W @ J",
              factor: str = "np.linalg.norm(W, 2) / 4", ret: str = "J, bound") -> str:
    return ("def sigmoid_jacobian(x, weights, biases):\n"
            "    h, J, bound = x, np.eye(len(x)), 1.0\n"
            "    for W, b in zip(weights, biases):\n"
            "        s = 1 / (1 + np.exp(-(W @ h + b)))\n"
            f"        J = {step}\n"
            f"        bound *= {factor}\n"
            "        h = s\n"
            f"    return {ret}\n")


def _diagnose(ratio: str = "norms[0] / norms[-1]", vanish: str = "ratio < 1e-3 or largest < 1e-8",
              explode: str = "ratio > 1e3 or largest > 1e4", first: str = "vanish") -> str:
    tests = [("vanish", vanish, "vanishing"), ("explode", explode, "exploding")]
    if first == "explode":
        tests.reverse()
    body = "".join(f"    if {cond}:\n        return float(ratio), {word!r}\n" for _, cond, word in tests)
    return ("def diagnose_gradients(norms):\n"
            f"    ratio = {ratio}\n"
            "    largest = np.max(norms)\n"
            + body
            + "    return float(ratio), 'healthy'\n")


BUGS: dict[str, list[Bug]] = {
    "layer_gradient_norms": [
        Bug("norms of the weights, not of their gradients",
            _norms(record="np.linalg.norm(weights[l])"),
            r"right shape \(2,\) but wrong values(.|\n)*Note: these are the norms of the weights"),
        Bug("norms listed from output to input",
            _norms(ending="norms"),
            r"right shape \(2,\) but wrong values(.|\n)*Note: your norms are the right ones in reverse order"),
        Bug("gradients summed over the batch (no 1/N): accumulated, never averaged",
            _norms(scale=""),
            r"wrong values(.|\n)*every norm is 6 times the right one \(the batch has 6 examples\)"),
        Bug("L1 norm instead of the Frobenius norm",
            _norms(record="np.abs(G.T @ H[l]).sum()"),
            r"wrong values(.|\n)*sums of absolute values \(an L1 norm\)"),
        Bug("no tanh derivative on the way back",
            _norms(tanh_grad=""),
            r"right shape \(2,\) but wrong values: 1 of 2 entries differ at index \(0,\)"),
        Bug("bias gradients' norms included",
            _FORWARD + "    G /= len(y)\n    norms = []\n"
            "    for l in range(len(weights) - 1, -1, -1):\n"
            "        norms += [np.linalg.norm(G.sum(axis=0)), np.linalg.norm(G.T @ H[l])]\n"
            "        if l > 0:\n            G = (G @ weights[l]) * (1 - H[l] ** 2)\n"
            "    return np.array(norms[::-1])\n",
            r"wrong shape: expected \(2,\), received \(4,\)"),
    ],
    "sigmoid_jacobian": [
        Bug("Frobenius norm in the bound",
            _jacobian(factor="np.linalg.norm(W) / 4"),
            r"bound \(item 1 of the result\) has the right shape \(\) but wrong values(.|\n)*"
            r"Note: your bound uses the Frobenius norm"),
        Bug("no 1/4 per layer in the bound",
            _jacobian(factor="np.linalg.norm(W, 2)"),
            r"bound \(item 1(.|\n)*Note: your bound is 4\^2 times the right one"),
        Bug("sigma instead of sigma' on the diagonal",
            _jacobian(step="s[:, None] * W @ J"),
            r"J \(item 0 of the result\) has the right shape \(2, 3\) but wrong values"),
        Bug("product in the wrong order (first layer on the left)",
            _jacobian(step="J @ ((s * (1 - s))[:, None] * W)"),
            r"raised ValueError: matmul(.|\n)*on input x \(3,\), weights \[\(5, 3\), \(2, 5\)\]"),
        Bug("J returned transposed",
            _jacobian(ret="J.T, bound"),
            r"J \(item 0 of the result\) has the wrong shape: expected \(2, 3\), received \(3, 2\)"
            r"(.|\n)*Note: your J is transposed"),
    ],
    "diagnose_gradients": [
        Bug("ratio upside down: last over first",
            _diagnose(ratio="norms[-1] / norms[0]"),
            r"ratio \(item 0 of the result\) has the right shape \(\) but wrong values(.|\n)*"
            r"Note: your ratio is the inverse of the right one"),
        Bug("the ratio alone: misses the network whose every norm is tiny",
            _diagnose(vanish="ratio < 1e-3", explode="ratio > 1e3"),
            r"verdict \(item 1 of the result\): expected 'vanishing', received 'healthy'(.|\n)*"
            r"largest \d\.\d+e-2[34](.|\n)*Note: the ratio alone misses this case"),
        Bug("smallest over largest instead of first over last",
            _diagnose(ratio="np.min(norms) / np.max(norms)"),
            r"ratio \(item 0(.|\n)*Note: your ratio is smallest / largest norm"),
        Bug("exploding tested before vanishing",
            _diagnose(first="explode"),
            r"expected 'vanishing', received 'exploding'(.|\n)*Note: both rules apply here"),
    ],
    "clip_by_global_norm": [
        Bug('each array clipped by its own norm',
            "def clip_by_global_norm(grads, max_norm):\n"
            "    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))\n"
            "    return [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads], float(total)",
            r"item 0 of the clipped gradients(.|\n)*Note: each array is clipped by its own norm"),
        Bug('scaled even below the cap',
            "def clip_by_global_norm(grads, max_norm):\n"
            "    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))\n"
            "    return [g * (max_norm / (total + 1e-6)) for g in grads], float(total)",
            r"item 0 of the clipped gradients(.|\n)*Note: the gradients are scaled even though their norm is below the cap"),
        Bug("sum of the arrays' norms",
            "def clip_by_global_norm(grads, max_norm):\n"
            "    total = sum(np.linalg.norm(g) for g in grads)\n"
            "    return [g * min(1.0, max_norm / (total + 1e-6)) for g in grads], float(total)",
            r"Note: the norm is the sum of the arrays' norms"),
        Bug('norm reported after clipping',
            "def clip_by_global_norm(grads, max_norm):\n"
            "    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))\n"
            "    out = [g * min(1.0, max_norm / (total + 1e-6)) for g in grads]\n"
            "    return out, float(np.sqrt(sum(np.sum(g ** 2) for g in out)))",
            r"total_norm \(item 1 of the result\)(.|\n)*Note: the norm reported is the one after clipping"),
        Bug('sum of squares without the root',
            "def clip_by_global_norm(grads, max_norm):\n"
            "    total = sum(np.sum(g ** 2) for g in grads)\n"
            "    return [g * min(1.0, max_norm / (total + 1e-6)) for g in grads], float(total)",
            r"Note: the norm is the sum of squares, without the square root"),
    ],
}
