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

# The suite twice, each pass spread over JOBS workers (most tests wait on sockets and
# subprocesses): on SQLite files, then on PostgreSQL where a throwaway cluster can start
# (tests/postgres.py; Debian: apt-get install postgresql, nothing started as a service).
# PG=auto skips the second pass, saying why, where PostgreSQL cannot start; PG=require
# (.ci/run) makes that an error; PG=no runs SQLite only. `make test-pg`: the second alone.
JOBS ?= 4
PG ?= auto
# Compiled modules are kept (__pycache__, ignored by git) even where the environment asks
# Python not to write them: the suite starts hundreds of `sanal` processes and eight
# workers, and each would otherwise compile every module again (and pytest rewrite every
# test module's asserts), which took a fifth of the suite's CPU.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: test-pg

test: lint
	$(BIN)/pytest -n $(JOBS) -m "not soak" --durations=10
	@if [ "$(PG)" = no ]; then echo "make test: PG=no, the PostgreSQL pass is skipped"; \
	elif $(BIN)/python -m tests.postgres; then \
	    echo "make test: the suite again, on PostgreSQL"; \
	    SANAL_TEST_BACKEND=postgresql $(BIN)/pytest -n $(JOBS) -m "not soak" --durations=10; \
	elif [ "$(PG)" = require ]; then \
	    echo "make test: PG=require, but PostgreSQL cannot start here (the line above says why)" >&2; \
	    exit 1; \
	else echo "make test: the PostgreSQL pass is skipped (the line above says why)"; fi

test-pg: $(VENV)/.test-deps
	$(BIN)/python -m tests.postgres
	SANAL_TEST_BACKEND=postgresql $(BIN)/pytest -n $(JOBS) -m "not soak"

bench: $(VENV)/.test-deps
	$(BIN)/python -m bench

soak: $(VENV)/.test-deps
	SANAL_SOAK=1 $(BIN)/pytest -m soak --timeout=0

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
