# Two commands on a fresh clone: `make demo` and `make test`.
# Each creates .venv with `python3 -m venv` when missing and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test audit lint typecheck check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/appsync-iam demo

test: $(STAMP)
	$(BIN)/python -m pytest

# The suite with the secret audit forced on (tests/secret_audit.py; `make test`
# runs it too unless APPSYNC_IAM_AUDIT=0), ending with its totals.
audit: $(STAMP)
	APPSYNC_IAM_AUDIT=1 $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict appsync_iam

check: test lint typecheck

bench: $(STAMP)
	$(BIN)/python benchmarks/sign.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
