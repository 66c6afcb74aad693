# One-command set-up: `make demo` (main job) and `make test` (test suite) create
# the virtual environment on first use, so they work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-min benchmark benchmark-performance benchmark-scaling benchmark-methods clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first, so that timm/skorch do not pull another build.
	$(PIP) install torch torchvision
	# fast-slic ships as an sdist that compiles against the installed numpy
	# and Cython, hence no build isolation.
	$(PIP) install cython numpy
	$(PIP) install --no-build-isolation fast-slic
	$(PIP) install -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py --output-dir output

test: $(STAMP)
	$(PY) -m pytest

# The test suite against the oldest versions that setup.cfg declares, pinned
# in ci/minimum-versions.txt, in a virtual environment of its own (about 2
# minutes of set-up and 6 of tests on 2 cores). The other packages take the
# newest release compatible with the pins.
VENV_MIN ?= .venv-min
MIN_VERSIONS := ci/minimum-versions.txt
PY_MIN := $(VENV_MIN)/bin/python
PIP_MIN := $(PY_MIN) -m pip
STAMP_MIN := $(VENV_MIN)/.installed

$(STAMP_MIN): setup.cfg pyproject.toml $(MIN_VERSIONS)
	$(PYTHON) -m venv $(VENV_MIN)
	$(PIP_MIN) install --upgrade pip
	# torch first, as above, at the pinned version; then the other pins.
	$(PIP_MIN) install -c $(MIN_VERSIONS) torch torchvision
	$(PIP_MIN) install -r $(MIN_VERSIONS)
	# fast-slic compiled against the pinned numpy, not taken from pip's cache
	# of a build against another numpy.
	$(PIP_MIN) install -c $(MIN_VERSIONS) cython
	$(PIP_MIN) install -c $(MIN_VERSIONS) --no-build-isolation --no-cache-dir fast-slic
	$(PIP_MIN) install -c $(MIN_VERSIONS) -e ".[test]"
	touch $(STAMP_MIN)

test-min: $(STAMP_MIN)
	$(PY_MIN) -m pytest

# The paper's tables at CPU scale (about 16 minutes on 2 cores).
benchmark: $(STAMP)
	$(PY) benchmarks/paper_tables.py --output-dir benchmarks/results

# Performance ratios (superpixels, dynamic-threshold search, training epoch,
# memory) against the obvious alternatives, about 9 minutes on 2 cores;
# tables in benchmarks/results/performance.txt and docs/benchmarks.rst.
benchmark-performance: $(STAMP)
	$(PY) benchmarks/performance.py --output-dir benchmarks/results

# Cost per image of superpixels, region pooling, covariance sampling, training
# and inference as image size, segment count and batch size grow, and the
# projected time of the paper's ImageNet run (about 4 minutes on 2 idle cores);
# tables in benchmarks/results/scaling.txt and docs/performance.rst.
benchmark-scaling: $(STAMP)
	$(PY) benchmarks/scaling.py --output-dir benchmarks/results

# Every method side by side (P2P, the Blackbox explained by LIME, gradients
# and AGOP, ERSM, S-IB, smoothed adversarial training) on pasted digits and
# XAI-TRIS tetrominoes, 3 seeds: 16.5 minutes on 2 idle cores (2 worker
# processes of 1 thread); tables in benchmarks/results/methods.txt and
# docs/comparison.rst.
benchmark-methods: $(STAMP)
	$(PY) benchmarks/methods.py --output-dir benchmarks/results

clean:
	rm -rf $(VENV) $(VENV_MIN) output build *.egg-info

# HTML documentation in docs/_build/html: warnings are errors, and so is a
# failing gallery example (examples/plot_*.py). Offline, intersphinx links to
# other projects' docs are left out instead of failing the build; see
# docs/conf.py (P2P_DOCS_INTERSPHINX=on|off|auto).
DOCS_STAMP := $(VENV)/.docs-installed
SPHINXOPTS ?=

.PHONY: docs

$(DOCS_STAMP): $(STAMP) setup.cfg
	$(PIP) install -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -b html $(SPHINXOPTS) docs docs/_build/html
