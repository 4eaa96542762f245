"""Shared fixtures for the whole suite."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from bridge.config import Config, parse_config
from bridge.plugins import plugin_host

REPO = Path(__file__).resolve().parent.parent

# CI runs property tests derandomized, so a submission's result never depends on luck;
# local runs stay random and keep exploring (a failure found there becomes a fixed test).
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# A minimal valid configuration that tests extend with their own [[rules]] tables.
BASE_CONFIG = """
[bridge]
state_dir = "{state_dir}"
http = ""

[venues.gate-main]
plugin = "gateio"
api_key = "k"
api_secret = "s"

[venues.gate-alt]
plugin = "gateio"
api_key = "k2"
api_secret = "s2"

[notifiers.desk]
urls = ["json://127.0.0.1:9/alerts"]

[webhooks.ops]
url = "http://127.0.0.1:9/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Build a validated Config from BASE_CONFIG plus extra TOML (usually rules)."""

    def build(extra: str = "", environ: dict[str, str] | None = None) -> Config:
        text = BASE_CONFIG.format(state_dir=tmp_path / "state") + extra
        return parse_config(text, environ=environ or {}, venue_plugins=plugin_host().venues)

    return build


def fill(**fields: Any) -> dict[str, Any]:
    """A fill event's JSON shape with sensible defaults, overridden by ``fields``."""
    base: dict[str, Any] = {
        "kind": "fill",
        "venue": "gate-main",
        "plugin": "gateio",
        "ts": 1_700_000_000_000,
        "trade_id": "1",
        "order_id": "o1",
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "side": "buy",
        "role": "taker",
        "price": "30000",
        "amount": "1",
        "notional": "30000",
        "fee": "0",
        "fee_asset": "USDT",
    }
    base.update(fields)
    return base


def balance(**fields: Any) -> dict[str, Any]:
    """A balance event's JSON shape with sensible defaults, overridden by ``fields``."""
    base: dict[str, Any] = {
        "kind": "balance",
        "venue": "gate-main",
        "plugin": "gateio",
        "ts": 1_700_000_000_000,
        "asset": "USDT",
        "total": "6000",
        "available": "6000",
        "locked": "0",
    }
    base.update(fields)
    return base
