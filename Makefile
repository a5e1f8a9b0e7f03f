# Hearth: `make run` serves the forum, `make test` runs the whole suite. Both bootstrap .venv on their own.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
PYTEST_ARGS ?=

.PHONY: run test test-fast lint typecheck bench clean migrate seed model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# Build (or find cached) the screening model before any server starts, so no request pays for training.
model: $(VENV)/.installed-run
	$(BIN)/python -c "import moderation; moderation.screen('warm up'); print('screening model:', moderation.model_status().get('version'))"

migrate: $(VENV)/.installed-run
	$(BIN)/flask --app wsgi db upgrade

seed: migrate
	$(BIN)/flask --app wsgi seed

run: seed model
	PORT=$(PORT) $(BIN)/python wsgi.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

test: $(VENV)/.installed-dev lint typecheck model
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed-dev
	$(BIN)/pytest -m "not slow and not browser" $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
