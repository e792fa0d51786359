# Two commands on a fresh machine: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint fmt screenshots bench clean

run: setup
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && [ -z "$$QT_QPA_PLATFORM" ]; then \
	  echo "No display found. On a desktop, run this from your session; on a server, use 'xvfb-run make run'"; \
	  echo "or QT_QPA_PLATFORM=offscreen make run (no visible window)."; exit 1; fi
	$(BIN)/portal run

# The suite runs in parallel (pytest-xdist), one file per worker at a time so a module's shared
# service stays shared. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 3

test: setup
	@./scripts/ensure-postgres.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --ignore=tests/journeys
	# Journeys: the real app on its own Xvfb (xcb plugin), so a process of their own (one per worker).
	$(BIN)/pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile tests/journeys

setup: $(STAMP)
	@./scripts/ensure-system-deps.sh

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Portal needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

screenshots: setup
	$(BIN)/python -m portal_app.screenshots out/screenshots

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache out
