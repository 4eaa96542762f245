"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``.

Secrets are ``whsec_`` followed by standard base64 (padded) of at least 16 random
bytes — the form Standard Webhooks libraries generate and accept. Nothing else is
accepted (no raw passwords, no unprefixed base64): the config check rejects other forms
with a command that generates a good one. Several secrets sign with each, space
separated, so a receiver can roll its secret without losing a delivery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ValueError (never echoing it) otherwise."""
    if not secret.startswith(PREFIX):
        raise ValueError('a webhook secret must start with "whsec_"')
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError('a webhook secret must be "whsec_" followed by base64') from None
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


class Signer:
    """Signs webhook messages with one or more secrets (the keys never appear in a repr)."""

    __slots__ = ("_macs",)

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("at least one webhook secret is needed")
        # Keyed once; each message copies the keyed state instead of keying again.
        self._macs = tuple(hmac.new(secret_key(s), digestmod=hashlib.sha256) for s in secrets)

    def __repr__(self) -> str:
        return f"<Signer with {len(self._macs)} secret(s)>"

    def sign(self, msg_id: str, timestamp: str, body: bytes) -> str:
        """The ``webhook-signature`` header value for this message."""
        content = b"%s.%s.%s" % (msg_id.encode(), timestamp.encode(), body)
        signatures = []
        for keyed in self._macs:
            mac = keyed.copy()
            mac.update(content)
            signatures.append("v1," + base64.b64encode(mac.digest()).decode())
        return " ".join(signatures)
