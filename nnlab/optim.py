"""Optimizers: how a gradient becomes a change of the parameters.

Every optimizer here turns the gradients that ``backward`` left in ``p.grad`` into an
update of ``p.value``, with the same rule as the ``torch.optim`` class of the same name,
step for step. Usage is PyTorch's::

    opt = nnlab.optim.Adam(model.parameters(), lr=1e-3)
    for X, y in batches:
        opt.zero_grad()
        loss = criterion(model(X), y)
        model.backward(criterion.backward())
        opt.step()

Updates are made IN PLACE on ``p.value``: the optimizer and the model share the same
arrays, so the model sees the new values without any copying. Each parameter also gets
one scratch array, so that a step allocates no new arrays (this code is on the hot path
of every training loop). See chapter 5 (Training) for the update rules and chapter 10
(Capacity and regularization) for weight decay.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nnlab._checks import check_real
from nnlab.module import Parameter

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam"]


class Optimizer:
    """Base class: holds the parameters, their per-parameter buffers and the step count.

    Parameters
    ----------
    params : iterable of Parameter
        What to optimise, typically ``model.parameters()``.
    lr : float
        Learning rate eta >= 0. A plain attribute, so a schedule may change it between steps.

    Subclasses list the names of their per-parameter buffers in ``_buffer_names``
    (e.g. ``("exp_avg", "exp_avg_sq")``); each becomes a list of arrays, one per
    parameter, created at zeros, which :meth:`state_dict` saves.
    """

    _buffer_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        who = type(self).__name__
        if isinstance(params, Parameter):
            raise TypeError(
                f"{who} expected an iterable of Parameters (e.g. model.parameters()); "
                "got a single Parameter: wrap it in a list"
            )
        try:
            params = list(params)
        except TypeError:
            raise TypeError(
                f"{who} expected an iterable of Parameters (e.g. model.parameters()); "
                f"got {type(params).__name__}"
            ) from None
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{who} expected Parameters (e.g. model.parameters()); "
                    f"element {i} is {type(p).__name__}"
                )
        if len({id(p) for p in params}) != len(params):
            # Stepping the same array twice per step would silently double its learning rate.
            raise ValueError(f"{who}: some parameters appear more than once in the list")
        self.params: list[Parameter] = params
        self.lr: float = check_real(lr, "lr", who, low=0.0)
        self.step_count: int = 0
        for name in self._buffer_names:
            setattr(self, name, [np.zeros_like(p.value) for p in params])
        self._scratch: list[np.ndarray] = [np.empty_like(p.value) for p in params]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (``backward`` adds into it)."""
        for p in self.params:
            p.grad.fill(0)

    def step(self) -> None:
        """Update every parameter once, from its current gradient."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    # --- saving and restoring ---------------------------------------------------------

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr}

    def state_dict(self) -> dict[str, Any]:
        """Return the step count, the hyperparameters and copies of every buffer.

        Buffers are lists in the order of ``params``:
        ``{"step": t, "hyperparameters": {...}, "buffers": {"exp_avg": [array, ...], ...}}``.
        """
        return {
            "step": self.step_count,
            "hyperparameters": self._hyperparameters(),
            "buffers": {
                name: [b.copy() for b in getattr(self, name)] for name in self._buffer_names
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, copying into the existing buffers.

        The hyperparameters (e.g. ``lr``) are restored too. Mismatched buffer names,
        counts or shapes raise a ValueError.
        """
        who = f"{type(self).__name__}.load_state_dict"
        missing = {"step", "hyperparameters", "buffers"} - set(state)
        if missing:
            raise ValueError(f"{who}: state is missing keys {sorted(missing)}")
        buffers = state["buffers"]
        if set(buffers) != set(self._buffer_names):
            raise ValueError(
                f"{who}: expected buffers {sorted(self._buffer_names)}; got {sorted(buffers)}"
            )
        for name in self._buffer_names:
            ours, theirs = getattr(self, name), buffers[name]
            if len(theirs) != len(ours):
                raise ValueError(
                    f"{who}: {name!r} expected {len(ours)} arrays (one per parameter); "
                    f"got {len(theirs)}"
                )
            for i, (a, b) in enumerate(zip(ours, theirs)):
                if np.shape(b) != a.shape:
                    raise ValueError(
                        f"{who}: {name}[{i}] expected shape {a.shape}; got {np.shape(b)}"
                    )
        for name in self._buffer_names:
            for a, b in zip(getattr(self, name), buffers[name]):
                np.copyto(a, b)
        for key, value in state["hyperparameters"].items():
            setattr(self, key, value)
        self.step_count = int(state["step"])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self._hyperparameters().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov and weight decay.

    With gradient g, learning rate eta, momentum mu and weight decay lambda::

        g <- g + lambda p                 (L2 weight decay, chapter 10)
        b <- mu b + g                     (momentum buffer; b = g on the first step)
        g <- g + mu b  if nesterov else  g <- b
        p <- p - eta g

    exactly as ``torch.optim.SGD`` (with dampening 0). See chapter 5.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Learning rate eta >= 0.
    momentum : float
        mu >= 0; 0 turns momentum off.
    nesterov : bool
        Look-ahead momentum; needs ``momentum > 0`` (PyTorch's rule).
    weight_decay : float
        lambda >= 0, added to the gradient as lambda p.
    """

    _buffer_names = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.momentum = check_real(momentum, "momentum", "SGD", low=0.0)
        self.weight_decay = check_real(weight_decay, "weight_decay", "SGD", low=0.0)
        if not isinstance(nesterov, bool):
            raise TypeError(f"SGD: nesterov must be a bool; got {nesterov!r}")
        if nesterov and self.momentum <= 0.0:
            raise ValueError(
                f"SGD: nesterov=True requires momentum > 0; got momentum={self.momentum}"
            )
        self.nesterov = nesterov
        # Without momentum there is no buffer to keep (and nothing to save).
        if self.momentum == 0.0:
            self._buffer_names = ()
        super().__init__(params, lr)

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }

    def step(self) -> None:
        """p <- p - eta g, with g adjusted by weight decay and momentum (see the class)."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        first = self.step_count == 0
        buffers = self.momentum_buffer if mu != 0.0 else [None] * len(self.params)
        for p, b, tmp in zip(self.params, buffers, self._scratch):
            g = p.grad
            if wd != 0.0:
                # g = g + lambda p   (into the scratch array: p.grad stays the raw gradient)
                np.multiply(p.value, wd, out=tmp)
                tmp += g
                g = tmp
            if b is not None:
                # b = mu b + g, and b = g on the first step (PyTorch's convention)
                if first:
                    np.copyto(b, g)
                else:
                    b *= mu
                    b += g
                if self.nesterov:
                    # g = g + mu b
                    np.add(g, mu * b, out=tmp)
                    g = tmp
                else:
                    g = b
            # p = p - eta g
            np.multiply(g, lr, out=tmp)
            p.value -= tmp
        self.step_count += 1


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square of past gradients.

    With gradient g, learning rate eta, smoothing alpha, momentum mu::

        g <- g + lambda p                     (optional L2 weight decay)
        v <- alpha v + (1 - alpha) g^2        (v starts at 0)
        p <- p - eta g / (sqrt(v) + eps)      when mu = 0
        b <- mu b + g / (sqrt(v) + eps);  p <- p - eta b     when mu > 0 (b starts at 0)

    exactly as ``torch.optim.RMSprop`` (not centred). See chapter 5.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Learning rate eta >= 0.
    alpha : float
        Smoothing constant in [0, 1].
    eps : float
        eps >= 0, added to sqrt(v) so that the division is safe.
    momentum : float
        mu >= 0.
    weight_decay : float
        lambda >= 0 (keyword only).
    """

    _buffer_names = ("square_avg", "momentum_buffer")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        *,
        weight_decay: float = 0.0,
    ) -> None:
        self.alpha = check_real(alpha, "alpha", "RMSprop", low=0.0, high=1.0)
        self.eps = check_real(eps, "eps", "RMSprop", low=0.0)
        self.momentum = check_real(momentum, "momentum", "RMSprop", low=0.0)
        self.weight_decay = check_real(weight_decay, "weight_decay", "RMSprop", low=0.0)
        if self.momentum == 0.0:
            self._buffer_names = ("square_avg",)
        super().__init__(params, lr)

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "alpha": self.alpha,
            "eps": self.eps,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
        }

    def step(self) -> None:
        """p <- p - eta g / (sqrt(v) + eps), with momentum if set (see the class)."""
        lr, alpha, eps, mu, wd = self.lr, self.alpha, self.eps, self.momentum, self.weight_decay
        buffers = self.momentum_buffer if mu != 0.0 else [None] * len(self.params)
        for p, v, b, tmp in zip(self.params, self.square_avg, buffers, self._scratch):
            g = p.grad
            if wd != 0.0:
                g = g + wd * p.value  # a new array: p.grad stays the raw gradient
            # v = alpha v + (1 - alpha) g^2
            v *= alpha
            np.square(g, out=tmp)
            tmp *= 1.0 - alpha
            v += tmp
            # tmp = g / (sqrt(v) + eps)
            np.sqrt(v, out=tmp)
            tmp += eps
            np.divide(g, tmp, out=tmp)
            if b is not None:
                # b = mu b + g / (sqrt(v) + eps);  p = p - eta b
                b *= mu
                b += tmp
                np.multiply(b, lr, out=tmp)
            else:
                # p = p - eta g / (sqrt(v) + eps)
                tmp *= lr
            p.value -= tmp
        self.step_count += 1


class Adam(Optimizer):
    """Adam [Kingma & Ba 2015], and AdamW [Loshchilov & Hutter 2019] with ``decoupled=True``.

    With gradient g at step t = 1, 2, ...::

        g <- g + lambda p                          (L2 weight decay, decoupled=False)
        p <- p - eta lambda p                      (decoupled weight decay, AdamW)
        m <- beta1 m + (1 - beta1) g               (m, v start at 0)
        v <- beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
        p <- p - eta m_hat / (sqrt(v_hat) + eps)

    exactly as ``torch.optim.Adam`` / ``torch.optim.AdamW``, including the arrangement
    of the last line: p <- p - (eta / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    See chapter 5; chapter 10 explains why decoupled decay differs from L2 under Adam.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Learning rate eta >= 0.
    betas : (float, float)
        (beta1, beta2), each in [0, 1).
    eps : float
        eps >= 0.
    weight_decay : float
        lambda >= 0.
    decoupled : bool
        False: L2 decay added to the gradient (``torch.optim.Adam``); True: decay
        applied to the weights directly (``torch.optim.AdamW``).
    """

    _buffer_names = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2); got {betas!r}")
        self.betas = (
            check_real(betas[0], "betas[0]", "Adam", low=0.0, high=1.0, high_inclusive=False),
            check_real(betas[1], "betas[1]", "Adam", low=0.0, high=1.0, high_inclusive=False),
        )
        self.eps = check_real(eps, "eps", "Adam", low=0.0)
        self.weight_decay = check_real(weight_decay, "weight_decay", "Adam", low=0.0)
        if not isinstance(decoupled, bool):
            raise TypeError(f"Adam: decoupled must be a bool; got {decoupled!r}")
        self.decoupled = decoupled
        super().__init__(params, lr)

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "decoupled": self.decoupled,
        }

    def step(self) -> None:
        """One Adam (or AdamW) update of every parameter (see the class)."""
        self.step_count += 1
        t = self.step_count
        lr, eps, wd = self.lr, self.eps, self.weight_decay
        beta1, beta2 = self.betas
        # The bias corrections are the same for every parameter: compute them once.
        step_size = lr / (1.0 - beta1**t)
        sqrt_bias_correction2 = math.sqrt(1.0 - beta2**t)
        for p, m, v, tmp in zip(self.params, self.exp_avg, self.exp_avg_sq, self._scratch):
            g = p.grad
            if wd != 0.0:
                if self.decoupled:
                    # p = p - eta lambda p, written as torch does: p = (1 - eta lambda) p
                    p.value *= 1.0 - lr * wd
                else:
                    g = g + wd * p.value  # a new array: p.grad stays the raw gradient
            # m = beta1 m + (1 - beta1) g
            m *= beta1
            np.multiply(g, 1.0 - beta1, out=tmp)
            m += tmp
            # v = beta2 v + (1 - beta2) g^2
            v *= beta2
            np.square(g, out=tmp)
            tmp *= 1.0 - beta2
            v += tmp
            # p = p - eta m_hat / (sqrt(v_hat) + eps)
            np.sqrt(v, out=tmp)
            tmp /= sqrt_bias_correction2
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p.value -= tmp
