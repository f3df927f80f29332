"""Sphinx extension of the nnlab book: puts the installed nnlab version on the pages.

The landing page says which nnlab the book was built with through the MyST
substitution ``{{ nnlab_version }}``, taken from ``nnlab.__version__`` at build time, so
it cannot go stale. Loaded by _config.yml (``sphinx: local_extensions``).
"""

from __future__ import annotations

from typing import Any

import nnlab


def _set_version(app: Any, config: Any) -> None:
    substitutions = dict(config.myst_substitutions or {})
    substitutions["nnlab_version"] = nnlab.__version__
    config.myst_substitutions = substitutions


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _set_version)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": nnlab.__version__}
