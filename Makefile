# One place for every developer command. `make test` is what CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install dev test unit lint typecheck check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/unstuck dev

# Unit tests first: they fail in seconds; then the integration suite, which starts
# Kafka (Maven jars) and PostgreSQL (embedded) once for the whole session.
test: $(STAMP)
	$(BIN)/pytest tests/unit -q
	$(BIN)/pytest tests/integration -q

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
