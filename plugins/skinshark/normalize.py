"""SkinShark pushes ``{event, data, ts}`` -> normalized events (VENUES.md §5).

Webhook bodies ``{id, type, createdAt, data: {trade | deposit}}`` are accepted too, so a
file of recorded webhooks replays through the same normalizer, with the same ids as the
socket's pushes of the same facts (the cross-channel keys of the normalization notes).
"""

from __future__ import annotations

from typing import Any

from bridge.plugin import (
    Event,
    FrameError,
    NormalizeContext,
    NoticeEvent,
    event_id,
    need_text,
    obj,
)
from plugins.skinshark.deposits import deposit_events
from plugins.skinshark.fields import Fields, iso_millis, push_millis
from plugins.skinshark.trades import trade_events


def _time(ctx: NormalizeContext, value: Any, what: str, *, iso: bool = False) -> int | None:
    """The push time in ms; a bad one is reported and replaced by None (never fatal)."""
    if value is None:
        return None
    try:
        return iso_millis(value, what) if iso else push_millis(value, what)
    except FrameError as exc:
        ctx.problems.append(f"{exc} (left out, event kept)")
        return None


def envelope(ctx: NormalizeContext, frame: Any) -> tuple[str, Any, int | None]:
    """(event name, data, venue time in ms or None) of a socket push or a webhook body."""
    frame = obj(frame)
    if "event" in frame:
        name = frame["event"]
        data = frame.get("data")
        ts = _time(ctx, frame.get("ts"), "ts")
    elif "type" in frame and "data" in frame:  # a webhook body
        name = frame["type"]
        body = obj(frame["data"], "data")
        data = body.get("trade" if str(name).startswith("trade.") else "deposit")
        ts = _time(ctx, frame.get("createdAt"), "createdAt", iso=True)
    else:
        raise FrameError("event: missing")
    if not isinstance(name, str) or not name:
        raise FrameError(f"event: expected a name, got {name!r}")
    if data is None:
        raise FrameError(f"{name}: data missing")
    return name, data, ts


def notice_events(ctx: NormalizeContext, payload: Any, ts: int | None) -> list[Event]:
    """``system.notice`` {severity, message} -> a notice event."""
    data = Fields(ctx, payload, "data")
    message = need_text(data.data, "message")
    severity = data.text("severity")
    # A notice has no id: its push time tells two equal notices apart. Without one, the
    # receive time does (the venue never replays a push, so no repeat is possible).
    when = ts if ts is not None else ctx.received_at
    return [
        ctx.event(
            NoticeEvent,
            id=event_id(ctx.venue, "notice", when, severity, message),
            ts=when,
            raw=data.data,
            severity=severity,
            message=message,
        )
    ]


def normalize_frame(ctx: NormalizeContext, frame: Any) -> list[Event]:
    """Every event in one push; anything off-shape is a FrameError naming the field."""
    name, data, ts = envelope(ctx, frame)
    family, _, suffix = name.partition(".")
    when = ts if ts is not None else ctx.received_at
    if family == "trade" and suffix:
        return trade_events(ctx, suffix, data, when)
    if family == "deposit" and suffix:
        return deposit_events(ctx, suffix, data, when)
    if name == "system.notice":
        return notice_events(ctx, data, ts)
    raise FrameError(f"event: unsupported {name!r}")
