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

test: lint
	$(BIN)/pytest -m "not soak"

bench: $(VENV)/.test-deps
	$(BIN)/python -m bench

soak: $(VENV)/.test-deps
	SANAL_SOAK=1 $(BIN)/pytest -m soak

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
