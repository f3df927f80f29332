# The two commands of the README:
#   make book   builds the online book into _build/html (the main job)
#   make test   runs every test: nnlab, the exercise checks, grading, nbval, the browser
# Both install what they need first, so they work from a fresh clone.

PYTHON ?= python3
PIP := $(PYTHON) -m pip
# jupyter-book 1 has no `python -m jupyter_book`; this runs its CLI with $(PYTHON).
JUPYTER_BOOK := $(PYTHON) -c "from jupyter_book.cli.main import main; main()"

.PHONY: book test setup setup-python setup-browser assets clean

setup: setup-python

setup-python:
	$(PIP) install --quiet --root-user-action=ignore -r requirements.txt torch==2.13.0 -e .

# Debian's Chromium for the browser test; skipped (the test then skips) where apt is unavailable.
setup-browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "chromium not found and cannot be installed here: the browser test will skip"; fi; \
	fi

# The JavaScript the site serves itself (MathJax, require.js, the widget manager), at the
# versions pinned in package-lock.json, copied into _vendor/ (published as _static/).
assets:
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/vendor_assets.py

book: setup assets
	$(JUPYTER_BOOK) build . -W -n --keep-going
	@echo "The book is in $(CURDIR)/_build/html/index.html"

# Every test: nnlab, exercise checks, grading, strict nbval over book/, and the browser
# test (which builds the book through the built_book fixture, hence `assets`).
test: setup setup-browser assets
	$(PYTHON) -m pytest

clean:
	rm -rf _build _vendor .pytest_cache
