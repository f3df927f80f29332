"""Layers: the affine map, containers, the identity, residual connections and dropout.

Every layer caches in ``forward`` what its ``backward`` needs, and ``backward`` sits
right under ``forward`` so the two can be read side by side.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nnlab._checks import as_array, as_rng, check_finite, check_positive_int, check_real
from nnlab.init import Initializer, get_initializer
from nnlab.module import Module, Parameter

__all__ = ["Linear", "Sequential", "Identity", "Residual", "Dropout", "mlp"]


def check_grad_out(module: Module, grad_out: Any, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Return ``grad_out`` as an array of ``expected_shape`` (the forward output's), or raise."""
    if not (isinstance(grad_out, np.ndarray) and grad_out.dtype.kind == "f"):
        # Named here, off the hot path: repr(module) costs more than the checks themselves.
        grad_out = as_array(grad_out, f"{module!r}.backward")
    if grad_out.shape != expected_shape:
        raise ValueError(
            f"{module!r}.backward expected grad_out of shape {expected_shape} "
            f"(the shape of the forward output); got {grad_out.shape}"
        )
    return grad_out


class Linear(Module):
    """Affine layer z = W x + b, computed for a batch of rows as ``X @ W.T + b``.

    Parameters
    ----------
    in_features, out_features : int
        Input width d_in and output width d_out.
    bias : bool
        Whether to learn the bias b (initialised to zeros).
    init : str or callable
        Weight initializer: a name from :mod:`nnlab.init` (``"he_uniform"``,
        ``"he_normal"``, ``"xavier_uniform"``, ``"xavier_normal"``, ``"normal"``,
        ``"zeros"``) or a callable ``f(shape, *, rng, dtype)``.
    rng : numpy.random.Generator, int or None
        Source of randomness for the initial weights.
    dtype : numpy dtype
        float64 (default; exact gradient checks) or float32.

    Attributes
    ----------
    weight : Parameter
        W, shape ``(out_features, in_features)``, the book's and PyTorch's layout.
    bias : Parameter or None
        b, shape ``(out_features,)``.

    Shapes: input ``(batch, in_features)``, output ``(batch, out_features)``.
    See chapter 1 (forward) and chapter 4 (backward).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init: str | Initializer = "he_uniform",
        rng: Any = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features", "Linear")
        self.out_features = check_positive_int(out_features, "out_features", "Linear")
        # repr(self) needs self.bias, which does not exist yet while constructing.
        who = f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={bias})"
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{who}: dtype must be a floating type; got {dtype}")
        try:
            initializer = get_initializer(init)
        except ValueError as exc:
            raise ValueError(f"{who}: {exc}") from None
        weight = np.asarray(
            initializer((self.out_features, self.in_features), rng=as_rng(rng, "Linear"), dtype=dtype)
        )
        if weight.shape != (self.out_features, self.in_features):
            raise ValueError(
                f"{who}: init returned shape {weight.shape}; "
                f"expected {(self.out_features, self.in_features)}"
            )
        self.weight = Parameter(weight.astype(dtype, copy=False))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        self._x: np.ndarray | None = None
        self._grad_buffer: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        """z = x W^T + b. x: ``(batch, in_features)`` -> ``(batch, out_features)``."""
        # `self`, not repr(self): the name is formatted only if there is an error (see _checks).
        x = as_array(x, self, dtype=self.weight.dtype)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            hint = " (for one example, use x.reshape(1, -1))" if x.ndim == 1 else ""
            raise ValueError(
                f"{self!r} expected input of shape (batch, {self.in_features}); got {x.shape}{hint}"
            )
        if x.dtype != self.weight.dtype:
            # As in PyTorch: mixing dtypes would silently upcast a float32 network.
            raise TypeError(
                f"{self!r} has {self.weight.dtype} weights and expected {self.weight.dtype} input; "
                f"got {x.dtype}. Convert with x.astype(np.{self.weight.dtype})"
            )
        check_finite(x, self)
        self._x = x
        z = x @ self.weight.value.T
        if self.bias is not None:
            z += self.bias.value  # in place: z is a fresh array
        return z

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dL/dW += g^T x, dL/db += sum of g over the batch; return dL/dx = g W."""
        if self._x is None:
            raise self._no_forward_error()
        g = check_grad_out(self, grad_out, (self._x.shape[0], self.out_features))
        # g^T x goes into a buffer kept from step to step, then is added: a fresh array of
        # the weight's size every step would cost page faults that rival the matmul itself.
        if self._grad_buffer is None:
            self._grad_buffer = np.empty_like(self.weight.grad)
        np.matmul(g.T, self._x, out=self._grad_buffer)
        self.weight.grad += self._grad_buffer
        if self.bias is not None:
            self.bias.grad += g.sum(axis=0)
        return g @ self.weight.value if input_grad else None

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Sequential(Module):
    """Modules applied one after the other: h^(l) = f_l(h^(l-1)).

    Indexable (``net[0]``, ``net[1:]``), has a length, and prints as the architecture.
    ``backward`` runs the layers in reverse, passing each one's input gradient on.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential expected Module arguments; argument {i} is {type(module).__name__}"
                )
        self._layers: list[Module] = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, module in enumerate(self._layers):
            yield str(i), module

    def forward(self, x: Any) -> np.ndarray:
        for module in self._layers:
            x = module(x)
        return x

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """Chain rule through the layers, last to first (chapter 4)."""
        for i in range(len(self._layers) - 1, -1, -1):
            # Only the first layer's input is the network's input, which may be data.
            grad_out = self._layers[i].backward(grad_out, input_grad=input_grad or i > 0)
        return grad_out

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; return self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append expected a Module; got {type(module).__name__}")
        self._layers.append(module)
        return self


class Identity(Module):
    """y = x. A placeholder where a layer is optional (e.g. no normalization)."""

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: Any) -> np.ndarray:
        x = as_array(x, repr(self))
        self._shape = x.shape
        return x

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward_error()
        return check_grad_out(self, grad_out, self._shape) if input_grad else None


class Residual(Module):
    """Residual connection y = x + f(x) around a module f [He et al. 2016].

    The Jacobian is dy/dx = I + df/dx, so the gradient reaching x is the sum of the
    gradient through the skip path (unchanged) and the one through f (chapter 9).

    A block that changes the width cannot add x to f(x). With ``shortcut``, a module
    P on the skip path (He et al.'s "option B" projection, usually
    ``Linear(d_in, d_out, bias=False)``), the block computes y = P(x) + f(x), and the
    gradient reaching x is the sum of the two paths' gradients, P^T g + J_f^T g.

    Parameters
    ----------
    module : Module
        The branch f, ``(batch, d_in)`` -> ``(batch, d_out)``.
    shortcut : Module or None
        The skip path P, ``(batch, d_in)`` -> ``(batch, d_out)``; None (the default)
        is the identity, which requires d_out = d_in.

    Shapes: input ``(batch, d_in)``, output ``(batch, d_out)``. See chapter 9.
    """

    def __init__(self, module: Module, shortcut: Module | None = None) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"Residual expected a Module; got {type(module).__name__}")
        if shortcut is not None and not isinstance(shortcut, Module):
            raise TypeError(
                f"Residual expected shortcut to be a Module or None; got {type(shortcut).__name__}"
            )
        self.module = module
        self.shortcut = shortcut
        self._out_shape: tuple[int, ...] | None = None

    def forward(self, x: Any) -> np.ndarray:
        """y = x + f(x), or P(x) + f(x) with a shortcut. ``(batch, d_in)`` -> ``(batch, d_out)``."""
        x = as_array(x, repr(self))
        fx = self.module(x)
        if self.shortcut is None:
            if fx.shape != x.shape:
                raise ValueError(
                    f"Residual expected its module to keep the input shape {x.shape}; "
                    f"{type(self.module).__name__} returned {fx.shape}. A block that changes "
                    f"the width needs a projection on the skip path, e.g. "
                    f"Residual(module, shortcut=Linear({x.shape[-1]}, {fx.shape[-1]}, bias=False))"
                )
            self._out_shape = x.shape
            return x + fx
        px = self.shortcut(x)
        if px.shape != fx.shape:
            raise ValueError(
                f"Residual expected its shortcut and its module to return the same shape; "
                f"{type(self.shortcut).__name__} returned {px.shape} and "
                f"{type(self.module).__name__} returned {fx.shape} for input {x.shape}"
            )
        self._out_shape = fx.shape
        return px + fx

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx = g + J_f^T g, or P^T g + J_f^T g with a shortcut: the two paths add up."""
        if self._out_shape is None:
            raise self._no_forward_error()
        grad_out = check_grad_out(self, grad_out, self._out_shape)
        grad_through_f = self.module.backward(grad_out, input_grad=input_grad)
        if self.shortcut is None:
            grad_through_skip = grad_out  # the identity path: dy/dx = I
        else:
            # P^T g; P's own parameters get their gradients even when dL/dx is not wanted.
            grad_through_skip = self.shortcut.backward(grad_out, input_grad=input_grad)
        if not input_grad:
            return None
        return grad_through_skip + grad_through_f


