"""Gradient clipping by global norm: a cap on the size of one optimizer step.

An exploding gradient (chapter 6) makes one step of gradient descent arbitrarily long.
Clipping by global norm treats the gradients of all parameters as ONE vector g and,
when its norm exceeds ``max_norm``, scales every gradient by the same factor:

    g <- g * min(1, max_norm / (||g|| + 1e-6)).

The direction of the step is kept; only its length is capped. The 1e-6 is PyTorch's
guard against dividing by a zero norm, kept so that the two agree to the last digit.
Call it between ``backward`` and ``optimizer.step()``. See chapter 6.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Real
from typing import Union

import numpy as np

from nnlab.module import Parameter

__all__ = ["clip_grad_norm_"]

#: Added to the total norm before dividing, as ``torch.nn.utils.clip_grad_norm_`` does.
CLIP_EPS = 1e-6


def _parameter_list(parameters: Union[Parameter, Iterable[Parameter]], who: str) -> list[Parameter]:
    if isinstance(parameters, Parameter):
        return [parameters]
    if isinstance(parameters, np.ndarray) or not isinstance(parameters, Iterable):
        raise TypeError(
            f"{who} expected a Parameter or an iterable of Parameters (e.g. model.parameters()); "
            f"got {type(parameters).__name__}"
        )
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(
                f"{who} expected Parameters (e.g. model.parameters()); "
                f"item {i} is {type(p).__name__}"
            )
    return params


def clip_grad_norm_(
    parameters: Union[Parameter, Iterable[Parameter]],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients in place so that their global norm is at most ``max_norm``.

    total = || (||g_1||_p, ..., ||g_k||_p) ||_p  (the p-norm of all gradients as one vector);
    every g_i <- g_i * min(1, max_norm / (total + 1e-6)).

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        E.g. ``model.parameters()``; each ``p.grad`` (any shape, the shape of
        ``p.value``) is scaled in place.
    max_norm : float
        The largest allowed global norm, >= 0.
    norm_type : float
        p of the p-norm, > 0; ``float("inf")`` for the largest absolute entry.
    error_if_nonfinite : bool
        Raise instead of scaling when the total norm is NaN or infinite.

    Returns
    -------
    float
        The global norm of the gradients BEFORE clipping (as PyTorch returns it), so a
        training loop can log it.

    Raises
    ------
    TypeError
        If ``parameters`` holds something other than Parameters, or a number is not real.
    ValueError
        If ``max_norm`` < 0 or is not finite, or ``norm_type`` <= 0.
    RuntimeError
        If ``error_if_nonfinite`` and the total norm is NaN or infinite.

    Same semantics as ``torch.nn.utils.clip_grad_norm_``. See chapter 6.
    """
    who = "clip_grad_norm_"
    params = _parameter_list(parameters, who)
    for name, value in (("max_norm", max_norm), ("norm_type", norm_type)):
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(
                f"{who}: {name} must be a real number; got {value!r} ({type(value).__name__})"
            )
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not np.isfinite(max_norm) or max_norm < 0:
        raise ValueError(f"{who}: max_norm must be a finite number >= 0; got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"{who}: norm_type must be > 0 or float('inf'); got {norm_type}")
    if not params:
        return 0.0
    if np.isinf(norm_type):
        per_param = np.array([np.abs(p.grad).max() if p.grad.size else 0.0 for p in params])
        total = float(per_param.max())
    else:
        per_param = np.array(
            [np.linalg.norm(p.grad.ravel().astype(np.float64), ord=norm_type) for p in params]
        )
        total = float(np.linalg.norm(per_param, ord=norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"{who}: the total norm of order {norm_type} of the gradients is {total}, so they "
            "cannot be clipped; set error_if_nonfinite=False to scale them anyway"
        )
    # Always multiply, even by 1, as PyTorch does: a NaN total then spreads to every
    # gradient instead of passing silently.
    coef = min(max_norm / (total + CLIP_EPS), 1.0) if not np.isnan(total) else float("nan")
    for p in params:
        p.grad *= coef
    return total
