# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint openapi fuzz bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs are reproducible: exact versions from the committed lock, then the project itself.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

## make lock: refresh requirements.lock on purpose (newest versions pyproject.toml allows)
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | sed '/^-e /d' > requirements.lock
	rm -rf .lock-venv

## make run: install, migrate and serve on http://127.0.0.1:8000 (SQLite ./wnb.db, worker included)
run: $(STAMP)
	$(BIN)/wnb serve --host 127.0.0.1 --port 8000

## make test: install, check style, layers and types, then run the whole suite on SQLite and
## on PostgreSQL, in TEST_WORKERS processes (pytest-xdist; each has its own databases)
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

## make openapi: rewrite openapi/openapi.json from the app
openapi: $(STAMP)
	$(BIN)/python -m app.openapi_dump > openapi/openapi.json

bench: $(STAMP)
	$(BIN)/python bench/ingest

clean:
	rm -rf $(VENV) *.egg-info
