# Two commands: `make run` and `make test`. Everything else is optional.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint soak bench clean

$(BIN)/sanal: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/sanal
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(BIN)/sanal
	@echo "sanal is $(BIN)/sanal: '. $(BIN)/activate' puts it on PATH in this shell"
	$(BIN)/sanal serve --demo

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The suite on SQLite files, spread over JOBS workers (most tests wait on sockets and
# subprocesses). The tests of the PostgreSQL backend itself (tests/postgres.py starts a
# throwaway cluster; Debian: apt-get install postgresql) run in it too. `make test-pg`
# runs the whole suite again on PostgreSQL: not yet part of `make test` because that pass
# is not green yet (issue 16's notes list what fails there).
JOBS ?= 4

.PHONY: test-pg

test: lint
	$(BIN)/pytest -n $(JOBS) -m "not soak"

test-pg: $(VENV)/.test-deps
	$(BIN)/python -m tests.postgres
	SANAL_TEST_BACKEND=postgresql $(BIN)/pytest -n $(JOBS) -m "not soak"

bench: $(VENV)/.test-deps
	$(BIN)/python -m bench

soak: $(VENV)/.test-deps
	SANAL_SOAK=1 $(BIN)/pytest -m soak --timeout=0

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
