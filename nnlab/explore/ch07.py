"""Chapter 7: how the initialization sets the scale of every layer of the deep network.

The network is chapter 6's :func:`nnlab.explore.ch06.deep_network` (``depth`` Linear
layers of width 32 on the standardised digits of :func:`~nnlab.explore.ch06.digits_batch`),
so the fix is seen on the network that failed. :func:`init_profile` builds it with one of
the chapter's schemes, multiplies every weight by a ``gain`` g (which multiplies the
weight variance by g^2), and measures one forward and one backward pass: the standard
deviation of every hidden representation h^(l) and the gradient norm of every Linear
weight. For ReLU it also returns what the variance argument of the chapter predicts,
:func:`predicted_preactivation_std`:

    Var z^(1) = n_1 Var(W^(1)) E[x^2],
    Var z^(l) = n_l Var(W^(l)) E[relu(z^(l-1))^2] = n_l Var(W^(l)) Var z^(l-1) / 2,

with n_l the fan-in of layer l. :func:`draw_init` draws both panels; it is the logic of
the chapter's explorer. See chapter 7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab import init as nn_init
from nnlab._checks import as_rng, check_positive_int, check_real
from nnlab.diagnostics import activation_stats, gradient_norms
from nnlab.explore.ch06 import (
    INITS,
    N_INPUTS,
    WIDTH,
    deep_network,
    diagnose,
    digits_batch,
    draw_layer_panels,
)
from nnlab.layers import Linear
from nnlab.losses import CrossEntropyLoss

__all__ = [
    "ACTIVATIONS",
    "RELU_STD_FACTOR",
    "SCHEMES",
    "InitProfile",
    "draw_init",
    "init_profile",
    "predicted_preactivation_std",
    "relu_output_std",
    "torch_default_",
    "weight_variance",
]

#: The schemes of chapter 6's explorer, by the same names, and PyTorch's default for Linear.
TORCH_DEFAULT = "PyTorch default"
SCHEMES: tuple[str, ...] = (*INITS, TORCH_DEFAULT)
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid")

#: std(relu(z)) / std(z) for z ~ N(0, s^2): E[relu(z)^2] = s^2 / 2 and E[relu(z)] = s / sqrt(2 pi),
#: so Var relu(z) = s^2 (1/2 - 1/(2 pi)).
RELU_STD_FACTOR = float(np.sqrt(0.5 - 0.5 / np.pi))


def _choice(value: Any, options: Sequence[str], what: str, who: str) -> str:
    if value not in options:
        raise ValueError(f"{who} expected {what} in {list(options)}; got {value!r}")
    return value


def weight_variance(scheme: str, fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    """Var(W_ij) of a ``(fan_out, fan_in)`` weight under ``scheme``, times ``gain**2``.

    "zeros" 0, "N(0, 1)" 1, "N(0, 0.01^2)" 1e-4, "Xavier" 2 / (fan_in + fan_out),
    "He" 2 / fan_in: the variances that :mod:`nnlab.init` draws with; "PyTorch default"
    1 / (3 fan_in), that of ``kaiming_uniform_(w, a=sqrt(5))``. See chapter 7.
    """
    who = "weight_variance"
    _choice(scheme, SCHEMES, "scheme", who)
    fan_in = check_positive_int(fan_in, "fan_in", who)
    fan_out = check_positive_int(fan_out, "fan_out", who)
    gain = check_real(gain, "gain", who, low=0.0)
    base = {
        "zeros": 0.0,
        "N(0, 1)": 1.0,
        "N(0, 0.01^2)": 1e-4,
        "Xavier": 2.0 / (fan_in + fan_out),
        "He": 2.0 / fan_in,
        TORCH_DEFAULT: 1.0 / (3.0 * fan_in),
    }[scheme]
    return gain**2 * base


def torch_default_(model: Any, rng: Any = 0) -> Any:
    """Redraw every Linear of ``model`` in place as ``torch.nn.Linear.reset_parameters`` does.

    W ~ U(-a, a) with a = 1/sqrt(fan_in), i.e. ``kaiming_uniform_(w, a=sqrt(5))`` =
    :func:`nnlab.init.he_uniform` with ``negative_slope=sqrt(5)``: Var W = 1 / (3 fan_in);
    b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), also of variance 1 / (3 fan_in). nnlab's own
    default (He uniform, zero bias) differs. Returns ``model``. See chapter 7.
    """
    gen = as_rng(rng, "torch_default_")
    for layer in model:
        if isinstance(layer, Linear):
            fan_in = layer.in_features
            layer.weight.value[...] = nn_init.he_uniform(
                layer.weight.shape, negative_slope=np.sqrt(5.0), rng=gen)
            if layer.bias is not None:
                bound = 1.0 / np.sqrt(fan_in)
                layer.bias.value[...] = gen.uniform(-bound, bound, size=layer.bias.shape)
    return model


def predicted_preactivation_std(
    fan_ins: Sequence[int],
    weight_vars: Sequence[float],
    input_second_moment: float,
    activation: str = "relu",
    bias_vars: Sequence[float] | None = None,
) -> np.ndarray:
    """Predicted std of the pre-activations z^(1), ..., z^(L) of a deep network at init.

    Layer l computes z^(l) = W^(l) h^(l-1) (zero bias) with h^(0) = x and
    h^(l) = phi(z^(l)). With independent, zero-mean weights of variance v_l,

        Var z^(l) = n_l v_l E[(h^(l-1))^2],        E[x^2] = input_second_moment,

    and E[h^2] = Var z / 2 for ReLU (z symmetric about 0), Var z for the identity. It is
    the SECOND MOMENT of h, not its variance, that the next layer sees.

    Parameters
    ----------
    fan_ins : sequence of int, length L
        n_l, the number of inputs of layer l (``in_features``).
    weight_vars : sequence of float, length L
        v_l = Var(W^(l)_ij).
    input_second_moment : float
        E[x_i^2] over the inputs (1 for standardised data).
    activation : {"relu", "linear"}
    bias_vars : sequence of float, length L, or None
        Var(b^(l)_i) of random biases, added to Var z^(l); None for zero biases.

    Returns
    -------
    np.ndarray, shape (L,)
        sqrt(Var z^(l)). See chapter 7, equation (ch7-recursion).
    """
    who = "predicted_preactivation_std"
    _choice(activation, ("relu", "linear"), "activation", who)
    fan_ins = [check_positive_int(n, "fan_ins[l]", who) for n in fan_ins]
    weight_vars = [check_real(v, "weight_vars[l]", who, low=0.0) for v in weight_vars]
    if len(fan_ins) != len(weight_vars):
        raise ValueError(f"{who} expected as many weight_vars as fan_ins; got {len(weight_vars)} and {len(fan_ins)}")
    second_moment = check_real(input_second_moment, "input_second_moment", who, low=0.0)
    if bias_vars is None:
        bias_vars = [0.0] * len(fan_ins)
    bias_vars = [check_real(v, "bias_vars[l]", who, low=0.0) for v in bias_vars]
    if len(bias_vars) != len(fan_ins):
        raise ValueError(
            f"{who} expected as many bias_vars as fan_ins; got {len(bias_vars)} and {len(fan_ins)}"
        )
    keep = 0.5 if activation == "relu" else 1.0
    variances = []
    for n, v, vb in zip(fan_ins, weight_vars, bias_vars):
        var_z = n * v * second_moment + vb
        variances.append(var_z)
        second_moment = keep * var_z
    return np.sqrt(np.array(variances, dtype=np.float64))


def relu_output_std(preactivation_std: Any) -> np.ndarray:
    """std(relu(z)) for z ~ N(0, s^2): s * sqrt(1/2 - 1/(2 pi)) = 0.584 s. See chapter 7."""
    return RELU_STD_FACTOR * np.asarray(preactivation_std, dtype=np.float64)


@dataclass(frozen=True)
class InitProfile:
    """What :func:`init_profile` measured.

    Attributes
    ----------
    act_std : np.ndarray, shape (depth - 1,)
        std of each hidden representation h^(l) over the batch (all units, all examples).
    predicted_std : np.ndarray, shape (depth - 1,)
        For ReLU, the std of h^(l) that the variance recursion predicts; NaN otherwise.
    grad_norms : np.ndarray, shape (depth,)
        ||dL/dW^(l)||_F of each Linear layer, input to output.
    ratio, verdict : float, str
        :func:`nnlab.explore.ch06.diagnose` of ``grad_norms``.
    loss : float
        Cross-entropy of the batch at initialization.
    """

    scheme: str
    activation: str
    depth: int
    gain: float
    act_std: np.ndarray
    predicted_std: np.ndarray
    grad_norms: np.ndarray
    ratio: float
    verdict: str
    loss: float


def init_profile(
    scheme: str = "He",
    activation: str = "relu",
    depth: int = 50,
    gain: float = 1.0,
    *,
    width: int = WIDTH,
    n: int = 256,
    seed: int = 0,
) -> InitProfile:
    """Chapter 6's deep network under ``scheme`` with weights times ``gain``: one forward, one backward.

    Pure: the same arguments give the same numbers (about 0.1 s at depth 50).

    Parameters
    ----------
    scheme : str
        A key of :data:`SCHEMES` ("zeros", "N(0, 1)", "N(0, 0.01^2)", "Xavier", "He",
        "PyTorch default": chapter 6's network redrawn by :func:`torch_default_`).
    activation : {"relu", "tanh", "sigmoid"}
    depth : int
        Number of Linear layers (at least 2).
    gain : float
        Every weight is multiplied by it after initialization (gain 1: the scheme as is).
    width : int
        Width of the hidden layers (32 in chapter 6).
    n : int
        Batch size (the first ``n`` digits).
    seed : int
        Seed of the weights.

    Returns
    -------
    InitProfile
        See chapter 7.
    """
    who = "init_profile"
    _choice(scheme, SCHEMES, "scheme", who)
    _choice(activation, ACTIVATIONS, "activation", who)
    depth = check_positive_int(depth, "depth", who, minimum=2)
    gain = check_real(gain, "gain", who, low=0.0)
    if scheme == TORCH_DEFAULT:
        model = torch_default_(deep_network(depth, activation, "He", width=width, rng=seed), seed)
    else:
        model = deep_network(depth, activation, scheme, width=width, rng=seed)
    for layer in model:
        if isinstance(layer, Linear):
            layer.weight.value *= gain
    X, y = digits_batch(n)
    loss_fn = CrossEntropyLoss()
    # Exploding settings overflow on purpose; the picture shows what becomes of them.
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        stats = activation_stats(model, X)
        norms = np.array([v for _, v in gradient_norms(model, loss_fn, X, y)])
        loss = loss_fn(model(X), y)
    if activation == "relu":
        hidden = depth - 1
        fan_ins = [N_INPUTS] + [width] * (hidden - 1)
        fan_outs = [width] * hidden
        variances = [weight_variance(scheme, a, b, gain) for a, b in zip(fan_ins, fan_outs)]
        bias_vars = [1.0 / (3.0 * a) if scheme == TORCH_DEFAULT else 0.0 for a in fan_ins]
        second_moment = float(np.mean(X**2))
        pre = predicted_preactivation_std(fan_ins, variances, second_moment, "relu", bias_vars)
        predicted = relu_output_std(pre)
    else:
        predicted = np.full(depth - 1, np.nan)
    ratio, verdict = diagnose(norms)
    return InitProfile(
        scheme=scheme, activation=activation, depth=depth, gain=float(gain),
        act_std=np.array([s.std for s in stats]), predicted_std=predicted,
        grad_norms=norms, ratio=ratio, verdict=verdict, loss=float(loss),
    )


def _positive(values: np.ndarray) -> np.ndarray:
    # A log axis cannot show 0 (or inf): those points are left out and said in words.
    return np.where((values > 0) & np.isfinite(values), values, np.nan)


def draw_init(
    ax: Any,
    scheme: str = "He",
    activation: str = "relu",
    depth: int = 50,
    gain: float = 1.0,
) -> InitProfile:
    """Two panels in the place of ``ax``: std of h^(l) per layer, gradient norm per layer.

    Both on a log scale; for ReLU the left panel also shows the prediction of
    :func:`predicted_preactivation_std` (dashed). ``ax`` is replaced by two Axes of the
    same area, so the function fits :func:`nnlab.widgets.explorer`. Returns the
    :class:`InitProfile` that was drawn. See chapter 7.
    """
    profile = init_profile(scheme, activation, depth, gain)
    label = scheme if gain == 1.0 else f"{scheme} x {gain:g}"
    left, _ = draw_layer_panels(
        ax,
        profile.act_std,
        profile.grad_norms,
        left_title=f"activations ({activation}, {label})",
        right_title=f"gradients: {profile.verdict}",
    )
    if activation == "relu":
        hidden = np.arange(1, depth)
        left.plot(hidden, _positive(profile.predicted_std), ls="--", color="0.3", label="predicted")
        left.legend(fontsize="small", loc="best")
    return profile
