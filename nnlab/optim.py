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
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nnlab._checks import check_positive_int, check_real
from nnlab.module import Parameter

__all__ = [
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adam",
    "LRScheduler",
    "StepLR",
    "CosineAnnealingLR",
    "LinearLR",
    "SequentialLR",
]


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
        # The lr before any schedule touched it: set by the first LRScheduler attached
        # (PyTorch keeps it as param_group["initial_lr"]).
        self.initial_lr: float | None = None
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
        u <- mu u + g                     (velocity, ``momentum_buffer``; u = g on the first step)
        g <- g + mu u  if nesterov else  g <- u
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
        Look-ahead momentum; needs ``momentum > 0`` (PyTorch's rule). The form above is
        the look-ahead step theta - eta mu u, rewritten in the shifted variable (chapter 5).
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
        for p, u, tmp in zip(self.params, buffers, self._scratch):
            g = p.grad
            if wd != 0.0:
                # g = g + lambda p   (into the scratch array: p.grad stays the raw gradient)
                np.multiply(p.value, wd, out=tmp)
                tmp += g
                g = tmp
            if u is not None:
                # u = mu u + g, and u = g on the first step (PyTorch's convention)
                if first:
                    np.copyto(u, g)
                else:
                    u *= mu
                    u += g
                if self.nesterov:
                    # g = g + mu u
                    np.add(g, mu * u, out=tmp)
                    g = tmp
                else:
                    g = u
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
        u <- mu u + g / (sqrt(v) + eps);  p <- p - eta u     when mu > 0 (u starts at 0)

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
        for p, v, u, tmp in zip(self.params, self.square_avg, buffers, self._scratch):
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
            if u is not None:
                # u = mu u + g / (sqrt(v) + eps);  p = p - eta u
                u *= mu
                u += tmp
                np.multiply(u, lr, out=tmp)
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


# --- learning-rate schedules -------------------------------------------------------------


class LRScheduler:
    """Base class: changes ``optimizer.lr`` once per :meth:`step`, as ``torch.optim.lr_scheduler``.

    Call ``scheduler.step()`` once per epoch, AFTER that epoch's ``optimizer.step()``
    calls (PyTorch's order). ``last_epoch`` counts the scheduler's steps: it is 0 right
    after construction, and the lr used during epoch ``e = 0, 1, ...`` is the one set when
    ``last_epoch`` was ``e``. The first scheduler attached records ``optimizer.initial_lr``
    (the base rate eta_base of every formula below).

    Like PyTorch, each subclass computes the new rate from the CURRENT ``optimizer.lr``
    (:meth:`get_lr`, the "chainable" form), so that schedules compose and follow an lr
    that someone else changed; :meth:`_closed_form_lr` is the textbook formula in
    ``last_epoch``, which the chainable form equals up to rounding. See chapter 5.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__} expected an nnlab optimizer (e.g. nnlab.optim.SGD); "
                f"got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        if optimizer.initial_lr is None:
            optimizer.initial_lr = optimizer.lr
        self.base_lr: float = optimizer.initial_lr
        self.last_epoch: int = -1
        self._initial_step()

    def _initial_step(self) -> None:
        # The step taken at construction, which sets the rate of epoch 0.
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> float:
        """The rate for ``last_epoch``, computed from the current ``optimizer.lr``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def _closed_form_lr(self) -> float:
        """The rate for ``last_epoch``, computed from ``base_lr`` alone."""
        raise NotImplementedError(f"{type(self).__name__} must implement _closed_form_lr()")

    def step(self) -> None:
        """Advance one epoch: ``last_epoch += 1`` and set ``optimizer.lr`` for it."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        # epoch given: jump there with the closed form (SequentialLR restarts a schedule at 0)
        if epoch is None:
            self.last_epoch += 1
            lr = self.get_lr()
        else:
            self.last_epoch = epoch
            lr = self._closed_form_lr()
        self.optimizer.lr = lr
        self._last_lr = [lr]

    def get_last_lr(self) -> list[float]:
        """The rate set by the last step, as a one-element list (PyTorch has one per group)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer: ``last_epoch``, the settings and the last rate."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the optimizer's lr is restored by its own)."""
        unknown = set(state) - set(vars(self))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: unexpected keys {sorted(unknown)}"
            )
        vars(self).update(state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.optimizer.lr:g})"


