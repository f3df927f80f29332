"""Sphinx extension of the nnlab book, loaded by _config.yml (``sphinx: local_extensions``).

- The landing page says which nnlab the book was built with through the MyST
  substitution ``{{ nnlab_version }}``, taken from ``nnlab.__version__`` at build time,
  so it cannot go stale.
- ``book/_static/nnlab-offline.js`` runs before the widget manager, so that the
  widgets' fonts come from the site and their labels typeset with MathJax 3.
- Each page lists every script once: sphinx-thebe registers its configuration script
  again on each read, and a repeated ``const`` declaration is a console error. A page
  that shows no widget loads neither the widget manager nor the widget state.
- Explorers move without a kernel: a notebook executed with ``NNLAB_EXPLORER_FRAMES=1``
  stores, next to itself, one PNG per point of each explorer's grid
  (``_explorer_frames/``, see ``nnlab.widgets``); this extension publishes those folders
  beside the page and loads ``nnlab-explorer.js``, which wires each explorer's native
  controls to its frames. In the single-page build (the PDF) the frames' paths are
  rewritten from the notebook's folder to the site's root.
- Accessibility (WCAG 2.1 AA, checked by axe-core in tests/test_browser.py):
  ``nnlab-book.css`` (contrast of links in exercise boxes, the explorers' layout); each
  collapsible section of the table of contents gets a name; the search button's name
  contains its visible text (``nnlab_templates/``); the bibliography is a list of list
  items; MathJax adds assistive MathML to every equation.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes

import nnlab

FRAMES_DIR = "_explorer_frames"  # nnlab.widgets.FRAMES_DIR
TEMPLATES = Path(__file__).resolve().parent / "nnlab_templates"


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


def _configure(app: Any, config: Any) -> None:
    # Templates that override the theme's (searched before the theme's own).
    config.templates_path = [str(TEMPLATES), *[p for p in config.templates_path if p != str(TEMPLATES)]]
    # Assistive MathML beside every typeset equation, for screen readers (MathJax 3).
    mathjax = dict(config.mathjax3_config or {})
    options = dict(mathjax.get("options", {}))
    options["enableAssistiveMml"] = True
    menu = dict(options.get("menuOptions", {}))
    menu["settings"] = {**menu.get("settings", {}), "assistiveMml": True}
    options["menuOptions"] = menu
    mathjax["options"] = options
    config.mathjax3_config = mathjax


def _frames_paths_for_single_page(app: Any, doctree: Any, docname: str) -> None:
    """In the single-page build every page is one: prefix the notebook's folder to frames.

    The assembled doctree marks each inlined document's sections with its docname; the
    rewrite happens on this resolved copy only, never in the cached doctrees.
    """
    if app.builder.name != "singlehtml":
        return
    for raw in doctree.findall(nodes.raw):
        text = raw.astext()
        if f'"{FRAMES_DIR}/' not in text:
            continue
        # inline_all_toctrees marks each inlined document's sections with its docname.
        parent = raw.parent
        while parent is not None and not (isinstance(parent, nodes.section) and parent.get("docname")):
            parent = parent.parent
        source = parent["docname"] if parent is not None else docname
        # singlehtml writes every URL of the page relative to the site's root.
        folder = Path(source).parent.as_posix()
        if folder not in ("", "."):
            raw.children = [nodes.Text(text.replace(f'"{FRAMES_DIR}/', f'"{folder}/{FRAMES_DIR}/'))]


def _publish_frames(app: Any, exception: Exception | None) -> None:
    """Copy each notebook's _explorer_frames/ folder to the same place in the output."""
    if exception is not None or app.builder.format != "html":
        return
    srcdir, outdir = Path(app.srcdir), Path(app.outdir)
    folders = {Path(docname).parent for docname in app.env.found_docs}
    for folder in sorted(folders):
        frames = srcdir / folder / FRAMES_DIR
        if frames.is_dir():
            shutil.copytree(frames, outdir / folder / FRAMES_DIR, dirs_exist_ok=True)


_EMPTY_SUMMARY = re.compile(r'(<a class="[^"]*\breference internal[^"]*" href="[^"]*">((?:(?!</a>).)*)</a>\s*<details[^>]*>\s*)<summary>')


def _name_toc_toggles(html: str) -> str:
    """Give each collapsible toc section's <summary> (a bare chevron) a name."""

    def name(match: re.Match) -> str:
        title = re.sub(r"<[^>]+>", "", match.group(2)).strip().replace('"', "&quot;")
        return f'{match.group(1)}<summary aria-label="Sections of {title}">'

    return _EMPTY_SUMMARY.sub(name, html)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_SCRIPTS = ("requirejs/require.js", "html-manager/embed-amd.js")


def _drop_unused_widget_manager(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """No widget manager (3.5 MB) and no widget state on a page that shows no widget.

    myst-nb loads them on every page of a notebook that stored widget state; the book's
    explorers show their text/html (nb_mime_priority_overrides), so usually none is left.
    """
    scripts = context.get("script_files")
    if not scripts or WIDGET_VIEW in (context.get("body") or ""):
        return

    def unused(script: Any) -> bool:
        attributes = getattr(script, "attributes", {}) or {}
        name = getattr(script, "filename", "") or ""
        return attributes.get("type") == "application/vnd.jupyter.widget-state+json" or name.endswith(WIDGET_SCRIPTS)

    scripts[:] = [script for script in scripts if not unused(script)]


def _accessible_page(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    generate = context.get("generate_toctree_html")
    if callable(generate) and not getattr(generate, "_nnlab_named", False):

        def named(*args: Any, **kwargs: Any) -> Any:
            return _name_toc_toggles(str(generate(*args, **kwargs)))

        named._nnlab_named = True  # type: ignore[attr-defined]
        context["generate_toctree_html"] = named
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        # docutils marks a citation list role="list" but its entries role="doc-biblioentry",
        # a role deprecated in ARIA 1.2 that a list may not contain: make them list items.
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def _single_page_visitors(app: Any) -> None:
    """Let the single-page builder (the PDF) write every node the html builder can.

    Some extensions (sphinx-proof's theorem nodes) register their HTML visitors for the
    ``html`` builder by name only; ``singlehtml`` uses the same HTML translator.
    """
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _set_version)
    app.connect("config-inited", _configure)
    # Priority below myst-nb's widget scripts (500), so it runs before embed-amd.js.
    app.add_js_file("nnlab-offline.js", priority=200)
    app.add_js_file("nnlab-explorer.js", priority=600)
    app.add_css_file("nnlab-book.css", priority=900)
    app.connect("html-page-context", _unique_scripts, priority=900)
    app.connect("html-page-context", _accessible_page, priority=900)
    app.connect("html-page-context", _drop_unused_widget_manager, priority=900)
    app.connect("doctree-resolved", _frames_paths_for_single_page)
    app.connect("builder-inited", _single_page_visitors)
    app.connect("build-finished", _publish_frames)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": nnlab.__version__}
