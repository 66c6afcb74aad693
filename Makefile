# One-command set-up: `make demo` (main job) and `make test` (test suite) create
# the virtual environment on first use, so they work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: setup demo test benchmark clean

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

# The paper's tables at CPU scale (about 30 minutes on 2 cores).
benchmark: $(STAMP)
	$(PY) benchmarks/paper_tables.py --output-dir benchmarks/results

clean:
	rm -rf $(VENV) output build *.egg-info
