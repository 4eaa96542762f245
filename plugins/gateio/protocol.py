"""What a Gate.io v4 frame means to the connection (shared by spot and Unified)."""

from __future__ import annotations

from typing import Any

from bridge.plugin import DATA, IGNORE, Classification, Signal
from plugins.gateio.signing import is_auth_error


def classify_frame(frame: Any, pong_channel: str) -> Classification:
    """Pong, ack, error (auth or other), upgrade, or data."""
    if not isinstance(frame, dict):
        return DATA  # the normalizer reports it as malformed
    event = frame.get("event")
    if event == "update" and not frame.get("error"):
        return DATA  # nearly every frame: decided before anything else is looked at
    if frame.get("channel") == pong_channel:
        return Classification(Signal.PONG)
    if event == "upgrade":
        # Documented for spot; the Unified server is the same family and gets the same.
        return Classification(Signal.RECONNECT, "the venue asked for a reconnect (upgrade)")
    error = frame.get("error")
    if error:
        return _error(frame, error)
    if event == "error":
        # Seed 000's shape: code and message at the top, no error object.
        return _error(frame, {"code": frame.get("code"), "message": frame.get("message", "")})
    if event in ("subscribe", "unsubscribe"):
        result = frame.get("result")
        if isinstance(result, dict) and result.get("status") == "success":
            return Classification(Signal.ACK, str(frame.get("channel")))
        return Classification(Signal.ERROR, f"{frame.get('channel')}: {event} not accepted")
    if event == "update":
        return DATA
    return IGNORE


def _error(frame: dict[str, Any], error: Any) -> Classification:
    # Code 4 (and an auth label in older code-2 messages) means rejected credentials;
    # Unified documents no auth code at all, so the same rule serves both.
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    detail = f"{frame.get('channel')}: code {code}: {message.strip()}"
    if is_auth_error(code, message):
        return Classification(Signal.AUTH_FAILED, detail)
    return Classification(Signal.ERROR, detail)
