"""Sphinx extension of the nnlab book, loaded by _config.yml (``sphinx: local_extensions``).

- The landing page says which nnlab the book was built with through the MyST
  substitution ``{{ nnlab_version }}``, taken from ``nnlab.__version__`` at build time,
  so it cannot go stale.
- ``book/_static/nnlab-offline.js`` runs before the widget manager, so that the
  widgets' fonts come from the site and their labels typeset with MathJax 3.
- Each page lists every script once: sphinx-thebe registers its configuration script
  again on each read, and a repeated ``const`` declaration is a console error.
"""

from __future__ import annotations

from typing import Any

import nnlab


def _set_version(app: Any, config: Any) -> None:
    substitutions = dict(config.myst_substitutions or {})
    substitutions["nnlab_version"] = nnlab.__version__
    config.myst_substitutions = substitutions


def _unique_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        # A body-only script has filename None or "", depending on who added it.
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _set_version)
    # Priority below myst-nb's widget scripts (500), so it runs before embed-amd.js.
    app.add_js_file("nnlab-offline.js", priority=200)
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": nnlab.__version__}
