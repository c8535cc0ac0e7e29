# Everyday commands. Every variable can be overridden: `make test PYTHON=python3.11`,
# `make test PYTEST_ARGS='-x -k referrals'`, `make run PORT=8000`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
EXTRAS ?= test,prod

.DEFAULT_GOAL := help

.PHONY: help venv run test lint worker bench services-start services-stop translations settings-table

help:
	@echo "make venv            create $(VENV) and install the project with [$(EXTRAS)] (make run installs the hub alone)"
	@echo "make run             migrate, load partners and demo data, serve on 127.0.0.1:\$${PORT:-5000}"
	@echo "make test            the suite on SQLite then PostgreSQL, with Redis (scripts/test.sh)"
	@echo "make lint            ruff check and ruff format --check"
	@echo "make worker          an rq worker for the delivery jobs"
	@echo "make bench           the benchmark harness (bench/run.sh)"
	@echo "make services-start  start the test PostgreSQL and Redis (prints export lines)"
	@echo "make services-stop   stop them"
	@echo "make translations    re-extract portal messages, update and compile the English catalogue"
	@echo "make settings-table  rewrite README's configuration table from referral_hub/config.py"

venv: $(VENV)/.installed

# Reinstalled whenever the package metadata changes.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/pip install -e '.[$(EXTRAS)]'
	touch $@

# What running the hub needs, and nothing more (no test tools, no browser driver, no
# gunicorn): the first page comes sooner on a new machine. A full venv serves as well.
$(VENV)/.installed-run: setup.cfg pyproject.toml
	@if [ -f $(VENV)/.installed ] && [ $(VENV)/.installed -nt setup.cfg ] \
		&& [ $(VENV)/.installed -nt pyproject.toml ]; then touch $@; else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/pip install --disable-pip-version-check -e . && touch $@; fi

run worker: export FLASK_APP = wsgi

run: $(VENV)/.installed-run
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi hub load-partners
	$(BIN)/flask --app wsgi hub demo
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $${PORT:-5000}

test: venv
	bash scripts/test.sh $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

worker: $(VENV)/.installed-run
	$(BIN)/flask --app wsgi hub worker

bench: venv
	bash bench/run.sh

services-start:
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop

# Portal messages: Indonesian source strings, English catalogue. Translate the new
# (empty) msgstr entries in the .po, then run this again to compile the .mo.
translations: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-location=file \
		--sort-output --project referral_hub -o referral_hub/translations/messages.pot .
	$(BIN)/pybabel update -i referral_hub/translations/messages.pot \
		-d referral_hub/translations -l en --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d referral_hub/translations -l en --statistics

# README's configuration table is made from the settings table (a test compares them).
settings-table: venv
	$(BIN)/python -c 'import pathlib, re; from referral_hub.config import settings_markdown; \
		p = pathlib.Path("README.md"); \
		p.write_text(re.sub(r"\| variable \| meaning \|\n(?:\|.*\n)+", \
		lambda m: settings_markdown() + "\n", p.read_text(), count=1))'
