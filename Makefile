# Two entry points, each doing its own set-up on a fresh machine:
#   make run    venv + the app, then serve http://localhost:8000 with embedded defaults
#   make test   venv + dev tools + Debian packages (as root) + helm/kubectl, then every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-frontend lint-frontend lint typecheck bench frontend system-packages k8s-tools clean

run: $(VENV)/.app frontend
	HOLO_HOST=$(HOST) HOLO_PORT=$(PORT) $(BIN)/holo-tutor

test: $(VENV)/.dev system-packages k8s-tools frontend lint typecheck lint-frontend test-frontend
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff format --check app operator tests bench frontend/scripts
	$(BIN)/ruff check app operator tests bench frontend/scripts

# mypy strict over everything Python: the app, the operator and the TURN code they share, the
# benchmarks and the tests.
typecheck: $(VENV)/.dev
	$(BIN)/mypy app operator/holo_operator operator/holo_turn bench tests

bench: $(VENV)/.dev system-packages
	$(BIN)/python -m bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.app: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.app $@

# Pipecat for bench/voice.py's third capacity column (it runs bench/pipecat_peer.py with this
# venv's python when present, and skips the column otherwise).
.venv-pipecat/.bench-pipecat: pyproject.toml
	$(PYTHON) -m venv .venv-pipecat
	.venv-pipecat/bin/pip install -q -e '.[bench-pipecat]'
	touch $@

system-packages:
	scripts/install-system-packages

k8s-tools:
	scripts/install-k8s-tools

# The web app is built when its sources are here and npm is available; without them the
# server shows a page saying how to build it.
frontend:
	@if [ -f frontend/package.json ]; then \
	  if command -v npm >/dev/null; then \
	    [ -d frontend/node_modules ] || npm --prefix frontend ci --no-audit --no-fund; \
	    if [ ! -f frontend/dist/index.html ] || [ -n "$$(find frontend -path frontend/node_modules -prune \
	         -o -path frontend/dist -prune -o -type f -newer frontend/dist/index.html -print -quit)" ]; then \
	      npm --prefix frontend run build; \
	    else echo "make: frontend/dist is up to date"; fi; \
	  else echo "make: npm not found; serving without the web app (apt-get install npm)"; fi; \
	fi

# The web app's unit tests (vitest, once, not watching).
test-frontend: frontend
	npm --prefix frontend test

# ESLint over the web app: typescript-eslint, the rules of hooks, jsx-a11y, feature boundaries.
lint-frontend: frontend
	npm --prefix frontend run lint

clean:
	rm -rf $(VENV) .tools frontend/dist frontend/node_modules .pytest_cache .mypy_cache .ruff_cache
