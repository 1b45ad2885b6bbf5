# shoplab: every command a developer or CI needs. `make setup` is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
STAMP := $(VENV)/.installed
TOOLS := $(PY) -m shoplab.runtime.tools
# The package managers' output goes to this log (the one shoplab.runtime.tools writes), shown only on failure.
SETUP_LOG := $(or $(SHOPLAB_RUN_DIR),$(CURDIR)/.shoplab)/logs/setup.log
# pytest-xdist workers per tier (0 = one process). Each worker runs its own stack in its own port band
# (SHOPLAB_PORT_OFFSET + 100 x worker, see tests/parallel.py); whole files go to one worker, in order.
E2E_WORKERS ?= 4
INTEGRATION_WORKERS ?= 2
CONTRACTS_WORKERS ?= 2
XDIST = --dist loadfile -n
# JUNIT_DIR=junit: each tier also writes junit/<tier>.xml (the CI workflow uploads them).
JUNIT = $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/$(1).xml)
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/.tools/bin:$(PATH)

.PHONY: setup python-packages dev-packages tools tools-all demo test lint test-unit test-integration test-e2e test-contracts test-observability bench up down status clean

# One line per step, in the columns shoplab.runtime.tools prints: what, where from, how long.
LINE = printf '%-24s %-36s %s\n'
# `quiet CMD...`: run CMD with its output appended to the setup log; when it fails, print the
# command, its exit code, its last 30 lines of output and the log's path, and return its code.
QUIET = quiet() { \
  mkdir -p "$(dir $(SETUP_LOG))"; printf '\n$$ %s\n' "$$*" >>"$(SETUP_LOG)"; \
  local from=$$(( $$(wc -l <"$(SETUP_LOG)") + 1 )); \
  "$$@" >>"$(SETUP_LOG)" 2>&1 </dev/null && return 0; local code=$$?; \
  echo "setup failed: \`$$*\` failed with exit code $$code; its last lines of output:" >&2; \
  tail -n "+$$from" "$(SETUP_LOG)" | tail -n 30 | sed 's/^/  /' >&2; \
  echo "full log: $(SETUP_LOG)" >&2; return $$code; }

# `pip_step LABEL STAMP ARGS...`: `pip install ARGS` into the venv (made first if missing), quietly, unless
# STAMP is newer than pyproject.toml. --no-compile: byte-compiling every installed file doubled a fresh
# clone's install time; Python compiles what it imports on first use.
PIP_STEP = $(QUIET); pip_step() { \
  local label=$$1 stamp=$$2; shift 2; \
  if [ -f "$$stamp" ] && [ "$$stamp" -nt pyproject.toml ]; then $(LINE) "$$label" "already installed" "$(VENV)"; return 0; fi; \
  local started=$$(date +%s%N); \
  { test -x $(PY) || quiet $(PYTHON) -m venv $(VENV); } && \
  quiet $(PY) -m pip install --no-compile --disable-pip-version-check "$$@" && touch "$$stamp" || return; \
  local ms=$$(( ($$(date +%s%N) - started) / 1000000 )); \
  $(LINE) "$$label" "pip install $$* (PyPI)" "$$((ms / 1000)).$$((ms % 1000 / 100)) s"; }

# What the demo needs, nothing more: the runtime packages and toxiproxy-server. The dev packages,
# Jaeger, Prometheus, Chromium and docker-compose come with `make test`, `make lint`, `make up`, or on first need.
setup: python-packages
	@$(TOOLS) install --for demo

python-packages:
	@$(PIP_STEP); pip_step "python packages" $(STAMP) -e .

# Linters, type checker, schemathesis: what the tests and `make lint` use besides the runtime.
dev-packages: python-packages
	@$(PIP_STEP); pip_step "dev packages" $(STAMP)-dev -e '.[dev]'

lint: dev-packages

# Every tool any test tier needs (CI runs this through `make test` on a fresh clone).
tools-all: python-packages
	@$(TOOLS) install --for test

tools: tools-all

demo: setup
	$(VENV)/bin/shoplab demo

test: dev-packages tools-all
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-integration
	$(MAKE) --no-print-directory test-e2e
	$(MAKE) --no-print-directory test-contracts
	$(MAKE) --no-print-directory test-observability
	$(MAKE) --no-print-directory test-browser

# The unit tier lints and renders the Helm chart and the workflow: Helm and actionlint first (once).
test-unit: setup dev-packages
	@$(TOOLS) install helm actionlint
	$(PYTEST) -m unit -q $(call JUNIT,unit)

test-integration: setup dev-packages
	$(PYTEST) -m integration -q $(call JUNIT,integration) $(XDIST) $(INTEGRATION_WORKERS)

test-e2e: setup dev-packages
	$(PYTEST) -m e2e -q $(call JUNIT,e2e) $(XDIST) $(E2E_WORKERS)

test-contracts: setup dev-packages
	$(PYTEST) -m contracts -q $(call JUNIT,contracts) $(XDIST) $(CONTRACTS_WORKERS)

test-observability: setup dev-packages
	$(PYTEST) -m observability -q $(call JUNIT,observability)

test-browser: setup
	$(PYTEST) -m browser -q $(call JUNIT,browser)

lint: setup
	$(VENV)/bin/ruff check shop shoplab chaos loadtests contracts labs tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	@$(TOOLS) install actionlint
	actionlint .github/workflows/shoplab.yml

bench: setup
	$(PY) -m bench

# `shoplab up` starts Prometheus and Jaeger next to the shop when they are installed: install them first.
up: python-packages
	@$(TOOLS) install --for up
	$(VENV)/bin/shoplab up -d

down:
	$(VENV)/bin/shoplab down

status:
	$(VENV)/bin/shoplab status

clean:
	-$(VENV)/bin/shoplab down --purge
	rm -rf $(VENV) .tools
