# Two commands on a fresh machine: `make demo` and `make test`. Each sets up what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: chromium promtool demo test test-fast synth lint format bench schemas layer clean help

help:
	@echo "make demo   - run the whole engine locally on the sample fleet (embedded defaults)"
	@echo "make test   - run the whole test suite (unit, integration, infrastructure, e2e)"
	@echo "make synth  - synthesize the CDK app into cdk.out/"
	@echo "make lint   - ruff and mypy on the core"
	@echo "make bench  - benchmarks; figures go to docs/benchmarks.md"
	@echo "make layer  - build the Lambda dependencies layer (layers/deps/python) for arm64"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e .
	@touch $@

$(DEV_STAMP): pyproject.toml requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -q torch==2.13.0  # the CPU build on this disk, before anything that depends on torch
	$(PIP) install -q -r requirements-dev.txt -e .
	@touch $(RUNTIME_STAMP) $@

demo: $(RUNTIME_STAMP)
	$(VENV)/bin/slo-engine demo

test: $(DEV_STAMP) chromium promtool
	$(PY) -m pytest -q -n 2 --dist loadgroup

# Headless Chromium for the browser tests (tests/e2e), from Debian; only when it is missing.
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# promtool (Debian package prometheus) checks the exported Prometheus rules, and the ingestion tests start the
# prometheus server itself (127.0.0.1, temp dir); installed only when one of them is missing.
promtool:
	@(command -v promtool && command -v prometheus) >/dev/null || (apt-get update -qq && apt-get install -y -qq prometheus)

test-fast: $(DEV_STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup -m "not slow"

synth: $(DEV_STAMP)
	CDK_OUTDIR=cdk.out $(PY) app.py

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/core/python/slo_engine

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schemas: $(RUNTIME_STAMP)
	$(PY) -m slo_engine.schemas docs/schemas

bench: $(DEV_STAMP)
	$(PY) bench/run.py

layer: | $(PY)
	rm -rf layers/deps/python/*/ && $(PIP) install -q -r layers/deps/requirements.txt \
	  --target layers/deps/python --platform manylinux2014_aarch64 --platform manylinux_2_34_aarch64 \
	  --implementation cp \
	  --python-version 3.12 --only-binary=:all: --upgrade

clean:
	rm -rf out cdk.out .pytest_cache .ruff_cache .mypy_cache .hypothesis
