"""Masking secrets in log output: known values and anything shaped like a credential.

A :class:`Redactor` masks the secret values the config loaded (also URL-encoded,
escaped, and the token-like parts of secret URLs), session secrets (tokens, listenKeys,
signatures) as connections open, and by pattern what looks like a credential whatever
its origin: ``token=`` and friends in query strings, quoted ``"signature": "..."`` pairs,
``Authorization`` headers, Standard Webhooks signatures and JWTs.

A known value shorter than ANYWHERE is masked only as a whole token: never inside a
longer word (a password "alice" leaves "shark-alice" and "malice" alone), but wherever
punctuation or space sets it apart (``token=alice&``, ``/alice/``, ``key: alice``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary words and digits all over the log
MIN_URL_PART = 8  # a part of a secret URL this long is a token (not "alerts" or "hook")
TRANSIENT_LIMIT = 256  # session secrets remembered (a few per stream; old ones are dead)
# A value this long is no ordinary word, and glued to other text it is still the secret
# (Telegram's API path puts "bot" right before the bot token): masked wherever it appears.
ANYWHERE = 16
_WORD = re.compile(r"[\w-]")  # what continues a word: "shark-alice" is one token

_NAME = r"[\w.-]*(?:token|listenkey|signature|sign|secret|password|passwd|key)"
_HEADER = r"\w+(?:-\w+)*-(?:api-?key|key|signature|sign|token|secret)"
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Standard Webhooks signatures (v1,<base64>) and JWTs, wherever they appear
    (re.compile(r"\b(v1a?),[A-Za-z0-9+/]{20,}={0,2}"), rf"\1,{MASK}"),
    (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]+"), MASK),
    # token=..., listenKey=..., api_key=... in query strings and key=value text
    (re.compile(rf"(?i)\b({_NAME})=[^\s&#'\"<>,;)]+"), rf"\1={MASK}"),
    # "signature": "...", 'KEY': '...' in JSON and Python reprs
    (
        re.compile(rf"(?i)(['\"])({_NAME})\1(\s*:\s*)(['\"])(?:\\.|(?!\4).)*\4"),
        rf"\1\2\1\3\4{MASK}\4",
    ),
    # Authorization: Bearer ..., 'authorization': 'Basic ...'
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)"
            r"(?:(?:bearer|basic|token|digest)\s+)?[^\s'\",}]+"
        ),
        rf"\1{MASK}",
    ),
    (re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+"), rf"\1 {MASK}"),
    # header lines such as X-MBX-APIKEY: ... or webhook-signature: ...
    (re.compile(rf"(?i)\b({_HEADER})(\s*:\s*)[^\s'\"]+"), rf"\1\2{MASK}"),
]


class Redactor(logging.Filter):
    """Masks secret values and credential-looking text in every record it filters."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        super().__init__()
        self._variants: set[str] = set()
        # value -> its variants, oldest first: a session's tokens and listenKeys
        self._transient: dict[str, set[str]] = {}
        self._literal: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Mask these values from now on (with their encoded forms); short ones are ignored."""
        for value in values:
            if len(value) >= MIN_SECRET:
                self._variants |= _variants(value)
        self._compile()

    def add_transient(self, values: Iterable[str]) -> None:
        """Like :meth:`add` for secrets that a session replaces (tokens, listenKeys).

        Only the most recent TRANSIENT_LIMIT are kept: a service renewing its listenKeys
        for months must not grow one ever larger pattern.
        """
        for value in values:
            if len(value) >= MIN_SECRET:
                self._transient.pop(value, None)
                self._transient[value] = _variants(value)
        for stale in list(self._transient)[:-TRANSIENT_LIMIT]:
            del self._transient[stale]
        self._compile()

    def _compile(self) -> None:
        variants = self._variants.union(*self._transient.values())
        # Longest first, so a secret is never half-masked by a shorter one inside it.
        ordered = sorted(variants, key=len, reverse=True)
        self._literal = re.compile("|".join(map(_alternative, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        """``text`` with every known secret and credential-looking part masked."""
        if self._literal is not None:
            text = self._literal.sub(MASK, text)
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place (message, exception, stack); never drops it."""
        record.msg = self.redact(_message(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _alternative(variant: str) -> str:
    """The pattern for one known value: anywhere if long, else as a whole token."""
    pattern = re.escape(variant)
    if len(variant) >= ANYWHERE:
        return pattern
    # The edges of a token: no word character may continue the value on either side.
    before = r"(?<![\w-])" if _WORD.match(variant[0]) else ""
    after = r"(?![\w-])" if _WORD.match(variant[-1]) else ""
    return f"{before}{pattern}{after}"


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # bad %-args must not raise at the call site, nor skip redaction
        return f"{record.msg!r} (unformattable arguments {record.args!r})"


def _variants(value: str) -> set[str]:
    """How ``value`` can appear in a log line: as is, URL-encoded, escaped, URL parts."""
    found = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
    }
    found |= _url_parts(value)
    return {v for v in found if len(v) >= MIN_SECRET}


def _url_parts(value: str) -> set[str]:
    """The token-bearing parts of a secret URL (Apprise URLs embed tokens in any part)."""
    try:
        url = urlsplit(value)
        password = url.password
    except ValueError:
        return set()
    if not url.scheme or not url.netloc:
        return set()
    userinfo, _, host = url.netloc.rpartition("@")
    parts = [userinfo, *url.path.split("/"), *(v for _, v in parse_qsl(url.query)), url.fragment]
    if "." not in host:  # not a host name but an id or token (tgram://, discord://)
        parts.append(host)
    found = {p for p in parts if len(p) >= MIN_URL_PART}
    return found | ({password} if password else set())  # a password, however short
