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

# The suite runs twice: on SQLite files, then on PostgreSQL where a server can be started
# here (tests/postgres.py starts its own throwaway cluster; Debian: apt-get install
# postgresql). Spread over JOBS workers: most tests wait on sockets and subprocesses.
JOBS ?= 4

test: lint
	$(BIN)/pytest -n $(JOBS) -m "not soak"
	@if $(BIN)/python -m tests.postgres; then \
		SANAL_TEST_BACKEND=postgresql $(BIN)/pytest -n $(JOBS) -m "not soak"; \
	elif [ -n "$$SANAL_REQUIRE_POSTGRES" ]; then exit 1; \
	else echo "the PostgreSQL pass is skipped"; fi

bench: $(VENV)/.test-deps
	$(BIN)/python -m bench

soak: $(VENV)/.test-deps
	SANAL_SOAK=1 $(BIN)/pytest -m soak

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
