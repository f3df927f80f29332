"""nnlab: the small numpy neural-network package that the nnlab book builds up.

Names and semantics follow PyTorch, so that what a reader learns here carries over:
``nnlab.Linear``, ``nnlab.Sequential``, ``nnlab.ReLU``, ``nnlab.CrossEntropyLoss``,
``nnlab.optim.Adam`` and so on. See ../DESIGN of the book for the map of modules.
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

from nnlab import init, optim  # noqa: E402  (sub-modules used as namespaces: nnlab.init.he_normal)
from nnlab._checks import *  # noqa: E402,F401,F403
from nnlab.activations import *  # noqa: E402,F401,F403
from nnlab.layers import *  # noqa: E402,F401,F403
from nnlab.losses import *  # noqa: E402,F401,F403
from nnlab.module import *  # noqa: E402,F401,F403
from nnlab.normalization import *  # noqa: E402,F401,F403
