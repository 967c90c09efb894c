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

# Web and task worker together on http://$(HOST):$(PORT) until Ctrl-C. The worker starts
# once the server listens (its start-up would slow the first page), and `migrate` in setup
# has just run the system checks, so the server skips them.
run: setup
	@echo "Serving on http://$(HOST):$(PORT)/ with a task worker — Ctrl-C stops both."
	@trap 'kill 0' INT TERM EXIT; \
	  (until $(PY) -c "import socket; socket.create_connection(('$(HOST)', $(PORT)), 1)" \
	     2>/dev/null; do sleep 1; done; \
	   DEBUG=true SITE_URL=http://$(HOST):$(PORT) $(PY) manage.py qcluster) & \
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

# The targets of docs/performance.md, each a ratio measured side by side in one run on the
# local PostgreSQL; prints a table, exits 1 when a row is over its target. The first run
# generates the data (about 5 minutes, kept). Quicker: BENCH_SAMPLES=50 and BENCH_SKIP=
# any of pages,movers,collections,alerts,import,load,first-run; BENCH_PRICE_DAYS=30 for a
# smaller history (a change of days regenerates it).
# BENCH_SCALE=1,2,4: the scale curve instead (bench/scale.py), cards and history multiplied,
# each scale in its own database.
bench: $(STAMP)
	$(PY) bench/$(if $(BENCH_SCALE),scale,run).py
