# etlsite: `make run` sets up and serves on http://127.0.0.1:8000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# API requests are CPU-bound Python: threads of one process queue on the GIL
# (bench/load_api.py: 4 threads per worker doubled the read p99 against 1), so
# scale with processes, about one per core (docs/operations.md).
WEB_WORKERS ?= 2
WEB_THREADS ?= 1

.PHONY: run serve port-free test lint format install install-dev setup clean screenshots

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Local secrets are generated once into .env (never committed).
.env:
	$(PY) -c "import secrets; from cryptography.fernet import Fernet; \
	print(f'SECRET_KEY={secrets.token_urlsafe(50)}'); print(f'ETL_CREDENTIALS_KEY={Fernet.generate_key().decode()}')" > $@

setup: install .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py initialize
	$(PY) manage.py demo_data

# A local development server: the web app and one background worker; Ctrl-C
# stops both (etlsite/devserver.py says why it is not a shell trap). The port
# is checked first, before anything is installed or migrated (one step after
# the other, also under `make -j`). Production runs
# the same two processes under a supervisor: docs/operations.md.
run: port-free
	@$(MAKE) --no-print-directory setup
	@$(MAKE) --no-print-directory serve

port-free:
	@$(PYTHON) etlsite/devserver.py check-port $(HOST) $(PORT)

# Only the servers, on an installed and migrated checkout (`make run` without setup).
serve:
	@$(PY) etlsite/devserver.py serve $(HOST) $(PORT) -- \
	  $(VENV)/bin/gunicorn etlsite.wsgi --workers $(WEB_WORKERS) --threads $(WEB_THREADS) --access-logfile -

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(VENV)/bin/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The screenshots README.md and docs/ui.md show, written on purpose: tests
# write theirs to a temporary folder, so `make test` leaves `git status` clean.
screenshots: install-dev
	ETL_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots PLAYWRIGHT_CHROMIUM_EXECUTABLE=/usr/bin/chromium \
	  $(VENV)/bin/pytest tests/ui/docs_screenshots.py tests/ui/test_browser.py -p no:cacheprovider -q

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
