"""The plugin host: built-ins load through the same path as third-party plugins."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pluggy
import pytest

from bridge import hookimpl, hookspecs
from bridge.errors import PluginError
from bridge.plugin import Destination, Venue
from bridge.plugins import DEFAULT_PLUGINS, PluginHost, _collect, load_plugins

BUILTINS = {"gateio", "gateio_unified", "bitmusa", "bitopro", "skinshark"}


def test_builtins_are_registered() -> None:
    host = load_plugins()
    assert set(host.venues) >= BUILTINS
    assert {host.venue_owner[v] for v in BUILTINS} == BUILTINS
    assert len(DEFAULT_PLUGINS) == len(BUILTINS)


def test_builtins_come_from_entry_points_when_installed() -> None:
    from importlib.metadata import entry_points

    names = {e.name for e in entry_points(group=hookspecs.PROJECT)}
    assert names >= BUILTINS


def test_allow_list_restricts_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_BRIDGE_LOAD_PLUGINS", "bitopro, skinshark")
    host = load_plugins()
    assert set(host.venues) == {"bitopro", "skinshark"}
    assert set(host.excluded) >= {"gateio", "gateio_unified", "bitmusa"}
    monkeypatch.setenv("ALERT_BRIDGE_LOAD_PLUGINS", "")
    assert load_plugins().venues == {}


def host_with(*modules: ModuleType) -> PluginHost:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for module in modules:
        pm.register(module, name=module.__name__)
    pm.check_pending()
    host = PluginHost(pm)
    _collect(host)
    return host


def plugin_module(name: str, venue_name: str, venue: object) -> ModuleType:
    module = ModuleType(name)

    @hookimpl
    def alert_bridge_register_venues(register: Callable[[str, object], None]) -> None:
        register(venue_name, venue)

    module.alert_bridge_register_venues = alert_bridge_register_venues  # type: ignore[attr-defined]
    return module


class Dummy(Venue):
    kinds = ("notice",)


def test_a_third_party_venue_registers() -> None:
    host = host_with(plugin_module("acme_plugin", "acme", Dummy))
    assert host.venues == {"acme": Dummy} and host.venue_owner["acme"] == "acme_plugin"
    assert Dummy.config_schema().names() == ["url", "idle_timeout"]


def test_duplicate_venue_names_name_both_plugins() -> None:
    with pytest.raises(
        PluginError, match='registered twice: by plugin "first" and by plugin "second"'
    ):
        host_with(plugin_module("first", "acme", Dummy), plugin_module("second", "acme", Dummy))


def test_registering_a_non_venue_is_an_error() -> None:
    with pytest.raises(PluginError, match=r"not a bridge\.plugin\.Venue subclass"):
        host_with(plugin_module("bad", "acme", object))


def test_misspelled_hook_fails_at_start_up() -> None:
    module = ModuleType("typo")

    @hookimpl
    def alert_bridge_register_venue(register: object) -> None:  # missing "s"
        raise AssertionError("never called")

    module.alert_bridge_register_venue = alert_bridge_register_venue  # type: ignore[attr-defined]
    with pytest.raises(pluggy.PluginValidationError):
        host_with(module)


def destination_module(cls: object) -> ModuleType:
    module = ModuleType("bus")

    @hookimpl
    def alert_bridge_register_destinations(register: Callable[[str, object], None]) -> None:
        register("kafka", cls)

    module.alert_bridge_register_destinations = alert_bridge_register_destinations  # type: ignore[attr-defined]
    return module


def test_destination_hook() -> None:
    class Kafka(Destination):
        pass

    assert host_with(destination_module(Kafka)).destinations == {"kafka": Kafka}
    assert Kafka.kind == "kafka"  # the section its tables live under


def test_a_destination_that_is_not_a_destination_class_is_refused() -> None:
    with pytest.raises(PluginError, match=r"not a bridge\.plugin\.Destination subclass"):
        host_with(destination_module(object))
