"""nnlab: the small numpy neural-network package that the nnlab book builds up.

Names and semantics follow PyTorch, so that what a reader learns here carries over:
``nnlab.Linear``, ``nnlab.Sequential``, ``nnlab.ReLU``, ``nnlab.CrossEntropyLoss``,
``nnlab.optim.Adam`` and so on. See ../DESIGN of the book for the map of modules.
"""

__version__ = "0.1.0"

from nnlab import init, optim  # noqa: E402  (sub-modules used as namespaces: nnlab.init.he_normal)
from nnlab._checks import *  # noqa: E402,F401,F403
from nnlab.activations import *  # noqa: E402,F401,F403
from nnlab.layers import *  # noqa: E402,F401,F403
from nnlab.losses import *  # noqa: E402,F401,F403
from nnlab.module import *  # noqa: E402,F401,F403
from nnlab.normalization import *  # noqa: E402,F401,F403
