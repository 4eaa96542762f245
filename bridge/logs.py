"""Logging set-up: text or JSON lines, journald-aware, with every secret masked.

The :class:`~bridge.redaction.Redactor` sits on the handler, so whatever reaches the
output went through it: the formatted message, the exception text and the stack.

In the text formats one line starts one record. The values a message quotes (venue error
texts, names, frame excerpts: its arguments) are written with control characters
escaped, newlines as ``\n``; what still spans lines (a traceback, a list of config
problems) has every line after the first indented. Nothing from outside can start a line
that reads as a record of its own. JSON needs none of this: the encoder escapes controls
(and we escape the few it leaves, such as U+2028).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from bridge.errors import ConfigError
from bridge.redaction import Redactor

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(syslog)s%(levelname)s %(name)s: %(message)s"
# Libraries that log request URLs (which carry tokens and listenKeys) at low levels.
TAMED = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "websockets": logging.WARNING}
TAMED |= {"apprise": logging.INFO, "urllib3": logging.INFO}
_TAMED_TO: dict[str, int] = {}  # the levels tame_libraries() set, so set_level() can undo them
# sd-daemon(3) priority prefixes: journald strips them and records the level.
SYSLOG = {logging.DEBUG: "<7>", logging.INFO: "<6>", logging.WARNING: "<4>"}
SYSLOG |= {logging.ERROR: "<3>", logging.CRITICAL: "<2>"}
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: whatever can end
# a line, or move the cursor or recolour a terminal that shows the log.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_UNSAFE = {code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), 0x2028, 0x2029)}
CONTINUATION = "  "  # before every line of a record after its first (text formats)


def escape_controls(text: str) -> str:
    """``text`` on one line: every control character as ``\\n``, ``\\x1b``, ``\\u2028``..."""
    return _CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class _OneLine:
    """A log argument whose ``%s`` and ``%r`` come out on one line, controls escaped."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return escape_controls(str(self.value))

    def __repr__(self) -> str:
        return escape_controls(repr(self.value))


def _one_line(value: object) -> object:
    if value is None or isinstance(value, (int, float, Decimal)):
        return value  # nothing to escape, and %d / %.1f must still accept it
    if isinstance(value, ConfigError):
        # Ours, one problem a line (each still escaped: a problem may quote a value).
        return "\n".join(escape_controls(p.render(value.source)) for p in value.problems)
    return _OneLine(value)


def escape_values(record: logging.LogRecord) -> bool:
    """Handler filter (text formats): the record's arguments each print on one line."""
    if isinstance(record.args, Mapping):
        record.args = {key: _one_line(value) for key, value in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_one_line(value) for value in record.args)
    if not isinstance(record.msg, str):
        record.msg = _OneLine(record.msg)  # log.warning(exc): a value, not our template
    return True


class TextFormatter(logging.Formatter):
    """The text format: controls escaped, and a record's further lines indented."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        lines = [escape_controls(line) for line in text.split("\n")]
        return f"\n{self._continuation(record)}".join(lines)

    def _continuation(self, record: logging.LogRecord) -> str:
        return CONTINUATION


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
        # The encoder escapes C0 controls but writes these as they are: a line splitter
        # that honours them (Python's splitlines) or a terminal would act on them.
        return json.dumps(entry, ensure_ascii=False).translate(_JSON_UNSAFE)


class JournalFormatter(TextFormatter):
    """No timestamp (journald adds its own), and a priority prefix journald understands."""

    def format(self, record: logging.LogRecord) -> str:
        record.syslog = SYSLOG.get(record.levelno, "<6>")
        return super().format(record)

    def _continuation(self, record: logging.LogRecord) -> str:
        # journald makes each line an entry of its own: a traceback's lines keep the
        # record's priority instead of falling back to the stream's default.
        return f"{SYSLOG.get(record.levelno, '<6>')}{CONTINUATION}"


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
    handler = BridgeHandler(out, redactor, one_line_values=fmt != "json")
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif to_journal(out):
        handler.setFormatter(JournalFormatter(JOURNAL_FORMAT))
    else:
        handler.setFormatter(TextFormatter(TEXT_FORMAT))
    # First, so that any other handler on the root gets the record already redacted.
    others = list(root.handlers)
    for other in others:
        root.removeHandler(other)
    for each in (handler, *others):
        root.addHandler(each)
    set_level(numeric)
    return redactor


def set_level(level: int | str) -> None:
    """Set the root level (at start and on reload), the tamed libraries' floors with it.

    Levels set by an earlier call are dropped first: a library tamed to INFO under a
    DEBUG root would otherwise go on logging INFO under a WARNING one.
    """
    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name, ours in list(_TAMED_TO.items()):
        library = logging.getLogger(name)
        if library.level == ours:  # not changed since by anyone else: ours to undo
            library.setLevel(logging.NOTSET)
        del _TAMED_TO[name]
    tame_libraries()


def tame_libraries() -> None:
    """Keep libraries that log URLs and tokens at their floor level or above.

    Only where their effective level is below it: a library that inherits a stricter
    level from the root (say ERROR) keeps it.
    """
    for name, floor in TAMED.items():
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < floor:
            library.setLevel(floor)
            _TAMED_TO[name] = floor


class BridgeHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`setup_logging` installs (so a second call can find it)."""

    def __init__(
        self, stream: TextIO, redactor: Redactor, *, one_line_values: bool = False
    ) -> None:
        super().__init__(stream)
        self.redactor = redactor
        if one_line_values:
            self.addFilter(escape_values)  # first: the redactor merges the arguments in
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
