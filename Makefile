# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint wheel-check neo4j install system-deps node-deps models lexicons bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lexicons]"
	touch $(STAMP)

install: $(STAMP)

## make run: build the graph from the bundled demo corpus into the embedded store, then serve the API
run: install
	$(BIN)/pmlkg build
	$(BIN)/pmlkg serve

## make test: install everything and run the whole test suite
test: install system-deps node-deps neo4j lint
	$(BIN)/python -m pytest -q

## The lint gate (ruff, rules in pyproject.toml): code it flags does not land.
lint: install
	$(BIN)/ruff check .

## The built wheel in a fresh venv outside the checkout: `pmlkg extract`, `build`, `serve` from an empty directory.
wheel-check: install
	bash scripts/wheel-check.sh $(BIN)/python

## System packages the tests use where they can be installed (Debian, as root); otherwise say why not.
system-deps:
	@bash scripts/system-deps.sh

## The local Neo4j's jars (Neo4j Community 5.26 and Neo4j Browser, pinned in graph/neo4j/server/pom.xml), fetched once.
neo4j: install
	@$(BIN)/pmlkg db install --backend neo4j || echo "make neo4j: not installed (above); the Neo4j tests will skip and say why" >&2

## Node packages the tests use (Neo4j's Cypher linter, pinned by package-lock.json); otherwise say why not.
node-deps:
	@bash scripts/node-deps.sh

## make models: rebuild the lexicons (needs ../shared) and the spaCy pipelines in nlp_models/
models: install
	$(BIN)/python nlp_models/recipe/build_lexicons.py --shared ../shared --out nlp_models/lexicons
	$(BIN)/python nlp_models/recipe/train.py all --shared ../shared
	$(BIN)/python nlp_models/recipe/train_roles.py all --shared ../shared
	$(BIN)/python nlp_models/recipe/build_pipelines.py

bench: install neo4j
	$(BIN)/python bench/build_phases.py
	$(BIN)/python bench/backend_latency.py
	$(BIN)/python bench/fetch_parse.py
	$(BIN)/python bench/extract_throughput.py
	$(BIN)/python bench/ner_eval.py
	$(BIN)/python bench/real_style_eval.py --split all
	$(BIN)/python bench/real_style_eval.py --file bench/holdout_texts/holdout.jsonl --split holdout
	$(BIN)/python bench/phee_patient_facts.py
	$(BIN)/pmlkg eval roles --phee ../shared/corpora/phee/dev.jsonl

clean:
	rm -rf $(VENV) data .pytest_cache
