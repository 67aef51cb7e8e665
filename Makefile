# The two set-up commands: `make demo` and `make test`. Both create the environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint typecheck unit bench clean tools

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[ml,dev]'
	touch $(STAMP)

# Tools the tests run for real (a test skips, saying why, where one cannot be installed):
# gitlab-ci-local runs the generated .gitlab-ci.yml (4.70.1: later versions need node >= 22);
# it copies job artifacts with rsync.
TOOLS := .tools
GITLAB_CI_LOCAL := $(TOOLS)/node_modules/.bin/gitlab-ci-local

$(GITLAB_CI_LOCAL):
	-npm install --silent --no-audit --no-fund --prefix $(TOOLS) gitlab-ci-local@4.70.1

tools: $(GITLAB_CI_LOCAL)
	-command -v rsync >/dev/null || apt-get install -y -qq rsync >/dev/null

demo: $(STAMP)
	$(BIN)/python -m torchlane.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) tools
	$(BIN)/pytest -n 2 -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) build .pytest_cache .mypy_cache .ruff_cache
