# `make dev` runs the pipeline with its embedded stack; `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test lint install browser tls-postgres bench-tools clean-dev mutants

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser test drives Debian's Chromium (Playwright's own browser download is not available).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Chromium (/usr/bin/chromium) for the browser test: sudo apt-get install chromium"; fi; }

# The TLS tests need a PostgreSQL built with SSL (pgserver's is not): Debian's, run as its postgres user.
tls-postgres:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; \
	  else echo "install PostgreSQL 15 for the TLS tests: sudo apt-get install postgresql-15"; fi; }

# The comparisons bench/pitr.py makes when they are installed (never part of `make test`): pgBackRest
# (Debian's 2.45 supports PostgreSQL <= 15) and Debian's PostgreSQL 15 for it to back up.
bench-tools:
	@command -v pgbackrest >/dev/null && test -x /usr/lib/postgresql/15/bin/postgres || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest postgresql-15 >/dev/null; \
	  else echo "install pgBackRest and PostgreSQL 15 for bench/pitr.py: sudo apt-get install pgbackrest postgresql-15"; fi; }

dev: $(STAMP)
	$(VENV)/bin/hv dev

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) browser tls-postgres
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# Mutation testing of the safety-critical modules (hours; not in CI): see docs/testing.md.
# GROUP=terminology runs one group of modules; MUTANTS='glob' only the mutants whose names match.
mutants: $(STAMP)
	$(PY) tools/mutants.py $(if $(GROUP),--group $(GROUP)) $(MUTANTS)

clean-dev:
	rm -rf .hv
