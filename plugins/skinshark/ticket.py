"""The ws-token step: ``POST /auth/ws-token`` mints a ~1 h ticket bound to one sub-user."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bridge.plugin import AuthFailed, VenueUnavailable

if TYPE_CHECKING:  # annotations only: `alert-bridge check` loads plugins, never httpx
    import httpx

#: error keys that mean the credentials were rejected (SS-DOCS authentication)
AUTH_KEYS = frozenset(
    {"UNAUTHORIZED", "MISSING_API_KEY", "INVALID_API_KEY", "API_KEY_REVOKED", "API_KEY_IP_DENIED"}
)
IP_DENIED_CODE = 1305
#: the documented lifetime, used when ``expiresIn`` is missing or unreadable
DEFAULT_LIFETIME = 3600.0

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Ticket:
    token: str
    expires_at: float  # unix seconds, by our clock at mint time


def lifetime(value: Any) -> float:
    """Seconds from ``expiresIn``: "1h", "30m", "1h30m", "3600s", or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        spec = value.strip().lower()
        if spec.isdigit():
            return float(spec)
        parts = _DURATION_PART.findall(spec)
        if parts and "".join(n + u for n, u in parts) == spec:
            return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    return DEFAULT_LIFETIME


async def mint(
    http: httpx.AsyncClient, rest_url: str, api_key: str, sub_user: str, now: float
) -> Ticket:
    """Mint a ticket for ``sub_user``; AuthFailed for rejected keys, else VenueUnavailable."""
    response = await http.post(
        f"{rest_url.rstrip('/')}/auth/ws-token",
        headers={"api-key": api_key, "On-Behalf-Of": sub_user},
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if response.status_code == 401:
            raise AuthFailed("ws-token: HTTP 401 (the api-key was rejected)")
        raise VenueUnavailable(f"ws-token: HTTP {response.status_code}, not a JSON envelope")
    if response.is_success and body.get("success") is True:
        data = body.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            raise VenueUnavailable("ws-token: the answer holds no data.token")
        if not data["token"]:
            raise VenueUnavailable("ws-token: the answer's data.token is empty")
        return Ticket(data["token"], now + lifetime(data.get("expiresIn")))
    raise _refusal(response.status_code, body.get("error"), api_key)


def _refusal(status: int, error: Any, api_key: str) -> Exception:
    """The exception for an error envelope; the venue's message is kept, the key never."""
    error = error if isinstance(error, dict) else {}
    code, key = error.get("code"), str(error.get("key") or "")
    message = str(error.get("message") or "").replace(api_key, "[api_key]")[:200]
    detail = f"ws-token: HTTP {status}" + "".join(
        f" {part}" for part in (key, f"(code {code})" if code is not None else "") if part
    )
    detail += f": {message}" if message else ""
    if status == 401 or key in AUTH_KEYS or code == IP_DENIED_CODE:
        return AuthFailed(detail)
    return VenueUnavailable(detail)


def with_token_query(url: str, token: str) -> str:
    """``url`` with ``token=<token>`` added to its query (the fallback to the subprotocol)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("token", token)])))
