# Two commands on a fresh machine with Python 3.11:  make demo   and   make test
# Each creates .venv if there is none and installs MAIST into it (editable, with dev tools).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.maist-installed

.PHONY: install demo test serve tensorboard notebooks export figures bench clean-cache

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Trains the expert CNN for a few minutes on the default data (data/ETL9G if you put
# AIST's files there, else the synthetic set, generated once) and prints the accuracy.
demo: $(STAMP)
	$(BIN)/python scripts/train_maist.py --recipe demo

# Two workers (pytest-xdist): about half the time on two cores; plain pytest runs serially.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

# The draw page on http://127.0.0.1:8000/ over the newest run (make demo first).
serve: $(STAMP)
	$(BIN)/python scripts/serve.py

# TensorBoard over every run: curves, the filters, histograms, the graph and the embedding
# projector, all written by every run (http://127.0.0.1:6006/).
tensorboard: $(STAMP)
	$(BIN)/tensorboard --logdir runs --host 127.0.0.1

# JupyterLab (an extra, installed here on first use) on the notebooks.
notebooks: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	$(BIN)/jupyter lab notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# The make demo model as a SavedModel and TFLite files in runs/exports/demo (see README).
export: $(STAMP)
	$(BIN)/python scripts/export.py runs/demo-expert --out runs/exports/demo --quantize none,dynamic,int8 --force

# The figures in docs/: see docs/README.md for what each command makes.
figures: $(STAMP)
	$(BIN)/python scripts/contact_sheets.py --out docs/images

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_etl.py
	$(BIN)/python benchmarks/bench_train.py

clean-cache:
	rm -rf data/cache
