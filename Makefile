# The two commands a reader needs:  make book  and  make test.
# Both set everything up themselves (a .venv, the pinned requirements, the
# attnbook package in editable mode, the widget JavaScript from npm).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.attnbook-installed
NPM_STAMP := book/node_modules/.attnbook-installed
VENDOR := book/vendor/.attnbook-vendored
# The jupyter-cache of executed notebooks is keyed on the notebooks' code only, so it is
# emptied whenever the package (models, widgets, their JavaScript) changes.
CACHE_STAMP := .jupyter_cache/.attnbook-src
SRC_FILES := $(shell find src -type f -not -path '*/__pycache__/*' -not -name '*.pyc')
# Every chapter notebook, in book order.
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))

export PYTHONHASHSEED := 0

.PHONY: all book test test-unit test-notebooks test-book test-browser bench sweep serve setup clean set-repository

all: book

setup: $(STAMP) $(VENDOR)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(NPM_STAMP): book/package.json book/package-lock.json
	cd book && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR): $(NPM_STAMP) $(STAMP) tools/vendor_js.py book/setup-widgets.js
	$(BIN)/python tools/vendor_js.py
	touch $@

$(CACHE_STAMP): $(SRC_FILES)
	rm -rf .jupyter_cache
	mkdir -p .jupyter_cache
	touch $@

# Build the HTML book into _build/html (notebooks executed, cached by jupyter-cache).
# -W turns warnings into errors: without it JB1 exits 0 even when a cell raises.
book: setup $(CACHE_STAMP)
	$(BIN)/jupyter-book build . --path-output . -W -n --keep-going

test: setup test-unit test-notebooks test-book test-browser

test-unit: setup
	$(BIN)/python -m pytest tests -m "not browser"

# nbval executes every chapter (its asserts are the book's claims) and, through
# tests/nbval_cache_plugin.py, stores each passing notebook's outputs and widget
# state in jupyter-cache; the book build that follows finds them there, so every
# notebook runs once in `make test`.
test-notebooks: setup $(CACHE_STAMP)
	PYTHONPATH=tests $(BIN)/python -m pytest -p nbval_cache_plugin --nbval-jupyter-cache .jupyter_cache \
		--nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-output-timeout 60 \
		--nbval-cell-timeout=600 -p no:cacheprovider $(NOTEBOOKS)

test-book: test-notebooks
	$(BIN)/jupyter-book build . --path-output . -W -n --keep-going

test-browser: setup
	$(BIN)/python -m pytest tests -m browser

bench: setup
	$(BIN)/python benchmarks/run_all.py

# Every chapter under ATTNBOOK_SEED = 0..4 and seed 0 with one thread; stores every glued
# value in src/attnbook/sweep.json (committed) and prints each checked bound beside its worst
# value. About an hour; one chapter at a time with CHAPTERS="chapters/03_learning_to_align.ipynb".
CHAPTERS ?=
sweep: setup
	$(BIN)/python benchmarks/sweep.py $(CHAPTERS) $(SWEEP_FLAGS)

serve: book
	$(BIN)/python -m http.server --directory _build/html 8000

clean:
	rm -rf _build .jupyter_cache book/vendor

# Point the book (buttons, Colab install cells) at its public repository:
#   make set-repository URL=https://github.com/<owner>/<name>
set-repository:
	$(PYTHON) tools/set_repository.py $(URL)
