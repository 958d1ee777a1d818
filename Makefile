# The two commands a newcomer runs: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
# the interpreter itself, resolved now: once .venv/bin leads PATH, `python3` would be the venv's
SYSTEM_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nights the demo lives (empty: 3, or the scenario's own 15); SCENARIO=edges plants every rule's case
DAYS ?=
SCENARIO ?= usual
SANDBOX_PORT ?= 8765
# the Airflow UI (api-server) of `make cluster`
CLUSTER_PORT ?= 8080
# uv installs the pinned set (seconds, not minutes); INSTALLER=pip is the slower fallback.
INSTALLER ?= uv
# when this make started (for the demo's total, install included)
STARTED := $(shell date +%s.%N)

# A project-local Airflow: its home (metadata DB, logs) is gitignored, the DAG folder is dags/.
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True
export GX_ANALYTICS_ENABLED := false
export PATH := $(BIN):$(PATH)

.PHONY: demo cluster coverage ats-check test airflow install lint env constraints clean

## demo: install, prepare Airflow, live DAYS days (default 3) of the sandbox's story on DuckDB
demo: install
	$(BIN)/python -m sandbox.localdev demo $(if $(DAYS),--days $(DAYS)) --scenario $(SCENARIO) --sandbox-port $(SANDBOX_PORT) --started $(STARTED)

## cluster: the demo's story (DAYS days, default 3) through a local Celery cluster: Postgres
## (metadata, warehouse), redis-server, api-server, scheduler, dag-processor, triggerer, two workers
cluster: install
	@command -v redis-server >/dev/null || { echo "make cluster needs redis-server (the Celery broker): apt-get install redis-server"; exit 1; }
	$(BIN)/python -m sandbox.cluster $(if $(DAYS),--days $(DAYS)) --port $(CLUSTER_PORT) --sandbox-port $(SANDBOX_PORT) --started $(STARTED)

## coverage: which planning rules the warehouse's nights reached (and the edges scenario's cases)
coverage:
	$(BIN)/python -m aftercare.coverage $(if $(wildcard .airflow/logs/demo/scenario.json),--cases .airflow/logs/demo/scenario.json)

## ats-check: onboarding a real ATS: its fields, picklists and countries against the config, and
## a sample through the gate (python -m aftercare.ats doctor); writes nothing to the warehouse
ats-check: install
	$(BIN)/python -m aftercare.ats doctor

## test: lint and the whole test suite (what .ci/run calls)
test: lint
	$(BIN)/pytest

## airflow: the Airflow UI (airflow standalone) on the same config and sandbox
airflow: install
	$(BIN)/python -m sandbox.localdev airflow --sandbox-port $(SANDBOX_PORT)

install: $(VENV)/.installed

# The venv and the pinned set (requirements + constraints), with uv (its own pin is in
# requirements-dev.txt; the system Python's pip installs it into the venv when it is absent),
# or with pip when INSTALLER=pip. Same pins, same result either way.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@echo "install   .venv with the pinned dependencies ($(INSTALLER)) ..."
	@start=$$(date +%s%N); \
	set -e; \
	if [ "$(INSTALLER)" = uv ]; then \
	  test -x $(BIN)/python || $(SYSTEM_PYTHON) -m venv --without-pip $(VENV); \
	  test -x $(BIN)/uv || $(SYSTEM_PYTHON) -m pip install --quiet --disable-pip-version-check \
	    --root-user-action=ignore --prefix $(VENV) "$$(grep '^uv==' requirements-dev.txt)"; \
	  $(BIN)/uv pip install --quiet --system-certs --compile-bytecode --python $(BIN)/python \
	    -r requirements.txt -r requirements-dev.txt -c constraints.txt; \
	  $(BIN)/uv pip install --quiet --system-certs --python $(BIN)/python --no-deps -e .; \
	else \
	  $(SYSTEM_PYTHON) -m venv $(VENV); \
	  $(BIN)/pip install --quiet --disable-pip-version-check --root-user-action=ignore \
	    -r requirements.txt -r requirements-dev.txt -c constraints.txt; \
	  $(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .; \
	fi; \
	ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	echo "install   .venv with the pinned dependencies: done in $$((ms / 1000)).$$((ms % 1000 / 100)) s"
	@touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql --processes 2 --disable-progress-bar

## env: `eval "$$(make -s env)"` gives your shell the same Airflow settings
env:
	@echo 'export AIRFLOW_HOME=$(AIRFLOW_HOME) AIRFLOW__CORE__DAGS_FOLDER=$(AIRFLOW__CORE__DAGS_FOLDER)'
	@echo 'export AIRFLOW__CORE__PLUGINS_FOLDER=$(AIRFLOW__CORE__PLUGINS_FOLDER) AIRFLOW__CORE__LOAD_EXAMPLES=False'
	@echo 'export GX_ANALYTICS_ENABLED=false PATH=$(BIN):$$PATH'

## constraints: re-freeze the verified dependency set after changing requirements
constraints: install
	(echo "# The full dependency set verified together on Python 3.11 (uv pip freeze of a clean venv)."; \
	 echo "# Regenerate: make constraints"; \
	 $(BIN)/uv pip freeze --python $(BIN)/python --exclude-editable | grep -v '^aftercare') > constraints.txt

clean:
	rm -rf $(VENV) .airflow data .pytest_cache .ruff_cache
