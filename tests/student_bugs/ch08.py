"""Typical mistakes in chapter 8's graded exercises, each with the symptom its check must name.

The first case of every check is a batch of N=4 examples with D=3 features, which is
what the shapes in the symptoms refer to.
"""

from student_bugs import Bug


def _forward(body: str) -> str:
    return "def batchnorm_forward(x, gamma, beta, eps):\n" + body


def _bn_backward(dx_line: str, dgamma: str = "(dout * x_hat).sum(axis=0)",
                 dbeta: str = "dout.sum(axis=0)") -> str:
    return (
        "def batchnorm_backward(dout, x, gamma, eps):\n"
        "    N = x.shape[0]\n"
        "    mu = x.mean(axis=0)\n"
        "    inv_std = 1 / np.sqrt(x.var(axis=0) + eps)\n"
        "    x_hat = (x - mu) * inv_std\n"
        "    dx_hat = dout * gamma\n"
        f"    dx = {dx_line}\n"
        f"    return dx, {dgamma}, {dbeta}\n"
    )


def _ln_backward(dx_line: str, dgamma: str = "(dout * x_hat).sum(axis=0)") -> str:
    return (
        "def layernorm_backward(dout, x, gamma, eps):\n"
        "    D = x.shape[1]\n"
        "    mu = x.mean(axis=1, keepdims=True)\n"
        "    inv_std = 1 / np.sqrt(x.var(axis=1, keepdims=True) + eps)\n"
        "    x_hat = (x - mu) * inv_std\n"
        "    dx_hat = dout * gamma\n"
        f"    dx = {dx_line}\n"
        f"    return dx, {dgamma}, dout.sum(axis=0)\n"
    )


_BN_MEAN = "dx_hat.sum(axis=0)"
_BN_VAR = "x_hat * (dx_hat * x_hat).sum(axis=0)"
_LN_MEAN = "dx_hat.sum(axis=1, keepdims=True)"
_LN_VAR = "x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True)"
_WRONG_VALUES = r"dx \(item 0 of the result\) has the right shape \(4, 3\) but wrong values"

