# Quick start: `make run` (demo on http://127.0.0.1:8000) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint install clean mutation

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	# face_recognition declares the `dlib` sdist; its module comes from dlib-bin above.
	$(BIN)/pip install --quiet --no-deps -c constraints.txt face-recognition==1.3.0
	touch $(STAMP)

install: $(STAMP)

# The demo: SQLite file under instance/, tasks in process, demo accounts (password "demo").
run: export DEMO_MODE = 1
run: $(STAMP)
	$(BIN)/hospital db upgrade
	$(BIN)/hospital seed-demo
	PORT=$(PORT) $(BIN)/hospital serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m dev.house_rules

# The suite runs on PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL); without
# PostgreSQL it falls back to SQLite and says so, unless REQUIRE_SERVICES=1.
test: lint
	$(BIN)/pytest

# Mutation testing of the safety modules (dev/mutation.py): slow, not part of `make test`.
mutation: $(STAMP)
	$(BIN)/python -m dev.mutation $(MODULES)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
