# Rushline — two commands on a fresh Debian machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT := false
SAMPLES := sample_media/out

.PHONY: setup system-deps samples demo test lint format bench bench-quick ui clean cluster-demo server worker deployments

setup: $(STAMP) system-deps

# Re-install when the package definition changes.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11+ is needed: apt-get install python3 python3-venv"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is needed"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -e '.[dev]'
	touch $(STAMP)

# Debian packages Rushline runs (ExifTool for metadata; DejaVu and a CJK fallback font for
# burnt-in text and PDFs) and those its tests use (poppler-utils renders the PDFs we make;
# espeak-ng speaks the dialogue of the dialogue-loudness tests; PostgreSQL serves the catalogue
# tests on a real server, started per test run in a temporary folder). Installed when missing.
APT_DEPS := libimage-exiftool-perl fonts-dejavu-core fonts-droid-fallback poppler-utils espeak-ng \
	postgresql

system-deps:
	@missing=$$(for p in $(APT_DEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing $$missing"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then \
	    sudo apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: missing Debian packages: $$missing (apt-get install $$missing)"; fi; \
	fi

samples: setup
	$(PY) -m sample_media $(SAMPLES)

demo: setup samples
	$(PY) -m flows.demo --samples $(SAMPLES) --out out/demo

# Several machines (README "Running on more machines"): one server, a worker on each machine.
HOST ?= 127.0.0.1
PORT ?= 4200
POOL ?= rushline
RUNS ?= 2
API ?= http://127.0.0.1:$(PORT)/api
# The UI calls the API from the browser: with HOST=0.0.0.0 it needs this machine's name.
PUBLIC_API ?= http://$(if $(filter 0.0.0.0,$(HOST)),$(shell hostname -f),$(HOST)):$(PORT)/api

server: setup
	PREFECT_SERVER_UI_API_URL=$(PUBLIC_API) $(VENV)/bin/prefect server start --host $(HOST) \
		--port $(PORT) --analytics-off

# PREFECT_CLIENT_MAX_RETRIES=7: the worker and its runs ride out a server restart of up to
# about 4 minutes (backoff 2+4+...+128 s; Prefect's default gives up after about one).
worker: setup
	PREFECT_API_URL=$(API) PREFECT_CLIENT_MAX_RETRIES=7 $(VENV)/bin/prefect worker start --pool $(POOL) --type process \
		--name "$$(hostname)" --limit $(RUNS) --install-policy never

deployments: setup
	$(PY) -m flows.deployments --pool $(POOL) --api $(API)

# A local Dask scheduler and two worker processes: batch QC, split QC of the master and a photo
# export across them, each compared with the local run; stops what it started, by process id.
cluster-demo: setup samples
	$(PY) -m flows.cluster_demo --samples $(SAMPLES) --out out/cluster-demo

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n 2 --dist loadgroup

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench

bench-quick: setup
	$(PY) -m bench --quick

ui: setup
	$(VENV)/bin/prefect server start

clean:
	rm -rf out $(SAMPLES) bench/out .pytest_cache .ruff_cache
