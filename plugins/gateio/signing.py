"""Gate.io v4 WebSocket request signing (shared by spot and Unified)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any


def sign(secret: str, channel: str, event: str, timestamp: int) -> str:
    """Lowercase hex HMAC-SHA512 of ``channel=<c>&event=<e>&time=<t>``."""
    message = f"channel={channel}&event={event}&time={timestamp}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


def signed_request(
    key: str,
    secret: str,
    channel: str,
    event: str,
    payload: list[str],
    timestamp: int,
    request_id: int,
) -> dict[str, Any]:
    """A subscribe/unsubscribe request with its per-request auth block."""
    return {
        "time": timestamp,
        "id": request_id,
        "channel": channel,
        "event": event,
        "payload": payload,
        "auth": {"method": "api_key", "KEY": key, "SIGN": sign(secret, channel, event, timestamp)},
    }


AUTH_LABELS = (
    "INVALID_KEY",
    "INVALID_SIGNATURE",
    "Signature mismatch",
    "Authentication fail",
    "MISSING_REQUIRED_HEADER",
    "INVALID_CREDENTIALS",
    "FORBIDDEN",
)


def is_auth_error(code: Any, message: str) -> bool:
    """Code 4 (and the older 6/11; 401 in seed 000), or an auth label in the message text."""
    return code in (4, 6, 11, 401) or any(label in message for label in AUTH_LABELS)
