# Two set-up commands: `make demo` (generate, serve and query the sample project) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	scripts/install-system-deps.sh

demo:
	scripts/install-system-deps.sh --demo
	scripts/demo.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

test: install system-deps lint
	$(BIN)/python -m pytest

bench: install
	scripts/install-system-deps.sh --bench
	$(BIN)/python bench/serve_throughput

clean:
	rm -rf $(VENV) .cache build
