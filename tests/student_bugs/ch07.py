"""Typical mistakes in chapter 7's graded exercises, each with the symptom its check must name.

The first case of the initializer checks is shape (300, 200): fan_out = 300, fan_in = 200,
which is what the shapes in the symptoms refer to.
"""

from student_bugs import Bug


def _he(body: str) -> str:
    return "def he_normal(shape, rng):\n    gen = np.random.default_rng(rng)\n" + body


def _xavier(body: str) -> str:
    return "def xavier_uniform(shape, rng):\n    gen = np.random.default_rng(rng)\n" + body


def _predicted(body: str) -> str:
    return "def predicted_std(fan_ins, weight_vars, input_second_moment, activation):\n" + body


_LOOP = (
    "    out = []\n"
    "    for n, v in zip(fan_ins, weight_vars):\n"
    "        var_z = n * v * q\n"
    "        out.append(var_z)\n"
)

BUGS: dict[str, list[Bug]] = {
    "he_normal": [
        Bug("fan_in and fan_out swapped",
            _he("    fan_in = shape[0]\n    return gen.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)"),
            r"variance .* expected 2 / fan_in .*\n  Your variance equals 2 / fan_out: fan_in and fan_out are swapped"),
        Bug("variance passed as the standard deviation",
            _he("    return gen.normal(0.0, 2.0 / shape[1], size=shape)"),
            r"Your variance equals \(2 / fan_in\)\^2: you passed the variance"),
        Bug("fan_in + fan_out (Xavier's denominator)",
            _he("    return gen.normal(0.0, np.sqrt(2.0 / (shape[0] + shape[1])), size=shape)"),
            r"Your variance equals 2 / \(fan_in \+ fan_out\), Xavier's"),
        Bug("factor 2 missing",
            _he("    return gen.normal(0.0, np.sqrt(1.0 / shape[1]), size=shape)"),
            r"Your variance equals 1 / fan_in: the factor 2"),
        Bug("uniform draws of the right variance",
            _he("    a = np.sqrt(6.0 / shape[1])\n    return gen.uniform(-a, a, size=shape)"),
            r"has the right variance, but the entries look uniform: their kurtosis"),
        Bug("the transposed shape",
            _he("    return gen.normal(0.0, np.sqrt(2.0 / shape[1]), size=(shape[1], shape[0]))"),
            r"wrong shape: expected \(300, 200\), received \(200, 300\) - that is \(fan_in, fan_out\), transposed"),
        Bug("numpy's global random state",
            "def he_normal(shape, rng):\n"
            "    return np.random.normal(0.0, np.sqrt(2.0 / shape[1]), size=shape)",
            r"two calls with the same rng .* returned different arrays"),
    ],
    "xavier_uniform": [
        Bug("bound without sqrt(3)",
            _xavier("    a = np.sqrt(2.0 / (shape[0] + shape[1]))\n    return gen.uniform(-a, a, size=shape)"),
            r"Your variance equals 2 / \(3 \(fan_in \+ fan_out\)\): the bound .* missing the factor sqrt\(3\)"),
        Bug("bound without the square root",
            _xavier("    a = 6.0 / (shape[0] + shape[1])\n    return gen.uniform(-a, a, size=shape)"),
            r"Your variance equals 12 / \(fan_in \+ fan_out\)\^2: .* without the square root"),
        Bug("He's bound",
            _xavier("    a = np.sqrt(6.0 / shape[1])\n    return gen.uniform(-a, a, size=shape)"),
            r"Your variance equals 2 / fan_in, He's variance"),
        Bug("uniform on [0, a)",
            _xavier("    a = np.sqrt(6.0 / (shape[0] + shape[1]))\n    return gen.uniform(0.0, a, size=shape)"),
            r"the mean of the entries is .*; it should be 0 .* symmetric about 0"),
        Bug("normal draws of the right variance",
            _xavier("    return gen.normal(0.0, np.sqrt(2.0 / (shape[0] + shape[1])), size=shape)"),
            r"outside \[-a, a\] .* these look normal \(kurtosis"),
        Bug("the transposed shape",
            _xavier("    a = np.sqrt(6.0 / (shape[0] + shape[1]))\n"
                    "    return gen.uniform(-a, a, size=(shape[1], shape[0]))"),
            r"wrong shape: expected \(300, 200\), received \(200, 300\)"),
        Bug("a fixed seed instead of rng",
            "def xavier_uniform(shape, rng):\n"
            "    gen = np.random.default_rng(0)\n"
            "    a = np.sqrt(6.0 / (shape[0] + shape[1]))\n"
            "    return gen.uniform(-a, a, size=shape)",
            r"calls with different seeds .* returned the same array"),
    ],
    "predicted_std": [
        Bug("no factor 1/2 for ReLU",
            _predicted("    q = input_second_moment\n" + _LOOP + "        q = var_z\n"
                       "    return np.sqrt(np.array(out))"),
            r"wrong values.*\n.*\n  Your result equals the recursion without the factor 1/2"),
        Bug("variances instead of standard deviations",
            _predicted("    q = input_second_moment\n" + _LOOP
                       + "        q = var_z / 2 if activation == 'relu' else var_z\n"
                       "    return np.array(out)"),
            r"Your result equals the variances Var z\^\(l\)"),
        Bug("Var h instead of E[h^2]",
            _predicted("    q = input_second_moment\n" + _LOOP
                       + "        q = var_z * (0.5 - 0.5 / np.pi) if activation == 'relu' else var_z\n"
                       "    return np.sqrt(np.array(out))"),
            r"Your result equals the recursion with Var h = Var z \(1/2 - 1/\(2 pi\)\) in place of E\[h\^2\]"),
        Bug("input halved as if it were a ReLU output",
            _predicted("    keep = 0.5 if activation == 'relu' else 1.0\n"
                       "    q = keep * input_second_moment\n" + _LOOP + "        q = keep * var_z\n"
                       "    return np.sqrt(np.array(out))"),
            r"Your result equals the recursion with the input's second moment halved too"),
        Bug("std of the weights used as their variance",
            _predicted("    q = input_second_moment\n    out = []\n"
                       "    for n, v in zip(fan_ins, weight_vars):\n"
                       "        var_z = n * np.sqrt(v) * q\n"
                       "        out.append(var_z)\n"
                       "        q = var_z / 2 if activation == 'relu' else var_z\n"
                       "    return np.sqrt(np.array(out))"),
            r"Your result equals the recursion with sqrt\(v\) in place of the variance v"),
    ],
    "orthogonal": [
        Bug('no sign correction',
            "def orthogonal(shape, rng):\n"
            "    gen = np.random.default_rng(rng)\n"
            "    rows, cols = shape\n"
            "    A = gen.normal(size=(max(rows, cols), min(rows, cols)))\n"
            "    Q, R = np.linalg.qr(A)\n"
            "    return Q if rows >= cols else Q.T",
            r"is orthogonal but not uniformly random: the mean of its diagonal entries(.|\n)*np.linalg.qr fixes no sign"),
        Bug('a Gaussian, not orthogonalised',
            "def orthogonal(shape, rng):\n"
            "    return np.random.default_rng(rng).normal(size=shape) / np.sqrt(max(shape))",
            r"is not \(semi-\)orthogonal"),
        Bug('transposed',
            "def orthogonal(shape, rng):\n"
            "    gen = np.random.default_rng(rng)\n"
            "    rows, cols = shape\n"
            "    A = gen.normal(size=(max(rows, cols), min(rows, cols)))\n"
            "    Q, R = np.linalg.qr(A)\n"
            "    Q = Q * np.sign(np.diag(R))\n"
            "    return Q.T if rows >= cols else Q",
            r"wrong shape: expected \(300, 200\), received \(200, 300\) - that is \(fan_in, fan_out\)"),
        Bug('the identity',
            "def orthogonal(shape, rng):\n"
            "    return np.eye(*shape)",
            r"is orthogonal but not random(.|\n)*as for the identity"),
        Bug('a gain of sqrt 2',
            "def orthogonal(shape, rng):\n"
            "    gen = np.random.default_rng(rng)\n"
            "    rows, cols = shape\n"
            "    A = gen.normal(size=(max(rows, cols), min(rows, cols)))\n"
            "    Q, R = np.linalg.qr(A)\n"
            "    Q = Q * np.sign(np.diag(R))\n"
            "    return np.sqrt(2) * (Q if rows >= cols else Q.T)",
            r"they are orthogonal but of squared norm 2, not 1"),
    ],
}
