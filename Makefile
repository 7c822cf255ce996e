# tum2000: one entry point. `make book` builds the book (the main job),
# `make test` runs every test (slow ones included, as CI does); both set up
# everything they need first. Notebooks run in a kernel of .venv's Python
# that tum2000 starts itself: no kernel registration is needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tum2000-installed

.PHONY: all setup browser fig1 book student site site-quick linkcheck lab test test-fast bench clean help

all: book

setup: $(STAMP)

# A fresh virtual environment with the pinned requirements and the package.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -c "import tum2000.model.engine as e; e.main()"  # compile the engine (~1 min)
	touch $@

# Headless Chromium for the browser test (Debian's package; needs root or sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Simulate the default network; write the dataset and Fig. 1.
fig1: setup
	$(VENV)/bin/tum2000 simulate --out output/default.nc --figure output/fig1.png

# STRICT=1: fail before executing anything if the stored data (book/data) does
# not verify against this code (CI builds this way); without it the build warns.
book: setup
	$(VENV)/bin/tum2000 book $(if $(STRICT),--strict)

# The student edition (_build/student/html: every exercise, no solution) and
# the student bundle _build/student/tum2000-student.zip.
student: setup
	$(VENV)/bin/tum2000 book --student

# What is deployed to GitHub Pages, in _build/site/: the book at its root, the
# student edition under student/ (bundle: student/tum2000-student.zip), .nojekyll.
# REPOSITORY_URL=https://github.com/OWNER/REPO overrides repository.url of
# _config.yml for this build (repository, issue and launch buttons).
REPOSITORY_URL ?=
site: setup
	$(PY) -m tum2000.book.site $(if $(STRICT),--strict) $(if $(REPOSITORY_URL),--repository-url $(REPOSITORY_URL))

# The same with short simulations (_build/variant-quick/site): a smoke build.
site-quick: setup
	$(PY) -m tum2000.book.site --quick $(if $(REPOSITORY_URL),--repository-url $(REPOSITORY_URL))

# Every link of the pages, checked without executing anything (needs the network):
# the committed notebooks rendered as they are, Sphinx's linkcheck builder.
linkcheck: setup
	$(PY) -m tum2000.book.site --linkcheck

# JupyterLab on the book's notebooks and on `tum2000 run`'s output/notebooks/.
lab: setup
	$(VENV)/bin/jupyter lab

test: setup browser
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not book"

bench: setup
	$(PY) benchmarks/run.py

clean:
	rm -rf _build output .pytest_cache

help:
	@sed -n '/^| command/,/^$$/p' README.md
