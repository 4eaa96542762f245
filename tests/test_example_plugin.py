"""The example third-party plugin (examples/venue-plugin), installed as users install one.

``make test`` installs it into the test environment; these tests see it the way an
operator does (``alert-bridge plugins``, ``alert-bridge check``) and exercise each plugin
hook through the real plugin host. Its own tests live in examples/venue-plugin/tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pluggy
import pytest

from bridge import hookimpl, hookspecs
from bridge.destination import Destination
from bridge.errors import PluginError
from bridge.plugins import PluginHost, _collect, load_plugins
from tests.conftest import REPO

EXE = str(Path(sys.executable).parent / "alert-bridge")
EXAMPLE = REPO / "examples" / "venue-plugin" / "example.toml"
ENVIRON = {
    "FEED_URL": "wss://feed.example.com/v1/stream",
    "FEED_TOKEN": "feed-token-0123",
    "OPS_HOOK_URL": "https://ops.example.com/hook",
    "OPS_HOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "AUDIT_LOG": "/tmp/alert-bridge-audit.jsonl",
}


def cli(*arguments: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **(environ or {})},
        timeout=60,
    )


def test_alert_bridge_plugins_lists_the_installed_example() -> None:
    listing = json.loads(cli("plugins", "--json").stdout)
    [plugin] = [p for p in listing["plugins"] if p["name"] == "jsonws"]
    assert plugin["version"] == "0.1.0"  # the distribution's own version
    [venue] = plugin["venues"]
    assert venue["name"] == "jsonws"
    assert venue["kinds"] == ["order", "fill", "balance", "deposit", "account", "notice"]
    assert set(venue["options"]) == {
        "token",
        "subscribe",
        "signals",
        "mappings",
        "url",
        "idle_timeout",
    }
    assert plugin["destinations"] == [
        {
            "kind": "jsonl",
            "options": [
                "path",
                "timeout",
                "retry",
                "max_attempts",
                "concurrency",
                "circuit_breaker",
            ],
        }
    ]
    text = cli("plugins").stdout
    assert "destination kind [jsonl.NAME]: path, timeout" in text
    text = cli("plugins").stdout
    assert "jsonws 0.1.0\n  venue jsonws: order, fill, balance, deposit, account, notice" in text


def test_alert_bridge_check_accepts_the_example_config() -> None:
    result = cli("check", "-c", str(EXAMPLE), environ=ENVIRON)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 venues, 2 destinations, 3 rules" in result.stdout


def test_alert_bridge_check_names_every_broken_mapping(tmp_path: Path) -> None:
    broken = EXAMPLE.read_text().replace('price = "px"', 'prise = "px"')
    broken = broken.replace('kind = "notice"', 'kind = "notise"')
    config = tmp_path / "config.toml"
    config.write_text(broken)
    result = cli("check", "-c", str(config), environ=ENVIRON)
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert (
        "venues.desk-feed.mappings: mappings[0].fields.prise: not a field of fill events "
        '(did you mean "price"?)'
    ) in output
    assert "mappings[1].fields.prise: not a field of order events" in output
    assert "mappings[3].kind: 'notise' is not one of order, fill" in output
    assert "Traceback" not in output


# ---------------------------------------------------------------------- the hooks


def test_hook_alert_bridge_register_venues_through_an_entry_point() -> None:
    [entry] = [e for e in entry_points(group=hookspecs.PROJECT) if e.name == "jsonws"]
    assert entry.value == "alert_bridge_jsonws"
    host = load_plugins()
    venue = host.venues["jsonws"]
    assert (venue.__module__, venue.__name__) == ("alert_bridge_jsonws", "JsonWs")
    assert host.venue_owner["jsonws"] == "jsonws"
    assert host.versions["jsonws"] == "0.1.0"


def test_hook_alert_bridge_register_venues_honours_the_allow_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALERT_BRIDGE_LOAD_PLUGINS", "jsonws")
    host = load_plugins()
    assert set(host.venues) == {"jsonws"}
    assert "gateio" in host.excluded


def destination_plugin(name: str, *kinds: str) -> ModuleType:
    module = ModuleType(name)

    @hookimpl
    def alert_bridge_register_destinations(register: Callable[[str, object], None]) -> None:
        for kind in kinds:
            register(kind, type(f"Sink_{kind}", (Destination,), {}))

    module.alert_bridge_register_destinations = alert_bridge_register_destinations  # type: ignore[attr-defined]
    return module


def host_with(*modules: ModuleType) -> PluginHost:
    """A plugin host of ``modules`` only, built by the same collection step as the real one."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for module in modules:
        pm.register(module, name=module.__name__)
    pm.check_pending()
    host = PluginHost(pm)
    _collect(host)
    return host


def test_hook_alert_bridge_register_destinations_collects_new_kinds() -> None:
    host = host_with(destination_plugin("bus", "kafka", "nats"))
    assert {k: v.kind for k, v in host.destinations.items()} == {"kafka": "kafka", "nats": "nats"}
    assert all(issubclass(v, Destination) for v in host.destinations.values())


@pytest.mark.parametrize("kind", ["webhooks", "notifiers", "rules"])
def test_hook_alert_bridge_register_destinations_refuses_taken_kinds(kind: str) -> None:
    with pytest.raises(PluginError, match=f'destination kind "{kind}" from plugin "bus" is taken'):
        host_with(destination_plugin("bus", kind))
    with pytest.raises(PluginError, match='"kafka" from plugin "second" is taken'):
        host_with(destination_plugin("first", "kafka"), destination_plugin("second", "kafka"))
