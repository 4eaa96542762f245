"""The plugin manager: built-in and third-party plugins load through one path."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from bridge import hookspecs
from bridge.errors import PluginError
from bridge.plugin import Venue

# Built-in plugins, registered from here when running from a source tree that was not
# installed (an installed tree registers the same modules through entry points).
DEFAULT_PLUGINS = (
    "plugins.gateio",
    "plugins.gateio_unified",
    "plugins.bitmusa",
    "plugins.bitopro",
    "plugins.skinshark",
)
ALLOW_LIST_VARIABLE = "ALERT_BRIDGE_LOAD_PLUGINS"


@dataclass
class PluginHost:
    """The loaded plugins and what they registered."""

    pm: pluggy.PluginManager
    venues: dict[str, type[Venue]] = field(default_factory=dict)
    venue_owner: dict[str, str] = field(default_factory=dict)
    destinations: dict[str, Any] = field(default_factory=dict)
    destination_owner: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)  # names the allow-list left out
    versions: dict[str, str] = field(default_factory=dict)  # plugin name -> version


def _allowed() -> Callable[[str], bool]:
    raw = os.environ.get(ALLOW_LIST_VARIABLE)
    if raw is None:
        return lambda name: True
    names = {n.strip() for n in raw.split(",") if n.strip()}
    return lambda name: name in names


def _register_module(pm: pluggy.PluginManager, module: ModuleType, name: str) -> None:
    if pm.is_registered(module) or pm.get_plugin(name) is not None:
        return
    pm.register(module, name=name)


def load_plugins() -> PluginHost:
    """Load every allowed plugin and collect the venues and destinations it registers."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    allowed = _allowed()
    host = PluginHost(pm)
    for entry in entry_points(group=hookspecs.PROJECT):
        if not allowed(entry.name):
            host.excluded.append(entry.name)
            continue
        try:
            module = entry.load()
        except Exception as exc:  # a broken plugin must be named, not a bare traceback
            raise PluginError(
                f'plugin "{entry.name}" ({entry.value}) failed to load: {exc}'
            ) from exc
        _register_module(pm, module, entry.name)
        host.versions.setdefault(entry.name, entry.dist.version if entry.dist else "unknown")
    for path in DEFAULT_PLUGINS:
        name = path.rsplit(".", 1)[-1]
        if not allowed(name):
            if name not in host.excluded:
                host.excluded.append(name)
            continue
        _register_module(pm, importlib.import_module(path), name)
        host.versions.setdefault(name, _own_version())
    pm.check_pending()
    _collect(host)
    return host


def _own_version() -> str:
    from bridge import __version__

    return __version__


def _collect(host: PluginHost) -> None:
    pm = host.pm
    for impl in pm.hook.alert_bridge_register_venues.get_hookimpls():
        owner = impl.plugin_name

        def register(name: str, venue: type[Venue], owner: str = owner) -> None:
            if not isinstance(venue, type) or not issubclass(venue, Venue):
                raise PluginError(
                    f'plugin "{owner}" registered venue "{name}" with {venue!r}, '
                    "which is not a bridge.plugin.Venue subclass"
                )
            if name in host.venues:
                raise PluginError(
                    f'venue "{name}" is registered twice: by plugin '
                    f'"{host.venue_owner[name]}" and by plugin "{owner}"'
                )
            host.venues[name] = venue
            host.venue_owner[name] = owner
            venue.registered_name = name  # type: ignore[attr-defined]  # events carry it

        impl.function(register=register)
    for impl in pm.hook.alert_bridge_register_destinations.get_hookimpls():
        owner = impl.plugin_name

        def register_destination(kind: str, cls: Any, owner: str = owner) -> None:
            from bridge.destination import Destination  # deferred: it pulls in delivery

            if kind in host.destinations or kind in (
                "notifiers",
                "webhooks",
                "bridge",
                "venues",
                "rules",
            ):
                raise PluginError(f'destination kind "{kind}" from plugin "{owner}" is taken')
            if not isinstance(cls, type) or not issubclass(cls, Destination):
                raise PluginError(
                    f'plugin "{owner}" registered destination kind "{kind}" with '
                    f"{cls!r}, which is not a bridge.plugin.Destination subclass"
                )
            cls.kind = kind  # the section name its tables live under
            host.destinations[kind] = cls
            host.destination_owner[kind] = owner

        impl.function(register=register_destination)


_cached: PluginHost | None = None


def plugin_host() -> PluginHost:
    """The process-wide plugin host, loaded on first use."""
    global _cached
    if _cached is None:
        _cached = load_plugins()
    return _cached
