"""alert-bridge venue plugin: any JSON-over-WebSocket feed with a bearer token.

The feed's frames are mapped to alert-bridge events by ``[[venues.NAME.mappings]]``
tables in the config, so one plugin serves any venue that speaks JSON over a socket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from bridge.plugin import (
    DATA,
    IGNORE,
    NON_EMPTY_TEXT,
    Classification,
    Event,
    FrameError,
    NormalizeContext,
    Option,
    Schema,
    Session,
    Venue,
    hookimpl,
    obj,
    url_with_scheme,
)

from alert_bridge_jsonws.config import array_of, json_frames, parse_mapping, parse_signal
from alert_bridge_jsonws.fields import MISSING, lookup, matches
from alert_bridge_jsonws.mapping import EventMapping, SignalRule

if TYPE_CHECKING:
    import httpx

__version__ = "0.1.0"

KINDS = ("order", "fill", "balance", "deposit", "account", "notice")


class JsonWs(Venue):
    """A JSON feed: bearer token on the upgrade, frames mapped to events by the config."""

    kinds = KINDS
    default_url = ""  # none: every feed names its own, so `url` is required
    # A generic feed may stay quiet for hours; WebSocket pings find dead sockets.
    idle_timeout = None
    options = (
        Option("token", NON_EMPTY_TEXT, secret=True, help="sent as Authorization: Bearer"),
        Option("subscribe", json_frames, default=[], help="JSON frames to send on connect"),
        Option("signals", array_of(parse_signal, "signals"), default=[]),
        Option("mappings", array_of(partial(parse_mapping, kinds=KINDS), "mappings")),
    )

    @classmethod
    def config_schema(cls) -> Schema:
        """Every venue's keys, but ``url`` is required: a generic feed has no default."""
        url = Option("url", url_with_scheme("wss", "ws"), help="the feed's WebSocket URL")
        options = super().config_schema().options
        return Schema(tuple(url if o.name == "url" else o for o in options))

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, options)
        self.signals: list[SignalRule] = self.config["signals"]
        self.mappings: list[EventMapping] = self.config["mappings"]

    async def open(self, stream: str, http: httpx.AsyncClient) -> Session:
        """The feed's URL with the token in the upgrade's Authorization header."""
        token = self.config["token"]
        return Session(
            url=self.config["url"],
            headers={"Authorization": f"Bearer {token}"},
            secrets=[token],
        )

    def on_open(self, stream: str, session: Session, now: float) -> list[Any]:
        """The configured ``subscribe`` frames, as they are."""
        return list(self.config["subscribe"])

    def classify(self, stream: str, frame: Any) -> Classification:
        """A signal rule's meaning; data when a mapping matches; anything else is ignored."""
        if not isinstance(frame, dict):
            return DATA  # the normalizer reports it as malformed
        for rule in self.signals:
            if matches(frame, rule.when):
                return rule.classify(frame)
        if any(matches(frame, m.when) for m in self.mappings):
            return DATA
        return IGNORE

    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        """The first matching mapping's events: one per item (a bad item is skipped)."""
        frame = obj(frame)
        mapping = next((m for m in self.mappings if matches(frame, m.when)), None)
        if mapping is None:
            raise FrameError("no mapping matches this frame")
        if mapping.items is None:
            return [mapping.event(ctx, frame)]
        where = ".".join(mapping.items)
        found = lookup(frame, mapping.items)
        if found is MISSING:
            raise FrameError(f"{where}: missing")
        if not isinstance(found, list):
            # An object is the frame's one item: its errors are the frame's errors.
            return [mapping.event(ctx, obj(found, where))]

        def one(item: Any) -> list[Event]:
            return [mapping.event(ctx, item)]

        return ctx.each(found, one)


@hookimpl
def alert_bridge_register_destinations(register: Callable[[str, Any], None]) -> None:
    """This plugin also adds a destination kind: ``[jsonl.NAME]`` tables."""
    from alert_bridge_jsonws.audit import JsonLinesFile

    register("jsonl", JsonLinesFile)


@hookimpl
def alert_bridge_register_venues(register: Callable[[str, type[Venue]], None]) -> None:
    """Offer the ``jsonws`` venue."""
    register("jsonws", JsonWs)
