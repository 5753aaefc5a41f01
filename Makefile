# Two commands on a fresh machine:  `make demo` (set up + main job)  and  `make test` (set up + whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench loop clean

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

# The closed loop of issue 8: expert data from the twin -> step rows -> tiny-cpu from scratch -> held-out
# suite, with constrained decoding (brain) against free decoding (baseline). LOOP_N tasks of training data.
# LOOP_TOOLSET=draft (default): runs are draft_plan -> adopt/refuse, 2 decisions; standard: the read tools
# only, 10-25 decisions (eval takes the toolset from the model's twinops_view.json).
LOOP_N ?= 900
LOOP_DIR ?= runs/loop
LOOP_TOOLSET ?= draft
loop: setup
	$(BIN)/twinops data generate --n $(LOOP_N) --out $(LOOP_DIR)/data --workers 2 --seed 0 --toolset $(LOOP_TOOLSET)
	$(BIN)/twinops data steps $(LOOP_DIR)/data --out $(LOOP_DIR)/steps --balance 0.3
	$(BIN)/twinops finetune --config tiny-cpu --data $(LOOP_DIR)/steps --output $(LOOP_DIR)/tiny-cpu
	$(BIN)/twinops eval --suite heldout --workers 2 --max-steps 4 --brain hf:$(LOOP_DIR)/tiny-cpu/model,constrained=on,max_new_tokens=1024 \
		--baseline hf:$(LOOP_DIR)/tiny-cpu/model,constrained=off,max_new_tokens=1024 --json $(LOOP_DIR)/eval.json $(LOOP_EVAL_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
