"""Typical mistakes in chapter 2's graded exercises, each with the symptom its check must name."""

from student_bugs import Bug

_OVERFLOW = r"raised FloatingPointError: overflow encountered in exp .*only ever sees arguments <= 0"
_STABLE = (
    "def stable_sigmoid(z):\n"
    "    e = np.exp(-np.abs(z))\n"
    "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
)
_TANH_U = (
    "    k, c = np.sqrt(2 / np.pi), 0.044715\n"
    "    t = np.tanh(k * (z + c * z**3))\n"
)

BUGS: dict[str, list[Bug]] = {
    "stable_sigmoid": [
        Bug("the naive formula", "def stable_sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
            _OVERFLOW + r".*\n  on input z \(10,\)"),
        Bug("np.where over two naive branches",
            "def stable_sigmoid(z):\n"
            "    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))",
            _OVERFLOW + r".*np\.where\(cond, a, b\) computes BOTH"),
        Bug("branches without the absolute value",
            "def stable_sigmoid(z):\n"
            "    e = np.exp(-z)\n"
            "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
            r"wrong values.*\n.*\n  Your result equals sigma\(\|z\|\), which is wrong for z < 0"),
        Bug("branches swapped",
            "def stable_sigmoid(z):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))",
            r"wrong values.*\n.*\n  Your result equals sigma\(-z\), not sigma\(z\): the two branches are swapped"),
        Bug("a Python loop with math.exp",
            "import math\n"
            "def stable_sigmoid(z):\n"
            "    return np.array([1 / (1 + math.exp(-v)) for v in z])",
            r"raised TypeError: .*\n  on input z \(3, 5\)"),
    ],
    "sigmoid_grad": [
        Bug("derivative taken at z instead of sigma(z)",
            "def sigmoid_grad(z):\n    return z * (1 - z)",
            r"wrong values.*\n.*\n  Your result equals z \(1 - z\): sigma' = s \(1 - s\) must be evaluated at s = sigma\(z\)"),
        Bug("sigma (1 + sigma)",
            _STABLE + "def sigmoid_grad(z):\n    s = stable_sigmoid(z)\n    return s * (1 + s)",
            r"Your result equals sigma\(z\) \(1 \+ sigma\(z\)\): the sign"),
        Bug("the naive derivative exp(-z) / (1 + exp(-z))^2",
            "def sigmoid_grad(z):\n    e = np.exp(-z)\n    return e / (1 + e) ** 2",
            _OVERFLOW),
        Bug("s (1 - s) with a naive sigmoid",
            "def sigmoid_grad(z):\n    s = 1 / (1 + np.exp(-z))\n    return s * (1 - s)",
            _OVERFLOW),
        Bug("returns the sigmoid itself",
            _STABLE + "def sigmoid_grad(z):\n    return stable_sigmoid(z)",
            r"Your result equals sigma\(z\): that is the function, not its derivative"),
    ],
    "leaky_relu_backward": [
        Bug("slope on the positive side",
            "def leaky_relu_backward(grad_out, z, negative_slope):\n"
            "    return grad_out * np.where(z > 0, negative_slope, 1.0)",
            r"Your result equals grad_out \* \(1 on the negative side, negative_slope on the positive side\)"),
        Bug("forgot grad_out",
            "def leaky_relu_backward(grad_out, z, negative_slope):\n"
            "    return np.where(z > 0, 1.0, negative_slope)",
            r"Your result equals phi'\(z\) alone: the backward pass must multiply by grad_out"),
        Bug("ReLU's mask, no leak",
            "def leaky_relu_backward(grad_out, z, negative_slope):\n"
            "    return grad_out * (z > 0)",
            r"Your result equals ReLU's backward"),
        Bug("side chosen by the sign of grad_out",
            "def leaky_relu_backward(grad_out, z, negative_slope):\n"
            "    return np.where(grad_out > 0, grad_out, negative_slope * grad_out)",
            r"Your result equals leaky_relu\(grad_out\): the side must be chosen by the sign of z"),
        Bug("multiplies by the function instead of its derivative",
            "def leaky_relu_backward(grad_out, z, negative_slope):\n"
            "    return grad_out * np.where(z > 0, z, negative_slope * z)",
            r"Your result equals grad_out \* leaky_relu\(z\)"),
    ],
    "gelu_tanh_grad": [
        Bug("no product rule",
            "def gelu_tanh_grad(z):\n" + _TANH_U + "    return 0.5 * (1 + t)",
            r"Your result equals \(1 \+ tanh\(u\)\) / 2 only: the product rule"),
        Bug("chain rule stops at tanh",
            "def gelu_tanh_grad(z):\n" + _TANH_U + "    return 0.5 * (1 + t) + 0.5 * z * (1 - t**2)",
            r"Your result equals the derivative without du/dz"),
        Bug("tanh' = 1 - tanh",
            "def gelu_tanh_grad(z):\n" + _TANH_U
            + "    return 0.5 * (1 + t) + 0.5 * z * (1 - t) * k * (1 + 3 * c * z**2)",
            r"Your result equals the derivative with \(1 - tanh\(u\)\) instead of \(1 - tanh\(u\)\^2\)"),
        Bug("d/dz z^3 taken as z^2",
            "def gelu_tanh_grad(z):\n" + _TANH_U
            + "    return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * k * (1 + c * z**2)",
            r"Your result equals the derivative with du/dz = sqrt\(2/pi\) \(1 \+ 0\.044715 z\^2\)"),
    ],
    "silu_grad": [
        Bug('sigma alone (no product rule)',
            "def silu_grad(z):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            "    return s",
            r"Your result equals sigma\(z\) alone: the product rule"),
        Bug("z sigma' alone",
            "def silu_grad(z):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            "    return z * s * (1 - s)",
            r"Your result equals z sigma'\(z\) alone"),
        Bug("the sigmoid's derivative",
            "def silu_grad(z):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            "    return s * (1 - s)",
            r"that is the sigmoid's derivative, not SiLU's"),
        Bug('the function itself',
            "def silu_grad(z):\n"
            "    e = np.exp(-np.abs(z))\n"
            "    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n"
            "    return z * s",
            r"Your result equals silu\(z\) = z sigma\(z\): that is the function"),
        Bug('naive sigmoid',
            "def silu_grad(z):\n"
            "    s = 1 / (1 + np.exp(-z))\n"
            "    return s * (1 + z * (1 - s))",
            r"raised FloatingPointError: overflow encountered in exp .*only ever sees arguments <= 0"),
    ],
}
