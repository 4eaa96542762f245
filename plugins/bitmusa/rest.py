"""The listenKey REST calls and the mapping of Bitmusa's error envelope to our errors.

Every call sends ``Authorization: Bearer <auth_key>`` and ``x-api-key`` (no signature).
Replies are ``{"data": ..., "code": 0, "message": "success"}``; a non-zero ``code`` is
an error. Callers only ever see :class:`AuthFailed`, :class:`VenueUnavailable` or its
subclass :class:`Transient`: never an httpx exception, never a credential in a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.plugin import AuthFailed, VenueUnavailable

if TYPE_CHECKING:  # imported where a request is made: `alert-bridge check` never loads httpx
    import httpx

PATH = "/api/v1/spot/userDataStream"

# 1001 API KEY NOT FOUND, 1003 EMPTY API KEY: the credentials are wrong. 1002 NOT ALLOWED
# IP and 1005 NOT ALLOWED PRIVILEGE are auth failures too: the key is valid but unusable
# from here until someone changes its settings, so retrying quickly would not help.
AUTH_CODES = frozenset({1001, 1002, 1003, 1005})
# 999 INTERNAL SERVER ERROR, 1011 TOO MANY REQUESTS: worth another try soon.
TRANSIENT_CODES = frozenset({999, 1011})
TRANSIENT_STATUSES = frozenset({408, 425, 429})
MESSAGE_LIMIT = 200  # venue messages are quoted in logs and alerts; keep them short


class Transient(VenueUnavailable):
    """A failure worth retrying soon: rate limit, server error, timeout, network."""


class ListenKeyApi:
    """POST/PUT/DELETE ``/api/v1/spot/userDataStream`` for one account."""

    def __init__(self, rest_url: str, api_key: str, auth_key: str) -> None:
        self.url = rest_url.rstrip("/") + PATH
        self._headers = {"Authorization": f"Bearer {auth_key}", "x-api-key": api_key}
        self._secrets = (api_key, auth_key)

    async def create(self, http: httpx.AsyncClient) -> str:
        """A listenKey: a new one, or the account's active one (as documented)."""
        data = await self._call(http, "POST")
        key = data.get("listenKey") if isinstance(data, dict) else None
        if not isinstance(key, str) or not key:
            raise VenueUnavailable("POST userDataStream: no listenKey in the reply")
        return key

    async def keep_alive(self, http: httpx.AsyncClient) -> None:
        """Extend the account's active listenKey by 60 minutes."""
        await self._call(http, "PUT")

    async def delete(self, http: httpx.AsyncClient) -> None:
        """Invalidate the account's active listenKey (its stream closes)."""
        await self._call(http, "DELETE")

    async def _call(self, http: httpx.AsyncClient, method: str) -> Any:
        import httpx  # loaded already: `http` is its client

        what = f"{method} userDataStream"
        try:
            response = await http.request(method, self.url, headers=self._headers)
        except httpx.HTTPError as exc:
            # httpx messages can quote the request; name the failure by its type only
            raise Transient(f"{what}: {type(exc).__name__}") from None
        return self._envelope(what, response)

    def _envelope(self, what: str, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "code" in body:
            code = envelope_code(body["code"])
            if code == 0 and response.is_success:
                return body.get("data")
            detail = f"{what}: code {body['code']}: {self._clean(body.get('message'))}"
            if code in AUTH_CODES:
                raise AuthFailed(detail)
            if code in TRANSIENT_CODES or _transient_status(response.status_code):
                raise Transient(detail)
            raise VenueUnavailable(detail)
        # No envelope (a proxy or load balancer answered): judge by the HTTP status.
        status = response.status_code
        if status in (401, 403):
            raise AuthFailed(f"{what}: HTTP {status}")
        if _transient_status(status):
            raise Transient(f"{what}: HTTP {status}")
        if response.is_success:
            raise VenueUnavailable(f"{what}: HTTP {status} without a JSON envelope")
        raise VenueUnavailable(f"{what}: HTTP {status}")

    def _clean(self, message: Any) -> str:
        """The venue's message, short, with our credentials blanked should it echo them."""
        text = str(message).strip()[:MESSAGE_LIMIT] if message is not None else ""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text or "(no message)"


def envelope_code(value: Any) -> int | None:
    """The envelope ``code`` as an int (some gateways send it as text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500
