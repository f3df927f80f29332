"""Build the PDF edition of the book: `make pdf` (or `python scripts/build_pdf.py`).

From the same sources and configuration as the site, Sphinx's single-page HTML builder
writes the whole book as one page (``_build/pdf/_build/singlehtml/book/intro.html``; its own
doctrees, so it never disturbs ``_build/html``). Debian's Chromium, driven by playwright
with every request outside that folder blocked, opens it, waits until MathJax has
typeset every equation and every figure has loaded, and prints it with

- ``tagged=True``: a tagged PDF (StructTreeRoot, MarkInfo) that screen readers can follow,
  built from the page's headings, lists, tables, images and their alt text;
- ``outline=True``: a document outline (bookmarks) from the headings.

Figures and equations are numbered as on the site (Sphinx numfig, math_numfig); internal
links become links inside the PDF. Explorers print the figure of their starting values.

The PDF is written to ``_build/pdf/nnlab-book.pdf`` and, when the site has been built
(`make book`), copied to ``_build/html/nnlab-book.pdf``, which the landing page links to.
Needs Chromium (`make setup-browser`) and the site's JavaScript (`make assets`).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PDF_NAME = "nnlab-book.pdf"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Shown at the foot of every page: page number of total (Chromium fills the spans).
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#444">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)

# Print tweaks applied to the single page before printing: no navigation chrome, every
# folded hint and solution open (a printed book cannot unfold), no page break inside a
# figure or an equation.
PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header-article, .bd-footer,
.bd-footer-article, .prev-next-area, .header-article-items, #pst-back-to-top,
.search-button-field, .nnlab-frames-note, button.toggle-button { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.toggle-hidden, .dropdown .admonition-body { display: block !important; visibility: visible !important;
  opacity: 1 !important; height: auto !important; }
figure, img, .math, mjx-container[display="true"] { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
section > h1 { break-before: page; }
"""


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    sys.exit("build_pdf: Chromium not found (make setup-browser, or set CHROMIUM=/path/to/chromium)")


def build_single_page(out: Path) -> Path:
    """The whole book as one HTML page, built warning-free; returns its folder."""
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", ".",
           "--builder", "singlehtml", "--path-output", str(out), "-W", "-n", "--keep-going"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    if result.returncode != 0 or warnings:
        sys.exit("build_pdf: the single-page build failed or warned:\n" + "\n".join(warnings or [output[-4000:]]))
    return out / "_build" / "singlehtml"


def _single_page(site: Path) -> str:
    """The one page of the build, as a file at the site's root; returns its name.

    Sphinx writes the root document's page (``book/intro.html``, to which ``index.html``
    redirects) with every URL relative to the site's root, and links to its own
    sections as ``book/intro.html#id``. A copy at the root resolves the URLs, and its
    links become ``#id``, so that Chromium makes them links inside the PDF.
    """
    index = (site / "index.html").read_text(encoding="utf-8")
    redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index, re.I)
    if not redirect:
        return "index.html"
    target = redirect.group(1)
    page = (site / target).read_text(encoding="utf-8")
    page = page.replace(f'href="{target}#', 'href="#').replace(f'href="{target}"', 'href="#"')
    (site / "nnlab-book.html").write_text(page, encoding="utf-8")
    return "nnlab-book.html"


def print_pdf(site: Path, pdf: Path) -> None:
    """Print the single page of ``site`` to ``pdf`` with Chromium: tagged, with an outline."""
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.route("**/*", lambda route: route.continue_()
                       if route.request.url.startswith((base, "data:", "blob:")) else route.abort())
            page.goto(base + _single_page(site), wait_until="load")
            page.wait_for_load_state("networkidle")
            # Every equation typeset (MathJax 3 resolves startup.promise when done).
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=120_000)
            page.evaluate("() => MathJax.startup.promise")
            unrendered = page.evaluate(
                "() => [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length"
            )
            if unrendered:
                sys.exit(f"build_pdf: {unrendered} equations were not typeset")
            page.evaluate("() => document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
            page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            page.add_style_tag(content=PRINT_CSS)
            page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=120_000)
            page.emulate_media(media="print")
            pdf.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True,
                     display_header_footer=True, header_template="<span></span>", footer_template=FOOTER,
                     tagged=True, outline=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf",
                        help="folder for the single-page build and the PDF (default _build/pdf)")
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html",
                        help="built site to publish the PDF in, if it exists (default _build/html)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    single = build_single_page(out)
    pdf = out / PDF_NAME
    print_pdf(single, pdf)
    print(f"build_pdf: {pdf} ({pdf.stat().st_size / 2**20:.1f} MiB)")
    if args.site.is_dir():
        shutil.copy2(pdf, args.site / PDF_NAME)
        print(f"build_pdf: published as {args.site / PDF_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
