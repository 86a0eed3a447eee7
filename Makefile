# Riadó: the two commands of the README, and the set-up they share.
#   make run     set up, load the demo district once, serve on http://127.0.0.1:5000
#   make setup   set-up only (.venv, system libraries, schema)
#   make test    set-up + PostgreSQL/PostGIS + Redis + Chromium, then every test on both backends
#   make test-fast  the fast part on SQLite alone: no browser, fault or slow tests
#   make guide   the officer's guide's pictures again (incident/static/help; make test takes them too)
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
# Two processes (pytest-xdist), each with its own database, instance folder and Redis; the
# fault tests share one of them (xdist_group). The 25 slowest tests close each run.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25
BENCH_ARGS ?=
TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: setup run test test-fast guide system system-test schema translations translations-update bench audit clean

setup: system $(VENV)/.installed translations schema

system:
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh

system-test:
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh --test

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d incident/translations 2>&1 | sed "/^compiling catalog/d"

schema: $(VENV)/.installed
	@$(BIN)/riado db upgrade 2>&1 | sed '/^INFO /d'

run: setup
	@$(BIN)/riado demo load
	@echo "Open http://$(HOST):$(PORT) and sign in with the demo login above."
	@exec $(BIN)/riado run --host $(HOST) --port $(PORT)

test: setup system-test
	@echo "=== Riadó tests on SQLite + SpatiaLite ==="
	@$(PYTEST) --db=sqlite $(PYTEST_ARGS)
	@echo "=== Riadó tests on PostgreSQL + PostGIS ==="
	@$(PYTEST) --db=postgis --pg-url=$(TEST_PG_URL) $(PYTEST_ARGS)

# While working: everything but the browser, fault and slow tests, on SQLite.
test-fast: setup system-test
	@$(PYTEST) --db=sqlite -m "not browser and not fault and not slow" $(PYTEST_ARGS)

# The guide's pictures (incident/static/help/<lang>/*.png): the browser walks each task of the guide
# on the demo district, the clock stopped, and writes a picture only where its pixels changed. The
# same test runs in make test, so a changed page changes its picture there too.
guide: setup system-test
	@$(PYTEST) --db=sqlite tests/browser/test_guide_screens.py $(PYTEST_ARGS)
	@git status --short incident/static/help 2>/dev/null || true

bench: setup system-test
	@$(BIN)/python bench/all.py $(BENCH_ARGS)

# Known vulnerabilities in the packages installed in .venv (pip-audit, from a tool venv of its
# own, so that its own dependencies are not audited). Not part of `make test`: it needs PyPI's
# per-release JSON API (https://pypi.org/pypi/NAME/VERSION/json), which a mirror or a closed
# network may not serve. --strict makes a package that could not be checked a failure, not a
# silent pass.
AUDIT_VENV := .venv-audit
audit: $(VENV)/.installed
	@test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT_VENV) && \
		$(AUDIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'pip-audit>=2.7,<3'; }
	@$(AUDIT_VENV)/bin/pip-audit --strict --skip-editable --progress-spinner off \
		--path "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

clean:
	rm -rf $(VENV) $(AUDIT_VENV) .pytest_cache

# After changing UI strings: refresh the catalog, translate the new entries in
# incident/translations/hu/LC_MESSAGES/messages.po, then `make translations`.
translations-update: $(VENV)/.installed
	@$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -k system_text --no-location --sort-output --project Riado \
		-o incident/translations/messages.pot . >/dev/null
	@$(BIN)/pybabel update -i incident/translations/messages.pot -d incident/translations --no-fuzzy-matching >/dev/null
