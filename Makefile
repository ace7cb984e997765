# Laurel's entry points. `make run` and `make test` are the two commands a new user needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
ROLE ?= admin
MEMBER ?=

.DEFAULT_GOAL := help
.PHONY: help run test test-dates token worker schema schema-check migrations migrate demo bench lint clean rebuild-leaderboard

help:
	@echo "make run         serve GraphQL on http://127.0.0.1:8000/graphql, the console (/console) and portal (/portal) (SQLite, demo data)"
	@echo "make test        run the whole test suite"
	@echo "make test-dates  run the SQLite half of the suite with the clock moved 45 and 400 days ahead"
	@echo "make token       mint a development token: ROLE=member|marketer|admin|service [MEMBER=demo-0001]"
	@echo "make worker      run an arq worker against LAUREL_REDIS_URL"
	@echo "make schema      regenerate graphql/schema.graphql and docs/api/roles.md"
	@echo "make migrations  create a migration from model changes"
	@echo "make bench       run the benchmarks in bench/"
	@echo "make rebuild-leaderboard BOARD=code [PERIOD=2026-W48]  rebuild a board's Redis index"
	@echo "make lint        ruff and mypy"

# The virtualenv is rebuilt when pyproject.toml changes; dev extras are always installed so
# that `make run` and `make test` share one environment.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Laurel needs Python 3.11 or newer (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/laurel serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# No test may depend on the real date: the SQLite half of the suite again under libfaketime,
# with the clock 45 and 400 days ahead (tests/dates.sh says how).
test-dates: $(STAMP)
	@bash tests/dates.sh $(BIN)/python $(PYTEST_ARGS)

token: $(STAMP)
	@$(BIN)/laurel token --role $(ROLE) $(if $(MEMBER),--member $(MEMBER))

worker: $(STAMP)
	@test -n "$$LAUREL_REDIS_URL" || { echo "make worker needs LAUREL_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"; exit 2; }
	$(BIN)/arq workers.settings.WorkerSettings

schema: $(STAMP)
	$(BIN)/laurel schema
	$(BIN)/laurel roles

schema-check: $(STAMP)
	$(BIN)/laurel schema --check
	$(BIN)/laurel roles --check

migrations: $(STAMP)
	$(BIN)/tortoise makemigrations

migrate: $(STAMP)
	$(BIN)/laurel migrate

demo: $(STAMP)
	$(BIN)/laurel demo

bench: $(STAMP)
	@set -e; scripts="$(filter-out bench/_%,$(wildcard bench/*.py))"; [ -n "$$scripts" ] || { echo "no benchmarks in bench/ yet"; exit 0; }; \
	for script in $$scripts; do echo "== $$script"; $(BIN)/python $$script; done

rebuild-leaderboard: $(STAMP)
	@test -n "$(BOARD)" || { echo "usage: make rebuild-leaderboard BOARD=code [PERIOD=2026-W48|2026-12|2026-12-04|all-time|season-code]"; exit 2; }
	$(BIN)/laurel rebuild-leaderboard $(BOARD) $(if $(PERIOD),--period $(PERIOD))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
