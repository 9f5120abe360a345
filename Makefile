# The README's quickstart: `make demo` then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: venv demo test lint typecheck check bench clean

$(BIN)/privacy-profile: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/privacy-profile

venv: $(BIN)/privacy-profile

demo: venv
	$(BIN)/privacy-profile policy validate policies/*.yaml
	$(BIN)/privacy-profile demo --out demo-out

test: venv
	$(BIN)/ruff check privacy_profile tests benchmarks
	$(BIN)/ruff format --check privacy_profile tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: venv
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	@echo "see docs/benchmarks.md for each benchmark's command"

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
