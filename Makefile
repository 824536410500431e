# gleamnb developer commands. Each target does its own set-up on a fresh machine:
# a .venv with the package (editable) and its extras, graphviz's `dot` binary, and iproute2's
# `ip` for root (the network-namespace cluster test; it skips without them).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: venv demo test lint format bench bench-deps bench-cluster bench-quick clean dot ip chromium

venv: $(STAMP) dot ip

# Debian's chromium: the notebook tests open JupyterLab in it (Playwright drives it; no
# browser download). Installed when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium with apt-get"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

# graphviz's `dot` draws the DAG pictures; install it when missing.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing graphviz (dot) with apt-get"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq graphviz >/dev/null; }

# iproute2's `ip` makes the network namespaces of tests/cluster/test_netns.py, which needs
# root; install it when missing, for root only (the test skips for other users).
ip:
	@[ "$$(id -u)" != "0" ] || command -v ip >/dev/null 2>&1 || { \
	  echo "installing iproute2 (ip) with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }

demo: venv
	$(BIN)/python examples/word_count.py

# lint-imports checks the layer contracts in pyproject.toml ([tool.importlinter]).
lint: venv
	$(BIN)/ruff check gleamnb tests examples benchmarks
	$(BIN)/ruff format --check gleamnb tests examples benchmarks
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format gleamnb tests examples benchmarks
	$(BIN)/ruff check --fix gleamnb tests examples benchmarks

test: lint chromium
	$(BIN)/python -m pytest --doctest-modules gleamnb tests -q

bench-deps: venv
	$(BIN)/python -m pip install -q -e ".[bench]"
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing a Java runtime for PySpark with apt-get"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq default-jre-headless >/dev/null; }

bench: bench-deps
	$(BIN)/python -m benchmarks.run --size full --repeat 3

# The cluster's rows again, with the local runner and Dask in the same run, folded into the
# full report (docs/benchmarks.md) with the cluster's fixed costs.
bench-cluster: bench-deps
	$(BIN)/python -m benchmarks.run --size full --repeat 3 --update \
	  --engines gleamnb,gleamnb-cluster,dask --workloads wordcount_builtin,join,sort

bench-quick: bench-deps
	$(BIN)/python -m benchmarks.run --size quick --repeat 1

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .import_linter_cache
