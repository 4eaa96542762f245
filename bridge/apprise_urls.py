"""Apprise, quietly: building objects from configured URLs, and hearing why a send failed.

Apprise URLs embed tokens. Apprise logs what it rejects (URL included) and says why a
notification failed only in its log; both are handled here so that nothing else has
to touch Apprise's logger, and what comes out never shows a URL or a part of one.
"""

from __future__ import annotations

import contextvars
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

#: the formats a notifier's ``format`` may name (Apprise's NotifyFormat values)
FORMATS = ("text", "markdown", "html")
REASON_LIMIT = 300  # characters of Apprise's reason kept in an error text
MASK = "***"

# The records Apprise logs while a send runs, per send: a context variable, set in the
# send's own thread (and carried along should Apprise hand the call to a pool thread).
_heard: contextvars.ContextVar[list[logging.LogRecord] | None] = contextvars.ContextVar(
    "apprise_reasons", default=None
)


def load_apprise(urls: Sequence[str]) -> tuple[Any, list[int]]:
    """An Apprise object with every usable URL added, and the indexes of those it rejected.

    Apprise logs what it rejects, URL included: its logger is muted meanwhile, and
    callers name rejected URLs by index only.
    """
    import apprise  # deferred: loading its plugins takes a while

    notifier = apprise.Apprise(asset=_inline_asset(apprise))
    library = logging.getLogger("apprise")
    was_disabled, library.disabled = library.disabled, True
    try:
        with warnings.catch_warnings():
            # Adding the first URL loads Apprise's plugins, one of which imports the
            # deprecated `imghdr`: Apprise's to fix, and nothing an operator can act on.
            warnings.simplefilter("ignore", DeprecationWarning)
            unusable = [i for i, url in enumerate(urls) if not notifier.add(url)]
    finally:
        library.disabled = was_disabled
    return notifier, unusable


def _inline_asset(apprise: Any) -> Any:
    """An asset that has Apprise notify in the calling thread, with no time limit of its own.

    With a ``service_timeout`` (Apprise 2: 60 s by default) Apprise runs every send in
    its process-wide thread pool and stops waiting at the limit, but the pool's thread
    runs on, and the interpreter joins such threads at exit: one send stuck on a slow
    server kept the process alive long after SIGTERM. Our own thread times sends out
    instead, and it is a daemon (see bridge.delivery.notifier). Apprise 1 has no such
    limit and sends a single URL inline already.
    """
    if hasattr(apprise.AppriseAsset, "_service_timeout"):
        return apprise.AppriseAsset(service_timeout=0)
    return apprise.AppriseAsset()


class _Listener(logging.Filter):
    """Hands Apprise's warnings and errors to the send that caused them; passes all on."""

    def filter(self, record: logging.LogRecord) -> bool:
        heard = _heard.get()
        if heard is not None and record.levelno >= logging.WARNING:
            heard.append(record)
        return True


_LISTENER = _Listener()


@contextmanager
def hearing_reasons() -> Iterator[list[logging.LogRecord]]:
    """Collect what Apprise logs at warning or above during the block (this send only).

    Apprise creates no record below its logger's level: with ``log_level = "error"`` its
    warnings, where most reasons are, are not there to hear.
    """
    library = logging.getLogger("apprise")
    if _LISTENER not in library.filters:
        library.addFilter(_LISTENER)
    heard: list[logging.LogRecord] = []
    token = _heard.set(heard)
    try:
        yield heard
    finally:
        _heard.reset(token)


def reason(records: Sequence[logging.LogRecord], url: str) -> str | None:
    """What Apprise said, once per distinct message, with every part of ``url`` masked."""
    said: list[str] = []
    for record in records:
        try:
            text = " ".join(record.getMessage().split())  # one line, whatever it logged
        except Exception:  # noqa: S112 - a malformed record is no reason at all
            continue
        if text and text not in said:
            said.append(text)
    if not said:
        return None
    text = mask_url_parts(" / ".join(said), url)
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def mask_url_parts(text: str, url: str) -> str:
    """``text`` with the URL, and each part of it (tokens, ids, hosts), as ``***``.

    Only whole words are masked (a part must not be glued to letters or digits in the
    text), so a short part does not eat into ordinary words. The scheme stays.
    """
    _, _, rest = url.partition("://")
    parts = {url, rest}
    for piece in re.split(r"[/:@?&=#,;+ ]+", rest):
        parts.update((piece, unquote(piece)))
    for part in sorted((p for p in parts if len(p) >= 3), key=len, reverse=True):
        text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(part)}(?![0-9A-Za-z])", MASK, text)
    return text
