# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
# The test profile: PostgreSQL and Redis on this machine (CI starts them when they are down).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
# The test database is built afresh for every run. Locally, `REUSE_DB=1` (or
# PYTEST_ARGS=--reuse-db) keeps it between runs (new migrations still apply), which saves
# the half minute of building it; CI (CI=true) always builds it fresh.
ifeq ($(CI),true)
TEST_DB_ARGS := --create-db
else ifneq ($(REUSE_DB),)
TEST_DB_ARGS := --reuse-db
endif

.PHONY: help run test install install-dev system-packages browser-packages messages migrate demo \
        lint format check-migrations test-postgres test-embedded services clean

help:
	@echo "make run    install and serve the portal with demo data on http://127.0.0.1:$(PORT)"
	@echo "make test   install everything and run the whole test suite"

# --- installing ------------------------------------------------------------------------------
system-packages:
	@if ! command -v msgfmt >/dev/null; then \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gettext; fi

browser-packages:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-wqy-microhei; fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --silent

install: system-packages $(VENV)/.installed messages
install-dev: install browser-packages $(VENV)/.installed-dev node_modules/.package-lock.json

messages: $(VENV)/.installed
	$(PY) manage.py compilemessages --ignore '.venv' --ignore 'node_modules' -v 0

# --- running -----------------------------------------------------------------------------------
migrate: install
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py createcachetable

demo: migrate
	$(PY) manage.py load_demo

# The embedded default: SQLite in ./var, a Celery worker (with beat) on a filesystem broker.
# PORT reaches both processes: links in e-mail and SMS follow it (settings.PORTAL_BASE_URL).
# E-mails go to files in var/mail (one per message) instead of filling the terminal.
RUN_ENV := EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend EMAIL_FILE_PATH=var/mail

run: export PORT := $(PORT)
run: migrate
	@$(RUN_ENV) $(PY) manage.py load_demo
	@echo "Serving on http://127.0.0.1:$(PORT); e-mails are written to var/mail/ (Ctrl-C stops the web server and the worker)"
	@$(RUN_ENV) $(VENV)/bin/celery -A portal --quiet worker --beat --pool=solo --loglevel=warning \
	    --schedule var/celerybeat-schedule & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT) --skip-checks

# --- testing -----------------------------------------------------------------------------------
services:
	@scripts/ensure-services.sh

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check-migrations: install
	$(PY) manage.py makemigrations --check --dry-run

test-postgres: install-dev services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DEBUG=true \
	  PORTAL_VAR_DIR=var/test-postgres $(VENV)/bin/pytest $(TEST_DB_ARGS) $(PYTEST_ARGS)

# A smoke run on the embedded default (SQLite, no Redis), everything but the browser tests.
test-embedded: install-dev
	env -u DATABASE_URL -u REDIS_URL PORTAL_TEST_PROFILE=embedded PORTAL_VAR_DIR=var/test-embedded \
	  $(VENV)/bin/pytest -m "not e2e and not redis" -q $(TEST_DB_ARGS) $(PYTEST_ARGS)

test: install-dev lint check-migrations test-postgres test-embedded

clean:
	rm -rf var node_modules $(VENV)