BUGS: dict[str, list[Bug]] = {
    "batchnorm_forward": [
        Bug("normalised over the features (axis=1) instead of the batch",
            _forward("    mu = x.mean(axis=1, keepdims=True)\n"
                     "    var = x.var(axis=1, keepdims=True)\n"
                     "    x_hat = (x - mu) / np.sqrt(var + eps)\n"
                     "    return gamma * x_hat + beta, (x_hat, var)\n"),
            r"right shape \(4, 3\) but wrong values(.|\n)*Likely cause: you normalised each "
            r"example \(row\) over its features, axis=1"),
        Bug("unbiased variance in the normalisation",
            _forward("    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps)\n"
                     "    return gamma * x_hat + beta, x_hat\n"),
            r"wrong values(.|\n)*Likely cause: the unbiased variance \(dividing by N - 1\)"),
        Bug("eps outside the square root",
            _forward("    x_hat = (x - x.mean(axis=0)) / (x.std(axis=0) + eps)\n"
                     "    return gamma * x_hat + beta, x_hat\n"),
            r"wrong values(.|\n)*Likely cause: eps is added outside the square root"),
        Bug("forgot gamma and beta",
            _forward("    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)\n"
                     "    return x_hat, x_hat\n"),
            r"wrong values(.|\n)*Likely cause: out is x_hat: the scale gamma and the shift beta are missing"),
        Bug("returned out alone, without the cache",
            _forward("    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)\n"
                     "    return gamma * x_hat + beta\n"),
            r"should return a tuple \(out, cache\) of 2 items; received ndarray"),
    ],
    "batchnorm_backward": [
        Bug("without the mean and variance terms",
            _bn_backward("dx_hat * inv_std"),
            _WRONG_VALUES + r"(.|\n)*Likely cause: dx = gamma \* dout / sqrt\(var \+ eps\) treats "
            r"the mean and the variance as constants"),
        Bug("without the variance term",
            _bn_backward(f"inv_std / N * (N * dx_hat - {_BN_MEAN})"),
            _WRONG_VALUES + r"(.|\n)*Likely cause: the variance term is missing"),
        Bug("without the mean term",
            _bn_backward(f"inv_std / N * (N * dx_hat - {_BN_VAR})"),
            _WRONG_VALUES + r"(.|\n)*Likely cause: the mean term is missing"),
        Bug("dgamma and dbeta summed over the features (axis=1)",
            _bn_backward(f"inv_std / N * (N * dx_hat - {_BN_MEAN} - {_BN_VAR})",
                         dgamma="(dout * x_hat).sum(axis=1)", dbeta="dout.sum(axis=1)"),
            r"dgamma \(item 1 of the result\) has the wrong shape: expected \(3,\), received \(4,\)"),
        Bug("missing 1/N",
            _bn_backward(f"inv_std * (N * dx_hat - {_BN_MEAN} - {_BN_VAR})"),
            _WRONG_VALUES + r"(.|\n)*Likely cause: dx is N times too large"),
    ],
    "layernorm_backward": [
        Bug("sums over the batch (axis=0), as in batch norm",
            _ln_backward("inv_std / D * (D * dx_hat - dx_hat.sum(axis=0) "
                         "- x_hat * (dx_hat * x_hat).sum(axis=0))"),
            _WRONG_VALUES + r"(.|\n)*Likely cause: dx should sum to zero over the features of each example"),
        Bug("without the mean term",
            _ln_backward(f"inv_std / D * (D * dx_hat - {_LN_VAR})"),
            _WRONG_VALUES + r"(.|\n)*Likely cause: the mean term is missing"),
        Bug("dropped 1/D",
            _ln_backward(f"inv_std * (D * dx_hat - {_LN_MEAN} - {_LN_VAR})"),
            _WRONG_VALUES + r"(.|\n)*Likely cause: dx is D times too large"),
        Bug("without the mean and variance terms",
            _ln_backward("dx_hat * inv_std"),
            _WRONG_VALUES + r"(.|\n)*Likely cause: dx = gamma \* dout / sqrt\(var \+ eps\)"),
        Bug("dgamma summed over the features (axis=1)",
            _ln_backward(f"inv_std / D * (D * dx_hat - {_LN_MEAN} - {_LN_VAR})",
                         dgamma="(dout * x_hat).sum(axis=1)"),
            r"dgamma \(item 1 of the result\) has the wrong shape: expected \(3,\), received \(4,\)"),
    ],
    "batchnorm_eval": [
        Bug('biased running variance',
            "def batchnorm_eval(batches, x, gamma, beta, momentum, eps):\n"
            "    mean, var = np.zeros(x.shape[1]), np.ones(x.shape[1])\n"
            "    for batch in batches:\n"
            "        n = len(batch)\n"
            "        mean = (1 - momentum) * mean + momentum * batch.mean(axis=0)\n"
            "        var = (1 - momentum) * var + momentum * batch.var(axis=0)\n"
            "    return gamma * (x - mean) / np.sqrt(var + eps) + beta",
            r"Likely cause: the running variance is updated with the biased batch variance"),
        Bug('momentum on the old value',
            "def batchnorm_eval(batches, x, gamma, beta, momentum, eps):\n"
            "    mean, var = np.zeros(x.shape[1]), np.ones(x.shape[1])\n"
            "    for batch in batches:\n"
            "        n = len(batch)\n"
            "        mean = momentum * mean + (1 - momentum) * batch.mean(axis=0)\n"
            "        var = momentum * var + (1 - momentum) * batch.var(axis=0) * n / (n - 1)\n"
            "    return gamma * (x - mean) / np.sqrt(var + eps) + beta",
            r"Likely cause: the momentum weighs the old running value"),
        Bug('running variance starts at 0',
            "def batchnorm_eval(batches, x, gamma, beta, momentum, eps):\n"
            "    mean, var = np.zeros(x.shape[1]), np.zeros(x.shape[1])\n"
            "    for batch in batches:\n"
            "        n = len(batch)\n"
            "        mean = (1 - momentum) * mean + momentum * batch.mean(axis=0)\n"
            "        var = (1 - momentum) * var + momentum * batch.var(axis=0) * n / (n - 1)\n"
            "    return gamma * (x - mean) / np.sqrt(var + eps) + beta",
            r"Likely cause: the running variance starts at 0"),
        Bug('only the last batch',
            "def batchnorm_eval(batches, x, gamma, beta, momentum, eps):\n"
            "    mean, var = np.zeros(x.shape[1]), np.ones(x.shape[1])\n"
            "    for batch in batches:\n"
            "        n = len(batch)\n"
            "        mean = batch.mean(axis=0)\n"
            "        var = batch.var(axis=0) * n / (n - 1)\n"
            "    return gamma * (x - mean) / np.sqrt(var + eps) + beta",
            r"Likely cause: only the last batch's statistics are used"),
        Bug('train-mode statistics at test time',
            "def batchnorm_eval(batches, x, gamma, beta, momentum, eps):\n"
            "    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta",
            r"Likely cause: x is normalised with its own mean and variance"),
    ],
}
