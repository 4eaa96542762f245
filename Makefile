# `make demo` and `make test` work from a fresh clone with only python3 (>= 3.10) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

# The example third-party plugin is installed too: its tests and the main suite use it.
$(VENV)/.installed-test: pyproject.toml examples/venue-plugin/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]' -e examples/venue-plugin
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/alert-bridge demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check bridge plugins tests bench examples
	$(BIN)/ruff format --check bridge plugins tests bench examples

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# Programs some tests run besides Python packages, from Debian's packages where this runs as
# root with apt (CI does); elsewhere those tests skip, each saying what it needs.
# libfaketime: the clock-step tests run the service on a wall clock they can step.
# systemd: tests/test_systemd_boot.py boots it as PID 1 in namespaces (util-linux, which
# brings unshare and nsenter, is in every Debian system).
system-deps:
	@ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq && apt-get install -y -qq faketime; } >/dev/null 2>&1; } || \
	  echo "note: libfaketime not installed: the clock-step tests will be skipped"
	@[ -x /lib/systemd/systemd ] || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd; } \
	    >/dev/null 2>&1; } || \
	  echo "note: systemd not installed: the real-systemd test will be skipped"

unit: $(VENV)/.installed-test system-deps
	$(BIN)/python -m pytest

test: lint typecheck unit

# Speed is measured here, never in timed tests. Each prints its figure and its target.
bench: $(VENV)/.installed
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/outbox.py
	$(BIN)/python bench/webhooks.py --rounds 5
	$(BIN)/python bench/ws_pipeline.py
	$(BIN)/python bench/e2e.py --seconds 60
	$(BIN)/python bench/bitopro_snapshot.py --runs 50
	$(BIN)/python bench/skinshark_instances.py
	$(BIN)/python bench/order_state.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
