# CreditGuard — `make run` and `make test` are all a newcomer needs (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Parallel test processes; CI machines have 2 cores.
TEST_WORKERS ?= 2

.PHONY: help install run test lint format migrate seed messages chromium clean-data bench load

help:
	@echo "make run     install, migrate, load demo data, start web + worker + beat"
	@echo "make test    the whole test suite (real PostgreSQL, Redis, Celery, Chromium)"
	@echo "make lint    ruff check and format check, import layers (import-linter), types (mypy)"
	@echo "make bench   the benchmarks in bench/"
	@echo "make load    locust against gunicorn with the demo data (bench/load.py)"

$(INSTALLED): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

install: $(INSTALLED)

run: install
	$(BIN)/python -m creditguard.devstack run

# Browser tests drive Debian's Chromium; install it with apt when it is missing (as root, or
# through passwordless sudo). Under CI=true a failed install stops here; locally the browser
# tests then skip.
chromium:
	@sh scripts/install-chromium.sh || [ "$${CI:-}" != true ]

test: install chromium
	$(BIN)/python -m creditguard.devstack exec -- $(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Contracts and mypy settings are in pyproject.toml; both keep a cache (.import_linter_cache,
# .mypy_cache), so a second run takes seconds.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/python -m creditguard.devstack exec -- env CREDITGUARD_DB_ROLE=owner $(BIN)/python manage.py migrate

seed: install
	$(BIN)/python -m creditguard.devstack exec -- $(BIN)/python manage.py seed_demo

# Regenerate the zh-Hans catalogue after adding strings, then translate the new entries.
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=staticfiles --no-obsolete
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

# Each benchmark prints its ratios against a baseline measured in the same run (bench/README.md).
bench: migrate
	$(BIN)/python -m creditguard.devstack exec -- sh -c 'status=0; \
	  for bench in ingest rescore credit_check deadlines reports dashboard model; do $(BIN)/python bench/$$bench.py || status=1; done; \
	  exit $$status'

# A mixed locust workload on the demo data; 0 errors expected. LOAD_ARGS="--users 40 --run-time 120"
load: migrate
	$(BIN)/python -m creditguard.devstack exec -- sh -c \
	  '$(BIN)/python manage.py seed_demo >/dev/null && $(BIN)/python bench/load.py $(LOAD_ARGS)'


clean-data:
	$(BIN)/python -m creditguard.devstack reset
