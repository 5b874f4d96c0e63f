# One place for every developer command. `make test` is what CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install dev test unit lint typecheck check bench clean faults soak

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
	$(BIN)/pytest tests/fuzz tests/faults tests/security -q

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

# The fault suite alone (writes docs/reliability.md); UNSTUCK_FAULTS_LONG=1 for the
# ten-times-longer runs, UNSTUCK_FUZZ_EXAMPLES=20000 for a long fuzz.
faults: $(STAMP)
	$(BIN)/pytest tests/faults tests/security tests/fuzz -q

# Steady load for a set time on a private stack; not part of CI.
SOAK_RATE ?= 200
SOAK_SECONDS ?= 300
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak --rate $(SOAK_RATE) --seconds $(SOAK_SECONDS)
