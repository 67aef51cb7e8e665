# The two set-up commands: `make demo` and `make test`. Both create the environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test quick coverage lint typecheck unit bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[ml,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m torchlane.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

# Coverage of the test processes, with the floor set in pyproject.toml.
unit: $(STAMP)
	$(BIN)/pytest -n 2 -q --cov --cov-report=term:skip-covered

test: lint typecheck unit

# The loop while working: everything but the tests marked `slow`.
quick: lint typecheck
	$(BIN)/pytest -n 2 -q -m "not slow"

# The whole suite with the `python -m torchlane` and git-hook subprocesses measured too (slower).
coverage: $(STAMP)
	COVERAGE_FILE=$(CURDIR)/.coverage COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml \
		$(BIN)/pytest -n 2 -q --cov --cov-report=term:skip-covered

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .coverage .coverage.*
