# Soft Token IdP — the two quickstart commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-16)
INTEROP := tests/interop
NODE_STAMP := $(INTEROP)/node_modules/.installed

.PHONY: run test lint typecheck unit bootstrap clean bench

bootstrap: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

$(NODE_STAMP): $(INTEROP)/package.json $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# make run PORT=8080 PORTAL_PORT=8081: the IdP (its issuer follows) and the demo portal
run: $(STAMP)
	$(BIN)/python -m idp.devserver $(if $(PORT),--port $(PORT)) $(if $(PORTAL_PORT),--portal-port $(PORTAL_PORT))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Two pytest workers (pytest-xdist), each test file on one of them: most tests wait on a server,
# a browser or a subprocess, so two share the 2-core machine well. PYTEST_ARGS= runs serially.
PYTEST_ARGS ?= -n 2 --dist loadfile

test: $(STAMP) $(NODE_STAMP) lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/oidc_endpoints.py

clean:
	rm -rf $(VENV) $(INTEROP)/node_modules var
