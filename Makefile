# Two commands on a fresh machine:  `make demo` (set up + main job)  and  `make test` (set up + whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU torch first (a file on local disk): the project's torch range is then met and no CUDA build is pulled.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/twinops demo

lint: setup
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest -n auto -q

bench: setup
	$(BIN)/python bench/sim_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
