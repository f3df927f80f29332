# The two commands of the README:
#   make book   builds the online book into _build/html (the main job)
#   make test   runs every test: nnlab, the exercise checks, grading, nbval (on this machine
#               and on an emulated other machine), the browser
# Both install what they need first, so they work from a fresh clone. `make book` installs
# only what building the book needs (requirements.txt): no PyTorch, no test tools.
# `make test-machines` replays the stored outputs on every emulated machine (see README).

PYTHON ?= python3
PIP := $(PYTHON) -m pip
# jupyter-book 1 has no `python -m jupyter_book`; this runs its CLI with $(PYTHON).
JUPYTER_BOOK := $(PYTHON) -c "from jupyter_book.cli.main import main; main()"

# PyTorch for the parity tests and benchmarks, by its exact pin (CPU build). Where pip
# would fetch the CUDA build instead, add the CPU index, e.g.
#   make test TORCH="torch==2.13.0 --extra-index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0

# An emulated other machine for strict nbval: OpenBLAS's generic kernel (not the AVX-512 or
# AVX2 one this CPU selects), numpy's SIMD loops without AVX2/AVX-512, one thread.
EMULATED := OPENBLAS_CORETYPE=Prescott NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4" \
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# Strict nbval over every notebook of book/ only (the .py tests run once, in `pytest`).
NBVAL := $(PYTHON) -m pytest book -p no:cacheprovider -q
# The oldest numpy requirements.txt allows, for `make test-machines`.
OLDEST_NUMPY ?= numpy==2.0.2
OLD_VENV := .venv-oldest-numpy

.PHONY: book pdf test test-machines setup setup-book setup-test setup-browser assets clean

setup: setup-test

setup-book:
	$(PIP) install --quiet --root-user-action=ignore -r requirements.txt -e .

setup-test:
	$(PIP) install --quiet --root-user-action=ignore -r requirements-test.txt $(TORCH) -e .

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

book: setup-book assets
	$(JUPYTER_BOOK) build . -W -n --keep-going
	@echo "The book is in $(CURDIR)/_build/html/index.html"

# The PDF edition (scripts/build_pdf.py): the book built as one HTML page from the same
# sources, printed by Debian's Chromium (tagged, with an outline) to _build/pdf/nnlab-book.pdf,
# and copied to _build/html/nnlab-book.pdf, which the landing page links to, when the site
# has been built. Printing needs playwright (pinned in requirements-test.txt).
pdf: setup-book setup-browser assets
	$(PIP) install --quiet --root-user-action=ignore "$$(grep -E '^playwright' requirements-test.txt)"
	$(PYTHON) scripts/build_pdf.py

# Every test: nnlab, exercise checks, grading, strict nbval over book/, and the browser
# test (which builds the book through the built_book fixture, hence `assets`); then strict
# nbval again on the emulated other machine (a notebook may take up to 120 s there).
test: setup-test setup-browser assets
	$(PYTHON) -m pytest
	@echo "== strict nbval on an emulated machine: $(EMULATED)"
	$(EMULATED) NNLAB_NOTEBOOK_LIMIT_S=120 $(NBVAL)

# The stored outputs on every emulated machine, one at a time: 1 and 2 BLAS threads, the
# generic BLAS kernel, numpy without AVX2, and the oldest numpy allowed (in a virtualenv
# that shares the other packages).
test-machines: setup-test
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(NBVAL)
	OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 $(NBVAL)
	OPENBLAS_CORETYPE=Prescott NNLAB_NOTEBOOK_LIMIT_S=120 $(NBVAL)
	NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4" NNLAB_NOTEBOOK_LIMIT_S=120 $(NBVAL)
	test -x $(OLD_VENV)/bin/python || $(PYTHON) -m venv --system-site-packages $(OLD_VENV)
	$(OLD_VENV)/bin/python -m pip install --quiet "$(OLDEST_NUMPY)"
	$(OLD_VENV)/bin/python -c "import numpy; assert numpy.__version__ == '$(OLDEST_NUMPY)'.split('==')[1], numpy.__version__"
	$(OLD_VENV)/bin/python -m pytest book -p no:cacheprovider -q

clean:
	rm -rf _build _vendor .pytest_cache $(OLD_VENV)
