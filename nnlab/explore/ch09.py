"""Chapter 9: residual connections, seen on the deep network of chapters 6-9.

Two explorers and the network of the chapter's recipe.

- :func:`gradient_flow` / :func:`draw_gradient_flow`: the per-layer gradient norms of
  the plain network of :func:`nnlab.explore.ch06.deep_network` and of the same network
  with residual connections, side by side, for a choice of depth, activation and
  normalization (the initialization is the one chapter 7 pairs with the activation).
- :func:`path_contributions` / :func:`draw_paths`: the path view of backpropagation
  through L residual blocks. The gradient reaching the input,

      dL/dx_0 = (I + J_1)^T (I + J_2)^T ... (I + J_L)^T g,

  expands into 2^L products, one per subset of the blocks (a *path*); grouped by the
  number k of branches a path goes through, a term of length k is a sum of C(L, k)
  products of k Jacobians. A plain network has only the term k = L.
- :func:`recipe_network`: pre-norm residual blocks with He init and LayerNorm (chapters
  7-9), plus a LayerNorm before the classifier.

See chapter 9.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from typing import Any

import numpy as np

from nnlab._checks import as_rng, check_positive_int, check_real
from nnlab.explore.ch06 import ACTIVATIONS, NORMS, LayerProfile, deep_network, layer_profile
from nnlab.layers import Sequential
from nnlab.normalization import LayerNorm

__all__ = [
    "MATCHING_INIT",
    "FlowComparison",
    "PathProfile",
    "draw_gradient_flow",
    "draw_paths",
    "gradient_flow",
    "path_contributions",
    "recipe_network",
]

#: The initialization chapter 7 pairs with each activation (a key of ch06.INITS).
MATCHING_INIT = {"sigmoid": "Xavier", "tanh": "Xavier", "relu": "He"}


@dataclass(frozen=True)
class FlowComparison:
    """The plain and the residual network of :func:`gradient_flow`, measured the same way."""

    plain: LayerProfile
    residual: LayerProfile


def gradient_flow(
    depth: int = 50, activation: str = "relu", norm: str = "none", *, n: int = 256
) -> FlowComparison:
    """One forward and backward pass of the plain and of the residual deep network.

    Both are :func:`nnlab.explore.ch06.deep_network` with the same depth, activation,
    normalization and seed (hence the same first and last layers), initialized as
    :data:`MATCHING_INIT` says; they differ only in ``residual``. Measured on the batch
    of :func:`nnlab.explore.ch06.digits_batch` by :func:`nnlab.explore.ch06.layer_profile`.

    Parameters
    ----------
    depth : int
        Number of Linear layers (>= 3, so that there is at least one residual block).
    activation : {"sigmoid", "tanh", "relu"}
    norm : {"none", "batch", "layer"}
    n : int
        Batch size.

    Returns
    -------
    FlowComparison
        ``plain`` and ``residual`` profiles; ``.grad_norms`` has shape ``(depth,)``.
        See chapter 9.
    """
    depth = check_positive_int(depth, "depth", "gradient_flow", minimum=3)
    if activation not in ACTIVATIONS:
        raise ValueError(f"gradient_flow expected activation in {list(ACTIVATIONS)}; got {activation!r}")
    if norm not in NORMS:
        raise ValueError(f"gradient_flow expected norm in {list(NORMS)}; got {norm!r}")
    init = MATCHING_INIT[activation]
    return FlowComparison(
        plain=layer_profile(depth, activation, init, norm, False, n=n),
        residual=layer_profile(depth, activation, init, norm, True, n=n),
    )


def draw_gradient_flow(
    ax: Any, depth: int = 50, activation: str = "relu", norm: str = "none"
) -> FlowComparison:
    """Per-layer gradient norms ||dL/dW_l||_F of the plain and residual network on one Axes.

    Log scale, layer 1 (input) to ``depth`` (output); the legend gives each network's
    ratio first/last and its verdict (:func:`nnlab.explore.ch06.diagnose`). Returns what
    was drawn. See chapter 9.
    """
    flow = gradient_flow(depth, activation, norm)
    layers = np.arange(1, depth + 1)
    for profile, label, color, style, marker in [(flow.plain, "plain", "#D55E00", "--", "o"),
                                                 (flow.residual, "residual", "#0072B2", "-", "s")]:
        # A log axis cannot show an exact 0 (nothing in this grid produces one, but a
        # user's own setting might): leave such points out rather than fail.
        norms = np.where(profile.grad_norms > 0, profile.grad_norms, np.nan)
        ax.plot(layers, norms, marker=marker, markersize=3, color=color, linestyle=style,
                label=f"{label}: ratio {profile.ratio:.1e}, {profile.verdict}")
    ax.set_yscale("log")
    ax.set_xlabel("Linear layer l (input to output)")
    ax.set_ylabel(r"$\|\partial \mathcal{L} / \partial W^{(l)}\|_F$")
    init = MATCHING_INIT[activation]
    norm_name = "no norm" if norm == "none" else f"{norm} norm"
    ax.set_title(f"depth {depth}, {activation} + {init}, {norm_name}", fontsize="medium")
    ax.legend(fontsize="small")
    return flow


@dataclass(frozen=True)
class PathProfile:
    """What :func:`path_contributions` computed.

    Attributes
    ----------
    lengths : np.ndarray, shape (depth + 1,)
        k = 0, 1, ..., depth: the number of residual branches a path goes through.
    norms : np.ndarray, shape (depth + 1,)
        ||sum of the C(depth, k) paths of length k, applied to g||, for each k.
    expected : np.ndarray, shape (depth + 1,)
        Its root-mean-square over random Jacobians: sqrt(C(depth, k)) * gain^k * ||g||.
    total : float
        ||dL/dx_0|| of the residual stack, prod_l (I + J_l)^T g, computed directly.
    plain : float
        ||dL/dx_0|| of the plain stack, prod_l J_l^T g (the k = depth term alone).
    """

    depth: int
    gain: float
    lengths: np.ndarray
    norms: np.ndarray
    expected: np.ndarray
    total: float
    plain: float


def path_contributions(
    depth: int = 50, gain: float = 0.5, *, width: int = 32, seed: int = 0
) -> PathProfile:
    """Split the gradient through ``depth`` residual blocks by path length.

    Each branch Jacobian J_l is a random (width, width) matrix with independent entries
    N(0, gain^2 / width), so that ||J_l^T v|| ~ gain ||v||: gain 1 is a branch that
    keeps the gradient's size (as He init does for ReLU), gain < 1 one that shrinks it.
    With g a random unit vector (dL/dx_L), the term of length k is

        A_k = sum over l_1 < ... < l_k of J_{l_1}^T ... J_{l_k}^T g,

    computed without enumerating the 2^depth paths by the recursion
    A_k <- A_k + J_l^T A_{k-1}, for l = depth down to 1. Independence gives
    E ||A_k||^2 = C(depth, k) gain^(2k) and E ||dL/dx_0||^2 = (1 + gain^2)^depth,
    against gain^(2 depth) for the plain stack.

    Parameters
    ----------
    depth : int
        Number of residual blocks L.
    gain : float
        Scale of every branch Jacobian, >= 0 (the branch gain kappa of chapter 9).
    width : int
        Width of the representation.
    seed : int
        Seed of the Jacobians and of g.

    Returns
    -------
    PathProfile
        See chapter 9.
    """
    depth = check_positive_int(depth, "depth", "path_contributions")
    width = check_positive_int(width, "width", "path_contributions")
    gain = check_real(gain, "gain", "path_contributions", low=0.0)
    gen = as_rng(seed, "path_contributions")
    jacobians = gen.normal(scale=gain / np.sqrt(width), size=(depth, width, width))
    g = gen.normal(size=width)
    g /= np.linalg.norm(g)

    terms = np.zeros((depth + 1, width))
    terms[0] = g
    total = g.copy()
    for l in range(depth - 1, -1, -1):
        J = jacobians[l]
        # Longest terms first, so that each A_{k-1} is still the one before block l.
        terms[1:] = terms[1:] + terms[:-1] @ J
        total = total + total @ J  # (I + J)^T g as a row vector: g + J^T g
    plain = g.copy()
    for l in range(depth - 1, -1, -1):
        plain = plain @ jacobians[l]

    lengths = np.arange(depth + 1)
    expected = np.array([np.sqrt(float(comb(depth, k))) * gain ** k for k in lengths])
    return PathProfile(
        depth=depth, gain=gain, lengths=lengths, norms=np.linalg.norm(terms, axis=1),
        expected=expected, total=float(np.linalg.norm(total)), plain=float(np.linalg.norm(plain)),
    )


def draw_paths(ax: Any, depth: int = 50, gain: float = 0.5) -> PathProfile:
    """Bars: the size of the gradient carried by the paths of each length k; line: its expectation.

    Log scale. The title gives ||dL/dx_0|| through the residual stack and through the
    plain one (the bar at k = depth alone). Returns what was drawn. See chapter 9.
    """
    profile = path_contributions(depth, gain)
    # Paths through no branch at gain 0 aside, a bar of exactly 0 cannot be shown on a log axis.
    heights = np.where(profile.norms > 0, profile.norms, np.nan)
    ax.bar(profile.lengths, heights, width=0.8, color="#56B4E9", label="measured")
    expected = np.where(profile.expected > 0, profile.expected, np.nan)
    ax.plot(profile.lengths, expected, color="k", lw=1,
            label=r"$\sqrt{\binom{L}{k}}\,\kappa^k$ (root mean square)")
    # Hatched as well as coloured, so the plain network's bar stands out without colour.
    ax.bar([depth], [profile.plain if profile.plain > 0 else np.nan], width=0.8, color="#D55E00",
           hatch="///", edgecolor="k", label="k = L: the plain network's only path")
    ax.set_yscale("log")
    ax.set_xlabel("path length k (residual branches on the path)")
    ax.set_ylabel("size of the paths' gradient")
    ax.set_title(f"L = {depth}, gain κ = {gain:g}: residual {profile.total:.3g}, plain {profile.plain:.3g}",
                 fontsize="medium")
    ax.legend(fontsize="x-small", loc="best")
    return profile


def recipe_network(depth: int = 50, *, final_norm: bool = True, width: int = 32,
                   rng: Any = 0) -> Sequential:
    """The chapter's recipe: He init, pre-norm residual blocks, LayerNorm before the output.

    ``deep_network(depth, "relu", "He", "layer", residual=True)`` (blocks
    ``x + relu(Linear(LayerNorm(x)))``), with, if ``final_norm``, a ``LayerNorm(width)``
    inserted before the last Linear: the residual stream sums one branch per block, so
    its scale grows with depth, and the classifier should see it normalized.

    Returns
    -------
    Sequential
        Input ``(batch, 64)``, output ``(batch, 10)``. See chapter 9.
    """
    body = deep_network(depth, "relu", "He", "layer", residual=True, width=width, rng=rng)
    if not final_norm:
        return body
    *blocks, head = body
    return Sequential(*blocks, LayerNorm(head.in_features), head)