class Dropout(Module):
    """Inverted dropout [Srivastava et al. 2014]: zero each unit with probability p.

    In training, y = x * m / (1 - p) with m_i ~ Bernoulli(1 - p), so E[y] = x and
    nothing needs rescaling at test time; in eval mode y = x (chapter 10).
    Matches ``torch.nn.Dropout``; with p = 1 every unit is dropped and y = 0.

    Parameters
    ----------
    p : float
        Drop probability, in [0, 1].
    rng : numpy.random.Generator, int or None
        Source of the masks.
    """

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        super().__init__()
        self.p = check_real(p, "p", "Dropout", low=0.0, high=1.0)
        self.rng = as_rng(rng, "Dropout")
        self._mask: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: Any) -> np.ndarray:
        x = as_array(x, repr(self))
        self._shape = x.shape
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        self._mask = keep.astype(x.dtype) * x.dtype.type(scale)
        return x * self._mask

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        if self._shape is None:
            raise self._no_forward_error()
        if not input_grad:
            return None
        # Checked because broadcasting would otherwise accept, say, (batch, 1) silently.
        grad_out = check_grad_out(self, grad_out, self._shape)
        return grad_out if self._mask is None else grad_out * self._mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


_ACTIVATIONS = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "gelu": "GELU",
}


