"""nnlab: the small numpy neural-network package that the nnlab book builds up.

Names and semantics follow PyTorch, so that what a reader learns here carries over:
``nnlab.Linear``, ``nnlab.Sequential``, ``nnlab.ReLU``, ``nnlab.CrossEntropyLoss``,
``nnlab.optim.Adam`` and so on. The book's last chapter maps each concept to its module.
"""

__version__ = "0.1.0"


def require(version: str) -> str:
    """Check that the installed nnlab is the one a notebook was written for.

    Each notebook of the book starts with ``nnlab.require("0.1")``: the installed
    nnlab must have the same major and minor version (``0.1.x``). Returns a line
    naming the installed version, which the notebook shows.

    Raises
    ------
    ImportError
        With the installed and the expected version and how to fix it.
    """
    wanted = tuple(str(version).split(".")[:2])
    installed = tuple(__version__.split(".")[:2])
    if len(wanted) != 2 or wanted != installed:
        raise ImportError(
            f"This notebook was written for nnlab {'.'.join(wanted)}.x, but nnlab {__version__} "
            "is installed. From the book's repository run `python -m pip install -e .` "
            "(or check out the version of the book that matches your nnlab)."
        )
    return f"nnlab {__version__}"

# Sub-modules used as namespaces, as in PyTorch: nnlab.init.he_normal, nnlab.optim.Adam, ...
from nnlab import (  # noqa: E402
    data,
    datasets,
    diagnostics,
    examples,
    gradcheck,
    init,
    optim,
    regularization,
    train,
)
from nnlab._checks import NonFiniteError  # noqa: E402
from nnlab.activations import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh  # noqa: E402
from nnlab.clip import clip_grad_norm_  # noqa: E402
from nnlab.layers import Dropout, Identity, Linear, Residual, Sequential, mlp  # noqa: E402
from nnlab.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss  # noqa: E402
from nnlab.module import Module, Parameter  # noqa: E402
from nnlab.normalization import BatchNorm1d, LayerNorm  # noqa: E402
from nnlab.regularization import l1_penalty, max_norm_  # noqa: E402
from nnlab.train import DivergenceError, History, fit  # noqa: E402

__all__ = [
    "__version__",
    "require",
    # building blocks
    "Parameter",
    "Module",
    "Linear",
    "Sequential",
    "Identity",
    "Residual",
    "Dropout",
    "mlp",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "Softmax",
    "BatchNorm1d",
    "LayerNorm",
    "MSELoss",
    "CrossEntropyLoss",
    "BCEWithLogitsLoss",
    # training
    "fit",
    "History",
    "DivergenceError",
    "NonFiniteError",
    "clip_grad_norm_",
    "l1_penalty",
    "max_norm_",
    # sub-modules
    "data",
    "datasets",
    "diagnostics",
    "examples",
    "gradcheck",
    "init",
    "optim",
    "regularization",
    "train",
]

# These pull in matplotlib or ipywidgets, so they load on first use (PEP 562):
# ``nnlab.plot.plot_history(...)`` works without an explicit import.
_LAZY = ("plot", "widgets", "explore", "exercises")


def __getattr__(name: str):  # noqa: ANN202
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"nnlab.{name}")
    raise AttributeError(f"module 'nnlab' has no attribute {name!r}")
