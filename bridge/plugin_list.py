"""``alert-bridge plugins``: what is installed, so a broken environment is easy to see."""

from __future__ import annotations

import json
from typing import Any, TextIO

from bridge.plugins import ALLOW_LIST_VARIABLE, PluginHost, plugin_host


def describe(host: PluginHost) -> list[dict[str, Any]]:
    """Every loaded plugin with its version and the venues (and kinds) it registered."""
    plugins: dict[str, dict[str, Any]] = {}
    for name, _module in sorted(host.pm.list_name_plugin()):
        plugins[name] = {
            "name": name,
            "version": host.versions.get(name, "unknown"),
            "venues": [],
            "destinations": [],
        }
    for venue, cls in sorted(host.venues.items()):
        owner = plugins[host.venue_owner[venue]]
        owner["venues"].append(
            {
                "name": venue,
                "kinds": list(cls.kinds),
                "options": cls.config_schema().names(),
                # REST reconciliation after reconnects (DESIGN §9); without it a gap in
                # the stream is only visible as a `connection` event's down_seconds
                "reconcile": cls.reconciles(),
            }
        )
    for kind, cls in sorted(host.destinations.items()):
        plugins[host.destination_owner[kind]]["destinations"].append(
            {"kind": kind, "options": cls.config_schema().names()}
        )
    return list(plugins.values())


def print_plugins(out: TextIO, *, as_json: bool = False) -> int:
    """Print the installed plugins (as JSON with ``as_json``)."""
    host = plugin_host()
    plugins = describe(host)
    if as_json:
        out.write(json.dumps({"plugins": plugins, "excluded": host.excluded}, indent=2) + "\n")
        return 0
    for plugin in plugins:
        out.write(f"{plugin['name']} {plugin['version']}\n")
        for venue in plugin["venues"]:
            gap = "reconcile" if venue["reconcile"] else "no reconcile"
            out.write(f"  venue {venue['name']}: {', '.join(venue['kinds'])} ({gap})\n")
        for destination in plugin["destinations"]:
            out.write(
                f"  destination kind [{destination['kind']}.NAME]: "
                f"{', '.join(destination['options'])}\n"
            )
    if host.excluded:
        out.write(f"not loaded ({ALLOW_LIST_VARIABLE}): {', '.join(sorted(host.excluded))}\n")
    return 0
