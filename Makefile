# The two commands of the README:
#   make book   builds the online book into _build/html (the main job)
#   make test   runs every test: nnlab, the exercise checks, grading, nbval, the browser
# Both install what they need first, so they work from a fresh clone.

PYTHON ?= python3
PIP := $(PYTHON) -m pip

.PHONY: book test setup setup-python setup-browser clean

setup: setup-python

setup-python:
	$(PIP) install --quiet -r requirements.txt torch==2.13.0 -e .

# Debian's Chromium for the browser test; skipped (the test then skips) where apt is unavailable.
setup-browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "chromium not found and cannot be installed here: the browser test will skip"; fi; \
	fi

book: setup
	$(PYTHON) -m jupyter_book build . -W -n --keep-going
	@echo "The book is in _build/html/index.html"

test: setup setup-browser
	$(PYTHON) -m pytest

clean:
	rm -rf _build .pytest_cache
