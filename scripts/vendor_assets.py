"""Copy the pinned JavaScript the book serves itself from node_modules/ into _vendor/.

`npm ci` installs exactly the versions in package-lock.json (MathJax 3, require.js and
the ipywidgets HTML manager); this script copies the files a page loads into _vendor/,
which _config.yml publishes as the site's _static/ folder (html_static_path) and names
in mathjax_path and nb_ipywidgets_js. The built site then renders equations and
widgets with no network. Run by `make assets` (a step of `make book` and `make test`).

Why not a root `_static/` folder: Jupyter Book adds every .js and .css under it to
every page, which would load all of MathJax's components at once.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
VENDOR = ROOT / "_vendor"

# MathJax's combined TeX component, plus what it loads on demand (TeX extensions,
# the CHTML fonts, the menu and the accessibility tools a reader can switch on).
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml.js", "output/chtml", "ui", "a11y", "sre", "adaptors"]
# The widget manager: the AMD bundle and the icon fonts its CSS points at.
HTML_MANAGER_SUFFIXES = {".woff", ".woff2", ".ttf", ".eot", ".svg"}


def _copy(src: Path, dst: Path) -> None:
    if not src.exists():
        sys.exit(f"vendor_assets: {src} is missing; run `npm ci` first")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dst)


def main() -> None:
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    for part in MATHJAX_PARTS:
        _copy(NODE / "mathjax" / "es5" / part, VENDOR / "mathjax" / part)
    _copy(NODE / "requirejs" / "require.js", VENDOR / "requirejs" / "require.js")
    dist = NODE / "@jupyter-widgets" / "html-manager" / "dist"
    _copy(dist / "embed-amd.js", VENDOR / "html-manager" / "embed-amd.js")
    for font in sorted(dist.iterdir()):
        if font.suffix in HTML_MANAGER_SUFFIXES:
            _copy(font, VENDOR / "html-manager" / font.name)
    size = sum(p.stat().st_size for p in VENDOR.rglob("*") if p.is_file())
    print(f"vendor_assets: copied {size / 2**20:.1f} MiB into {VENDOR.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
