"""Parameters and modules: the two building blocks of every network in nnlab.

A :class:`Parameter` is an array the optimizer may change, with the gradient of the
loss with respect to it. A :class:`Module` maps an input to an output in ``forward``
and, in ``backward``, turns the gradient of the loss with respect to its output into
the gradient with respect to its input, adding its parameters' gradients on the way.
See chapter 4 (Backpropagation) for the derivation, and chapter 1 for the forward pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["Parameter", "Module"]


class Parameter:
    """A trainable array and the gradient of the loss with respect to it.

    Parameters
    ----------
    value : array_like
        The initial value; stored as a floating-point numpy array.

    Attributes
    ----------
    value : np.ndarray
        The current value, any shape.
    grad : np.ndarray
        dL/d(value), same shape and dtype as ``value``; starts at zeros and is
        *accumulated* (``+=``) by ``backward``, as in PyTorch.
    """

    def __init__(self, value: Any) -> None:
        value = np.asarray(value)
        if value.dtype.kind != "f":
            value = value.astype(np.float64)
        self.value: np.ndarray = value
        self.grad: np.ndarray = np.zeros_like(value)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``value`` (and of ``grad``)."""
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``value`` (and of ``grad``)."""
        return self.value.dtype

    @property
    def size(self) -> int:
        """The number of scalars in ``value``."""
        return self.value.size

    def zero_grad(self) -> None:
        """Set the gradient to zero, in place (optimizers hold references to it)."""
        self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of layers and networks.

    Subclasses implement ``forward(x)``, which caches what the backward pass needs,
    and ``backward(grad_out, input_grad=True)``, which ADDS dL/dp into ``p.grad`` for
    each parameter ``p`` and returns dL/dx (or None when ``input_grad`` is False: the
    input of a network is data, whose gradient nobody needs).

    Parameters and sub-modules are found by walking the attributes, in the order they
    were assigned, so ``named_parameters()`` gives names such as ``"0.weight"``.
    Buffers (state that is saved but not trained, such as batch-norm running
    statistics) are plain numpy arrays whose attribute names a subclass lists in
    ``_buffer_names``.
    """

    _buffer_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.training: bool = True

    # --- the computation -------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for input ``x``, caching what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Given dL/d(output), add dL/dp into every ``p.grad`` and return dL/d(input)."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_out)")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _no_forward_error(self) -> RuntimeError:
        """The error every ``backward`` raises when no ``forward`` came before it."""
        return RuntimeError(
            f"{self!r}: backward() called before forward(); run the forward pass first "
            "(it caches the values the backward pass needs)"
        )

    # --- walking the tree ----------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for each direct sub-module, in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        """Yield each direct sub-module."""
        for _, module in self.named_children():
            yield module

    def modules(self) -> Iterator[Module]:
        """Yield this module and every module below it, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` for every parameter, e.g. ``("0.weight", p)``."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix=f"{prefix}{name}.")

    def parameters(self) -> list[Parameter]:
        """Return every parameter of this module and its sub-modules, as a list."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(dotted_name, array)`` for every buffer (saved, not trained)."""
        for name in self._buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix=f"{prefix}{name}.")

    def num_parameters(self) -> int:
        """The number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    # --- state -----------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Put this module and all below it in training mode (or eval mode); return self."""
        if not isinstance(mode, bool):
            raise TypeError(f"{type(self).__name__}.train: mode must be a bool; got {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Put this module and all below it in evaluation mode; return self."""
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Return copies of every parameter value and buffer, keyed by dotted name."""
        state = {name: p.value.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy values from ``state`` (as made by :meth:`state_dict`) into this module.

        Values are copied *into* the existing arrays, so optimizers that hold
        references to the parameters keep working. Missing or unexpected keys and
        shape mismatches raise a ValueError that lists them.
        """
        targets: dict[str, np.ndarray] = {name: p.value for name, p in self.named_parameters()}
        targets.update(self.named_buffers())
        missing = sorted(set(targets) - set(state))
        unexpected = sorted(set(state) - set(targets))
        if missing or unexpected:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: keys do not match; "
                f"missing {missing}, unexpected {unexpected}"
            )
        for name, target in targets.items():
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: {name!r} expected shape "
                    f"{target.shape}; got {value.shape}"
                )
        for name, target in targets.items():
            np.copyto(target, state[name])

    # --- printing --------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown inside the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)
