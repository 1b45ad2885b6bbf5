# shoplab: every command a developer or CI needs. `make setup` is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
STAMP := $(VENV)/.installed
# pytest-xdist workers per tier (0 = one process). Each worker runs its own stack in its own port band
# (SHOPLAB_PORT_OFFSET + 100 x worker, see tests/parallel.py); whole files go to one worker, in order.
E2E_WORKERS ?= 3
INTEGRATION_WORKERS ?= 2
CONTRACTS_WORKERS ?= 2
XDIST = --dist loadfile -n
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/.tools/bin:$(PATH)

.PHONY: setup tools demo test lint test-unit test-integration test-e2e test-contracts test-observability bench up down status clean

setup: $(STAMP) tools

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

tools: $(STAMP)
	@$(PY) -m shoplab.runtime.tools install

demo: setup
	$(VENV)/bin/shoplab demo

test: setup
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-integration
	$(MAKE) --no-print-directory test-e2e
	$(MAKE) --no-print-directory test-contracts
	$(MAKE) --no-print-directory test-observability

test-unit: setup
	$(PYTEST) -m unit -q

test-integration: setup
	$(PYTEST) -m integration -q $(XDIST) $(INTEGRATION_WORKERS)

test-e2e: setup
	$(PYTEST) -m e2e -q $(XDIST) $(E2E_WORKERS)

test-contracts: setup
	$(PYTEST) -m contracts -q $(XDIST) $(CONTRACTS_WORKERS)

test-observability: setup
	$(PYTEST) -m observability -q

lint: setup
	$(VENV)/bin/ruff check shop shoplab chaos loadtests contracts labs tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) -m bench

up: setup
	$(VENV)/bin/shoplab up -d

down:
	$(VENV)/bin/shoplab down

status:
	$(VENV)/bin/shoplab status

clean:
	-$(VENV)/bin/shoplab down --purge
	rm -rf $(VENV) .tools
