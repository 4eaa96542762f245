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
# promtool: tests/test_contrib.py checks contrib/'s rules and dashboard queries with it. Only
# that program is taken from Debian's prometheus package (into .venv/bin, 3 s, 48 MB):
# installing the package would also enable a Prometheus server, which every systemd the
# tests boot on this root would then start.
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
	@command -v promtool >/dev/null || [ -x $(BIN)/promtool ] || \
	  { command -v apt-get >/dev/null && tmp=$$(mktemp -d) && chmod 755 $$tmp && \
	    { [ "$$(id -u)" != 0 ] || apt-get update -qq; } >/dev/null 2>&1 && \
	    (cd $$tmp && apt-get download -qq prometheus) >/dev/null 2>&1 && mkdir -p $(BIN) && \
	    dpkg-deb --fsys-tarfile $$tmp/prometheus_*.deb | tar -xO ./usr/bin/promtool >$$tmp/promtool && \
	    chmod 755 $$tmp/promtool && mv $$tmp/promtool $(BIN)/promtool; \
	    rm -rf $$tmp; [ -x $(BIN)/promtool ]; } || \
	  echo "note: promtool not installed: contrib/'s rules get a YAML/PromQL-shape check only"

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
	$(BIN)/python bench/dead_receiver.py --down 60
	$(BIN)/python bench/bitopro_snapshot.py --runs 50
	$(BIN)/python bench/skinshark_instances.py
	$(BIN)/python bench/order_state.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
