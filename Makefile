# The two commands: `make run` (set up and serve) and `make test` (set up and test).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format bench worker setup browser-deps clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv \
	  && $(VENV)/bin/uv pip install -q --python $(PY) -r requirements-dev.txt \
	  || $(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py setup_demo

# Web and task worker together on http://$(HOST):$(PORT) until Ctrl-C. (`migrate` in
# setup has just run the system checks: the server skips them to answer sooner.)
run: setup
	@echo "Serving on http://$(HOST):$(PORT)/ with a task worker — Ctrl-C stops both."
	@trap 'kill 0' INT TERM EXIT; \
	  DEBUG=true SITE_URL=http://$(HOST):$(PORT) $(PY) manage.py qcluster & \
	  DEBUG=true SITE_URL=http://$(HOST):$(PORT) $(PY) manage.py runserver --skip-checks $(HOST):$(PORT)

worker: $(STAMP)
	DEBUG=true $(PY) manage.py qcluster

test: $(STAMP)
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads one).
browser-deps:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

clean:
	rm -rf $(VENV) staticfiles

# The targets of docs/performance.md, measured on the local PostgreSQL; prints a table, exits 1 when
# a row is over its target. The first run generates the data (about 5 minutes, kept).
# Quicker: BENCH_SAMPLES=50 BENCH_SKIP=import,alerts,load make bench; BENCH_PRICE_DAYS=30
# for a smaller history (a change of days regenerates it). BENCH_SCALE=1,2,4: the scale curve
# instead (bench/scale.py), cards and history multiplied, each scale in its own database.
bench: $(STAMP)
	$(PY) bench/$(if $(BENCH_SCALE),scale,run).py
