"""Where the user stream lives: ``{url}/ws/spot/<listenKey>`` — or, per the SDK, ``/wallet/``.

MUSA-DOC says ``/ws/spot/<listenKey>``; MUSA-SDK (2024-02) connects to
``/ws/spot/wallet/<listenKey>``. Neither is confirmed against production, so when ``url``
names no path we try the documented one first and switch to the other after a
connection attempt that never opened. A ``url`` with a path is used as given.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DOC_PATH = "/ws/spot/"
SDK_PATH = "/ws/spot/wallet/"


def stream_prefixes(url: str) -> tuple[str, ...]:
    """Every URL prefix to try, in order; the listenKey is appended to one of them."""
    base = url.rstrip("/")
    if urlsplit(base).path:
        return (base + "/",)
    return (base + DOC_PATH, base + SDK_PATH)