def _make_activation(activation: str | type[Module]) -> Module:
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation()
    if activation == "identity":
        return Identity()
    if activation in _ACTIVATIONS:
        from nnlab import activations  # imported here: activations builds on this module

        return getattr(activations, _ACTIVATIONS[activation])()
    raise ValueError(
        f"mlp: activation must be one of {sorted([*_ACTIVATIONS, 'identity'])} or a Module class; "
        f"got {activation!r}"
    )


def _make_norm(norm: str | None, width: int, dtype: Any) -> Module | None:
    if norm is None or norm == "none":
        return None
    from nnlab import normalization  # imported here: normalization builds on this module

    if norm == "batch":
        return normalization.BatchNorm1d(width, dtype=dtype)
    if norm == "layer":
        return normalization.LayerNorm(width, dtype=dtype)
    raise ValueError(f"mlp: norm must be None, 'batch' or 'layer'; got {norm!r}")


def mlp(
    sizes: Sequence[int],
    activation: str | type[Module] = "relu",
    *,
    init: str | Initializer = "he_uniform",
    norm: str | None = None,
    residual: bool = False,
    dropout: float = 0.0,
    rng: Any = None,
    dtype: Any = np.float64,
) -> Sequential:
    """Build a multilayer perceptron with widths ``sizes = [d_0, d_1, ..., d_L]``.

    Each hidden layer is ``Linear -> [norm] -> activation -> [Dropout]``; the last layer
    is a plain ``Linear`` (the loss applies softmax or sigmoid where one is needed).
    With ``residual=True``, every hidden layer whose input and output widths agree
    becomes a pre-norm residual block ``x + activation(Linear(norm(x)))`` (chapter 9);
    the first and last layers, which change the width, stay plain.

    Parameters
    ----------
    sizes : sequence of int
        Widths from input to output; at least two entries.
    activation : str or Module class
        ``"relu"``, ``"leaky_relu"``, ``"sigmoid"``, ``"tanh"``, ``"gelu"``,
        ``"identity"`` or a Module class called with no arguments.
    init : str or callable
        Weight initializer of every Linear (see :mod:`nnlab.init`).
    norm : {None, "batch", "layer"}
        Normalization of hidden layers (chapter 8).
    residual : bool
        Wrap equal-width hidden layers in :class:`Residual` blocks.
    dropout : float
        Dropout probability after each hidden activation (0 for none).
    rng : numpy.random.Generator, int or None
        One generator is shared by all layers, so a seed fixes the whole network.
    dtype : numpy dtype
        float64 or float32.

    Returns
    -------
    Sequential
        The network; input ``(batch, d_0)``, output ``(batch, d_L)``.
    """
    sizes = [check_positive_int(n, "sizes[i]", "mlp") for n in sizes]
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes must list at least an input and an output width; got {sizes}")
    # Validated here too: with no hidden layer they would otherwise never be looked at.
    _make_activation(activation)
    _make_norm(norm, 1, dtype)
    dropout = check_real(dropout, "dropout", "mlp", low=0.0, high=1.0)
    gen = as_rng(rng, "mlp")
    layers: list[Module] = []
    last = len(sizes) - 2
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = Linear(d_in, d_out, init=init, rng=gen, dtype=dtype)
        if i == last:
            layers.append(linear)
            break
        if residual and 0 < i and d_in == d_out:
            pre_norm = _make_norm(norm, d_in, dtype)
            block = [m for m in (pre_norm, linear, _make_activation(activation)) if m is not None]
            layers.append(Residual(Sequential(*block)))
        else:
            layers.append(linear)
            norm_layer = _make_norm(norm, d_out, dtype)
            if norm_layer is not None:
                layers.append(norm_layer)
            layers.append(_make_activation(activation))
        if dropout > 0.0:
            layers.append(Dropout(dropout, rng=gen))
    return Sequential(*layers)
