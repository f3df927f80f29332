"""Penalties and constraints on the weights: L1 and max-norm (chapter 10).

Chapter 10 derives weight decay as the gradient of the L2 penalty (lambda/2) ||theta||^2,
which the optimizers already apply (``weight_decay=...``). Two other classical ways to
keep weights small live here:

- **The L1 penalty** lambda sum |theta_i|. Its gradient is lambda sign(theta_i) away from
  0; at 0, |.| has no derivative and any number in [-lambda, lambda] is a subgradient.
  :func:`l1_penalty` uses 0 there, as PyTorch's autograd does for ``x.abs()``. Unlike L2,
  whose pull lambda theta_i vanishes as theta_i does, L1 pulls with the same force at any
  size, so it drives weights to (near) zero: it produces sparse networks.
- **The max-norm constraint** ||w_j|| <= c on the incoming weight vector w_j of every unit
  (row j of a ``Linear`` weight) [Srebro & Shraibman 2005; Srivastava et al. 2014]: after
  each optimizer step, every row longer than c is projected back onto the ball of
  radius c, w_j <- w_j c / ||w_j||. :func:`renorm` is that projection on an array, with the
  semantics of ``torch.renorm``; :func:`max_norm_` applies it to a network in place.

See chapter 10.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Real
from typing import Any, Union

import numpy as np

from nnlab.module import Module, Parameter

__all__ = ["l1_penalty", "renorm", "max_norm_", "RENORM_EPS"]

#: Added to the norm before dividing, as ``torch.renorm`` does, so the two agree to the last digit.
RENORM_EPS = 1e-7


def _parameter_list(parameters: Union[Module, Parameter, Iterable[Parameter]], who: str) -> list[Parameter]:
    if isinstance(parameters, Module):
        return list(parameters.parameters())
    if isinstance(parameters, Parameter):
        return [parameters]
    if isinstance(parameters, (np.ndarray, str, bytes)) or not isinstance(parameters, Iterable):
        raise TypeError(
            f"{who} expected a Module, a Parameter or an iterable of Parameters "
            f"(e.g. model.parameters()); got {type(parameters).__name__}"
        )
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(
                f"{who} expected Parameters (e.g. model.parameters()); item {i} is {type(p).__name__}"
            )
    return params


def _nonnegative(value: Any, name: str, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{who}: {name} must be a real number; got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{who}: {name} must be a finite number >= 0; got {value}")
    return value


def l1_penalty(
    parameters: Union[Module, Parameter, Iterable[Parameter]], weight: float, *, backward: bool = True
) -> float:
    """The L1 penalty lambda sum_i |theta_i| of ``parameters``; its subgradient is added to each grad.

    R(theta) = lambda sum_i |theta_i|,   dR/dtheta_i = lambda sign(theta_i)  (0 at theta_i = 0).

    Parameters
    ----------
    parameters : Module, Parameter or iterable of Parameter
        What to penalise, e.g. ``[p for name, p in net.named_parameters() if name.endswith("weight")]``
        (the weights only) or a whole Module (every parameter, biases included).
    weight : float
        lambda >= 0.
    backward : bool
        True (default): ``p.grad += lambda * sign(p.value)`` for every parameter, so call it
        after ``loss.backward()`` / ``net.backward(...)`` and before ``optimizer.step()``.
        False: only return the value.

    Returns
    -------
    float
        lambda sum_i |theta_i| over all the parameters, to add to the data loss when logging.

    Raises
    ------
    TypeError
        If ``parameters`` holds something other than Parameters, or ``weight`` is not real.
    ValueError
        If ``weight`` is negative or not finite.

    PyTorch has no function for it: ``loss = loss + lam * sum(p.abs().sum() for p in params)``
    gives the same value and, through autograd, the same gradient. See chapter 10.
    """
    who = "l1_penalty"
    params = _parameter_list(parameters, who)
    lam = _nonnegative(weight, "weight", who)
    if not isinstance(backward, bool):
        raise TypeError(f"{who}: backward must be a bool; got {backward!r}")
    total = 0.0
    for p in params:
        total += float(np.abs(p.value).sum())
        if backward:
            p.grad += lam * np.sign(p.value)  # np.sign(0) = 0: the subgradient PyTorch uses
    return lam * total


def renorm(x: Any, p: float, dim: int, maxnorm: float) -> np.ndarray:
    """Rescale each slice of ``x`` along ``dim`` whose p-norm exceeds ``maxnorm`` to norm ``maxnorm``.

    For slice j (``x`` indexed by j along axis ``dim``): n_j = ||x_j||_p and
    x_j <- x_j * maxnorm / (n_j + 1e-7) if n_j > maxnorm, else unchanged.

    Parameters
    ----------
    x : array_like, at least 1-D
        E.g. a Linear weight, shape ``(out_features, in_features)``; with ``dim=0`` each
        slice is one unit's incoming weight vector.
    p : float
        The norm's order, > 0 (2 for the Euclidean norm).
    dim : int
        The axis whose slices are renormed (negative counts from the end).
    maxnorm : float
        The largest allowed norm, >= 0.

    Returns
    -------
    np.ndarray, the shape and dtype of ``x``
        A new array; ``x`` is not modified.

    Same semantics (and the same 1e-7) as ``torch.renorm(x, p, dim, maxnorm)``. See chapter 10.
    """
    who = "renorm"
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if arr.ndim < 1:
        raise ValueError(f"{who} expected an array with at least 1 dimension; got shape {arr.shape}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{who}: dim must be an int; got {dim!r}")
    if not -arr.ndim <= dim < arr.ndim:
        raise ValueError(f"{who}: dim must be in [{-arr.ndim}, {arr.ndim - 1}] for shape {arr.shape}; got {dim}")
    order = _nonnegative(p, "p", who)
    if order == 0:
        raise ValueError(f"{who}: p must be > 0; got {p}")
    maxnorm = _nonnegative(maxnorm, "maxnorm", who)
    axes = tuple(a for a in range(arr.ndim) if a != dim % arr.ndim)
    norms = np.sum(np.abs(arr) ** order, axis=axes, keepdims=True) ** (1.0 / order)
    factor = np.where(norms > maxnorm, maxnorm / (norms + RENORM_EPS), 1.0)
    return (arr * factor).astype(arr.dtype, copy=False)


def max_norm_(
    parameters: Union[Module, Parameter, Iterable[Parameter]], max_norm: float, norm_type: float = 2.0
) -> float:
    """Project every unit's incoming weight vector onto the ball ||w_j|| <= ``max_norm``, in place.

    For each parameter with at least 2 dimensions (the weights W of ``Linear`` layers,
    shape ``(out_features, in_features)``; biases are left alone), every row w_j with
    ||w_j|| > c becomes w_j c / (||w_j|| + 1e-7): :func:`renorm` with ``dim=0``. Call it
    after each ``optimizer.step()``: projected gradient descent on the constraint set.

    Parameters
    ----------
    parameters : Module, Parameter or iterable of Parameter
        E.g. a network (every ``Linear`` weight is constrained) or ``net.parameters()``.
    max_norm : float
        c >= 0, the largest allowed norm of a unit's incoming weights.
    norm_type : float
        The norm's order, > 0.

    Returns
    -------
    float
        The largest row norm BEFORE the projection (0.0 if there was no weight matrix), so
        a training loop can log how hard the constraint binds.

    In PyTorch: ``with torch.no_grad(): W.copy_(torch.renorm(W, 2, 0, c))`` for each
    ``Linear`` weight (PyTorch has no one-call version). See chapter 10.
    """
    who = "max_norm_"
    params = _parameter_list(parameters, who)
    c = _nonnegative(max_norm, "max_norm", who)
    order = _nonnegative(norm_type, "norm_type", who)
    if order == 0:
        raise ValueError(f"{who}: norm_type must be > 0; got {norm_type}")
    largest = 0.0
    for p in params:
        if p.value.ndim < 2:
            continue
        rows = p.value.reshape(p.value.shape[0], -1)
        norms = np.sum(np.abs(rows) ** order, axis=1) ** (1.0 / order)
        if norms.size:
            largest = max(largest, float(norms.max()))
        p.value[...] = renorm(p.value, order, 0, c)
    return largest
