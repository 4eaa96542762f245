"""BitoPro header authentication for the WebSocket upgrade (VENUES.md §4 "Auth")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

APIKEY_HEADER = "X-BITOPRO-APIKEY"
PAYLOAD_HEADER = "X-BITOPRO-PAYLOAD"
SIGNATURE_HEADER = "X-BITOPRO-SIGNATURE"


def payload(identity: str, nonce: int) -> str:
    """Standard base64 of the compact JSON ``{"identity", "nonce"}``, as BitoPro's README."""
    body = json.dumps({"identity": identity, "nonce": nonce}, separators=(",", ":"))
    return base64.b64encode(body.encode()).decode()


def sign(secret: str, payload_text: str) -> str:
    """Lowercase hex HMAC-SHA384 of the base64 *text* (not of the JSON inside it)."""
    return hmac.new(secret.encode(), payload_text.encode(), hashlib.sha384).hexdigest()


def auth_headers(api_key: str, secret: str, identity: str, nonce: int) -> dict[str, str]:
    """The three ``X-BITOPRO-*`` headers for one connect."""
    text = payload(identity, nonce)
    return {
        APIKEY_HEADER: api_key,
        PAYLOAD_HEADER: text,
        SIGNATURE_HEADER: sign(secret, text),
    }
