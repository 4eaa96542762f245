"""The hooks a plugin may implement (names are the contract; see docs/plugins.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

PROJECT = "alert_bridge"  # the pluggy project name and the entry-point group

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

if TYPE_CHECKING:
    from bridge.plugin import Venue


@hookspec
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    """Called once at start-up: call ``register(name, VenueClass)`` for each venue offered.

    ``name`` is what a config's ``[venues.X].plugin`` names; it must be unique across
    every installed plugin.
    """


@hookspec
def alert_bridge_register_destinations(register: Callable[[str, Any], None]) -> None:
    """Called once at start-up: call ``register(kind, DestinationClass)`` for each new
    destination kind besides the built-in ``notifiers`` (Apprise) and ``webhooks``."""
