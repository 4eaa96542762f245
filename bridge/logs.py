"""Logging set-up: text or JSON lines, journald-aware, with every secret masked.

The :class:`Redactor` sits on the handler, so whatever reaches the output went through it:
the formatted message, the exception text and the stack. It masks the secret values the
config loaded (also URL-encoded, escaped, and the token-like parts of secret URLs) and,
by pattern, what looks like a credential whatever its origin: ``token=`` and friends in
query strings, quoted ``"signature": "..."`` pairs, ``Authorization`` headers, Standard
Webhooks signatures and JWTs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary words and digits all over the log
MIN_URL_PART = 8  # a part of a secret URL this long is a token (not "alerts" or "hook")
TRANSIENT_LIMIT = 256  # session secrets remembered (a few per stream; old ones are dead)
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(syslog)s%(levelname)s %(name)s: %(message)s"
# Libraries that log request URLs (which carry tokens and listenKeys) at low levels.
TAMED = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "websockets": logging.WARNING}
TAMED |= {"apprise": logging.INFO, "urllib3": logging.INFO}
# sd-daemon(3) priority prefixes: journald strips them and records the level.
SYSLOG = {logging.DEBUG: "<7>", logging.INFO: "<6>", logging.WARNING: "<4>"}
SYSLOG |= {logging.ERROR: "<3>", logging.CRITICAL: "<2>"}

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
        self._literal = re.compile("|".join(map(re.escape, ordered))) if ordered else None

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


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exc_info, stack_info)."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        entry = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class JournalFormatter(logging.Formatter):
    """No timestamp (journald adds its own), and a priority prefix journald understands."""

    def format(self, record: logging.LogRecord) -> str:
        record.syslog = SYSLOG.get(record.levelno, "<6>")
        return super().format(record)


def to_journal(stream: TextIO) -> bool:
    """Whether ``stream`` is the one systemd connected to journald ($JOURNAL_STREAM)."""
    device, sep, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    if not sep:
        return False
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no file behind it (StringIO, closed)
        return False
    return (str(info.st_dev), str(info.st_ino)) == (device, inode)


def setup_logging(level: str, fmt: str = "text", *, stream: TextIO | None = None) -> Redactor:
    """Log to ``stream`` (default stderr) in ``fmt``; returns the Redactor to feed secrets.

    Calling it again replaces the handler it installed and keeps the same Redactor.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; one of {', '.join(FORMATS)}")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    out = sys.stderr if stream is None else stream
    root = logging.getLogger()
    redactor = Redactor()
    for old in [h for h in root.handlers if isinstance(h, BridgeHandler)]:
        redactor = old.redactor
        root.removeHandler(old)
    handler = BridgeHandler(out, redactor)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif to_journal(out):
        handler.setFormatter(JournalFormatter(JOURNAL_FORMAT))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    # First, so that any other handler on the root gets the record already redacted.
    others = list(root.handlers)
    for other in others:
        root.removeHandler(other)
    for each in (handler, *others):
        root.addHandler(each)
    root.setLevel(numeric)
    tame_libraries()
    return redactor


def tame_libraries() -> None:
    """Raise the level of libraries that log URLs and tokens (never lowers a stricter one)."""
    for name, floor in TAMED.items():
        library = logging.getLogger(name)
        if library.level < floor:
            library.setLevel(floor)


class BridgeHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`setup_logging` installs (so a second call can find it)."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        super().__init__(stream)
        self.redactor = redactor
        self.addFilter(redactor)


def add_session_secrets(values: Iterable[str]) -> None:
    """Mask a session's secrets (tokens, listenKeys) in the output of :func:`setup_logging`.

    For code that has no Redactor at hand (a supervisor after ``Venue.open``); a no-op
    when logging was not set up here.
    """
    for handler in logging.getLogger().handlers:
        if isinstance(handler, BridgeHandler):
            handler.redactor.add_transient(values)


def literal_secrets(config_text: str, secret_values: Iterable[str]) -> bool:
    """Whether the config file itself holds a secret, rather than a ``${...}`` reference.

    A secret is literal when it appears verbatim as a TOML string in the raw text
    (``"value"`` or ``'value'``, which also covers triple quotes and list items); a value
    that came from ``${VAR}`` or ``${file:PATH}`` does not appear there.
    """
    for value in secret_values:
        if not value:
            continue
        basic = value.replace("\\", "\\\\").replace('"', '\\"')
        if f'"{basic}"' in config_text or f"'{value}'" in config_text:
            return True
    return False


def warn_if_exposed(path: Path, has_literal_secrets: bool, log: logging.Logger) -> bool:
    """Warn (and return True) when ``path`` holds literal secrets and others can read it."""
    if not has_literal_secrets:
        return False
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return False
    readers = [
        who for bit, who in ((stat.S_IRGRP, "its group"), (stat.S_IROTH, "others")) if mode & bit
    ]
    log.warning(
        "%s holds secrets and is readable by %s (mode %s): chmod 600 it, or move the "
        "secrets out with ${VAR} / ${file:PATH} (systemd LoadCredential=)",
        path,
        " and ".join(readers),
        oct(stat.S_IMODE(mode)),
    )
    return True