class StepLR(LRScheduler):
    """Step decay: multiply the rate by ``gamma`` every ``step_size`` epochs.

    eta_e = eta_base gamma^(floor(e / step_size)), as ``torch.optim.lr_scheduler.StepLR``
    (the book writes q for ``gamma``, a letter it keeps for normalization's scale).
    See chapter 5.

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        Epochs between two decays, >= 1.
    gamma : float
        Factor of each decay, >= 0 (0.1: ten times smaller).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_positive_int(step_size, "step_size", "StepLR")
        self.gamma = check_real(gamma, "gamma", "StepLR", low=0.0)
        super().__init__(optimizer)

    def get_lr(self) -> float:
        lr = self.optimizer.lr
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lr
        return lr * self.gamma

    def _closed_form_lr(self) -> float:
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from eta_base down to ``eta_min`` over ``T_max`` epochs.

    eta_e = eta_min + (eta_base - eta_min) (1 + cos(pi e / T_max)) / 2, as
    ``torch.optim.lr_scheduler.CosineAnnealingLR``: the rate reaches eta_min at
    e = T_max and, if stepped further, rises again along the same cosine (period 2 T_max).
    Computed like PyTorch from the current rate, as the ratio of consecutive closed-form
    values; at e = T_max + 1 (mod 2 T_max), where that ratio would divide by zero, the
    closed-form increment is added instead. See chapter 5.

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        Epochs of one half period, >= 1.
    eta_min : float
        The lowest rate, >= 0.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = check_positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = check_real(eta_min, "eta_min", "CosineAnnealingLR", low=0.0)
        super().__init__(optimizer)

    def get_lr(self) -> float:
        lr, e, T, low = self.optimizer.lr, self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return lr  # epoch 0 runs at the rate the optimizer has
        if (e - 1 - T) % (2 * T) == 0:
            # Just past the bottom: 1 + cos(pi (e - 1) / T) = 0, so add the increment.
            return lr + (self.base_lr - low) * (1 - math.cos(math.pi / T)) / 2
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return ratio * (lr - low) + low

    def _closed_form_lr(self) -> float:
        e, T, low = self.last_epoch, self.T_max, self.eta_min
        return low + (self.base_lr - low) * (1 + math.cos(math.pi * e / T)) / 2


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): scale the rate from ``start_factor`` to ``end_factor``.

    eta_e = eta_base (f0 + (f1 - f0) min(e, total_iters) / total_iters), with f0 = start_factor,
    f1 = end_factor, as ``torch.optim.lr_scheduler.LinearLR``; constant after
    ``total_iters`` epochs. See chapter 5.

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float
        Factor of the first epoch, in (0, 1].
    end_factor : float
        Factor from epoch ``total_iters`` on, in [0, 1].
    total_iters : int
        Epochs of the ramp, >= 1.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ) -> None:
        self.start_factor = check_real(
            start_factor, "start_factor", "LinearLR", low=0.0, high=1.0, low_inclusive=False
        )
        self.end_factor = check_real(end_factor, "end_factor", "LinearLR", low=0.0, high=1.0)
        self.total_iters = check_positive_int(total_iters, "total_iters", "LinearLR")
        super().__init__(optimizer)

    def get_lr(self) -> float:
        lr, e = self.optimizer.lr, self.last_epoch
        f0, f1, n = self.start_factor, self.end_factor, self.total_iters
        if e == 0:
            return lr * f0
        if e > n:
            return lr
        # the ratio of consecutive factors (f0 + (f1 - f0) e / n) / (f0 + (f1 - f0) (e - 1) / n)
        return lr * (1.0 + (f1 - f0) / (n * f0 + (e - 1) * (f1 - f0)))

    def _closed_form_lr(self) -> float:
        f0, f1, n = self.start_factor, self.end_factor, self.total_iters
        return self.base_lr * (f0 + (f1 - f0) * min(n, self.last_epoch) / n)


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the epochs in ``milestones``.

    ``SequentialLR(opt, [LinearLR(opt, ...), CosineAnnealingLR(opt, ...)], milestones=[5])``
    warms up for 5 epochs, then starts the cosine at its epoch 0 (the base rate), as
    ``torch.optim.lr_scheduler.SequentialLR``. Construct the inner schedulers first, on
    the same optimizer; SequentialLR undoes the first step they each took. See chapter 5.

    Parameters
    ----------
    optimizer : Optimizer
    schedulers : sequence of LRScheduler
        At least one, all on ``optimizer``.
    milestones : sequence of int
        ``len(schedulers) - 1`` increasing epochs >= 1: scheduler ``i + 1`` takes over at
        epoch ``milestones[i]``.
    """

    def __init__(
        self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int]
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"SequentialLR expected an nnlab optimizer; got {type(optimizer).__name__}"
            )
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR expected at least one scheduler; got none")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(
                    f"SequentialLR expected LRSchedulers; schedulers[{i}] is {type(s).__name__}"
                )
            if s.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR expected every scheduler on the same optimizer; "
                    f"schedulers[{i}] ({type(s).__name__}) is on another one"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR expected {len(schedulers) - 1} milestone(s) (one fewer than the "
                f"{len(schedulers)} schedulers); got {len(milestones)}"
            )
        for i, m in enumerate(milestones):
            check_positive_int(m, f"milestones[{i}]", "SequentialLR")
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"SequentialLR expected increasing milestones; got {milestones}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = 0
        # Each inner scheduler already took its first step when it was built: reset the
        # rate and undo those steps, then let the first scheduler take its first step.
        optimizer.lr = optimizer.initial_lr
        for s in schedulers:
            _undo_initial_step(s)
        schedulers[0]._initial_step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self) -> None:
        """Advance one epoch with the scheduler in charge; a new one starts at its epoch 0."""
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """Its own ``last_epoch`` and milestones, and each inner scheduler's state."""
        state = {k: v for k, v in vars(self).items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        state = dict(state)
        inner = state.pop("_schedulers", None)
        if inner is None or len(inner) != len(self._schedulers):
            raise ValueError(
                f"SequentialLR.load_state_dict expected states of {len(self._schedulers)} schedulers"
            )
        super().load_state_dict(state)
        for s, st in zip(self._schedulers, inner):
            s.load_state_dict(st)


def _undo_initial_step(scheduler: LRScheduler) -> None:
    """Take back the step a scheduler made when it was built (PyTorch's recursive_undo)."""
    if isinstance(scheduler, SequentialLR):
        for s in scheduler._schedulers:
            _undo_initial_step(s)
    else:
        scheduler.last_epoch -= 1
