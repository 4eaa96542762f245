"""Shared helpers of the plugin's tests: the example config and the recorded frames."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio.abc
from bridge.plugin import Option

from alert_bridge_jsonws import JsonWs

if sys.version_info >= (3, 11):
    import tomllib
else:  # alert-bridge depends on tomli there
    import tomli as tomllib

PACKAGE = Path(__file__).resolve().parent.parent
EXAMPLE = PACKAGE / "example.toml"
FRAMES = [
    json.loads(line) for line in (Path(__file__).parent / "frames.jsonl").read_text().splitlines()
]
TOKEN = "feed-token-0123"
EXE = str(Path(sys.executable).parent / "alert-bridge")

# Fast reconnects, no HTTP endpoint, state in the test's directory.
BRIDGE = """
[bridge]
state_dir = "{state}"
http = ""
reconnect_delay = "20ms"
reconnect_max_delay = "200ms"
auth_retry_delay = "0s"
"""


class Service:
    """A running ``alert-bridge run`` with its output in a file."""

    def __init__(self, process: anyio.abc.Process, log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


RunService = Callable[[dict[str, str]], AbstractAsyncContextManager[Service]]


def venue_table(**overrides: Any) -> dict[str, Any]:
    """The example's ``[venues.desk-feed]`` table (without ``plugin``), with ``overrides``."""
    table = tomllib.loads(EXAMPLE.read_text())["venues"]["desk-feed"]
    table.pop("plugin")
    table.update(url="ws://127.0.0.1:9/feed", token=TOKEN)
    table.update(overrides)
    return dict(table)


def make_venue(name: str = "desk-feed", **overrides: Any) -> JsonWs:
    """A JsonWs built as the core builds it: every option converted, defaults filled."""
    table = venue_table(**overrides)
    options = {o.name: _convert(o, table) for o in JsonWs.config_schema().options}
    return JsonWs(name, options)


def _convert(option: Option, table: dict[str, Any]) -> Any:
    return option.convert(table[option.name]) if option.name in table else option.default
