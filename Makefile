# Meadow. `make run` and `make test` are the two commands a newcomer needs (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# `make run` has no proxy in front: uvicorn must not believe X-Forwarded-For from anyone (by default it believes
# any client on 127.0.0.1). Behind a local proxy: make run PROXY_ARGS="--proxy-headers --forwarded-allow-ips=127.0.0.1"
PROXY_ARGS ?= --no-proxy-headers
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test test-fast test-e2e test-profiles chaos lint format demo openapi messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The step both commands share: a virtualenv with the package and its dev tools, compiled translations.
install: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@# rapidocr depends on the GUI opencv-python, nudenet on opencv-python-headless: both write cv2/. Reinstall
	@# the headless build last so cv2 needs no libGL (servers and CI machines have no display libraries).
	@if $(BIN)/pip show -q opencv-python >/dev/null 2>&1; then \
	  $(BIN)/pip install -q --force-reinstall --no-deps "opencv-python-headless==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"; fi
	$(BIN)/pybabel -q compile -d meadow/locale -D django

# Embedded default: SQLite (WAL) under ./var, in-memory channel layer, and the Procfile's three processes (web,
# a Celery worker, beat) on a SQLite broker file, run together by honcho. No other server; Ctrl-C stops all.
run: install
	$(BIN)/meadow migrate --no-input -v0
	$(BIN)/meadow demo --if-empty
	PATH="$(abspath $(BIN)):$$PATH" HOST=$(HOST) PROXY_ARGS="$(PROXY_ARGS)" $(BIN)/python -m meadow.core.procfile start -f Procfile -p $(PORT)

# The whole suite: unit, API, pages, contract and browser tests, in parallel.
test: install
	$(BIN)/pytest -n auto

test-fast: install
	$(BIN)/pytest -n auto -m "not e2e"

# The same suite on the scale profile (PostgreSQL + Redis on localhost); .ci/run does this too.
test-profiles: install
	MEADOW_TEST_POSTGRES=1 MEADOW_TEST_REDIS=1 $(BIN)/pytest -n auto

# Fault checks (docs/operations.md, "Faults"): private PostgreSQL and Redis on free ports, web and worker
# processes, bounded traffic to 127.0.0.1; restarts only those private servers. Needs root (tmpfs, runuser).
chaos: install
	MEADOW_CHAOS=1 $(BIN)/pytest tests/chaos -p no:randomly -p no:xdist -v -s

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install
	$(BIN)/meadow migrate --no-input -v0
	$(BIN)/meadow demo

openapi: install
	$(BIN)/meadow openapi --write

# Re-extract translatable strings (needs GNU gettext's xgettext), then translate the new entries.
messages: install
	$(BIN)/meadow makemessages -l zh_Hans -l ms -l en --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' --ignore='bench/*' --no-obsolete

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
