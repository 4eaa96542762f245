"""Logging: text, journald and JSON formats, the Redactor, tamed libraries, exposed configs.

Every test logs through the real handler into a real file and reads the file back.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import quote, quote_plus

import httpx
import pytest

import bridge.logs
from bridge.config import parse_config
from bridge.errors import ConfigError, Problem
from bridge.logs import (
    TAMED,
    BridgeHandler,
    add_session_secrets,
    literal_secrets,
    set_level,
    setup_logging,
    warn_if_exposed,
)
from bridge.plugins import plugin_host
from bridge.redaction import TRANSIENT_LIMIT, Redactor

log = logging.getLogger("alert_bridge.test")

API_SECRET = "gX7#kq2/pL9+zR4=wT"  # characters that URL-encoding changes
LISTEN_KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
APPRISE_URL = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321"
TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def secret_leaks(output: str, secrets: Iterable[str]) -> list[str]:
    """The secrets found in ``output``, as is or URL-encoded (for end-to-end log checks)."""
    return [
        secret
        for secret in secrets
        if any(form in output for form in {secret, quote(secret, safe=""), quote_plus(secret)})
    ]


class Capture:
    """A real file that the log handler writes to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stream: TextIO = path.open("w", encoding="utf-8")

    def text(self) -> str:
        for handler in logging.getLogger().handlers:
            handler.flush()
        return self.path.read_text(encoding="utf-8")

    def lines(self) -> list[str]:
        return self.text().splitlines()


@pytest.fixture
def capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Capture]:
    """A log file; afterwards logging is as it was before the test."""
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)  # the suite may run under systemd
    root = logging.getLogger()
    level = root.level
    libraries = {name: logging.getLogger(name).level for name in TAMED}
    # set_level() undoes only the levels it remembers setting: restored with the levels.
    monkeypatch.setattr(bridge.logs, "_TAMED_TO", dict(bridge.logs._TAMED_TO))
    output = Capture(tmp_path / "log.txt")
    try:
        yield output
    finally:
        for handler in [h for h in root.handlers if isinstance(h, BridgeHandler)]:
            root.removeHandler(handler)
        root.setLevel(level)
        for name, old in libraries.items():
            logging.getLogger(name).setLevel(old)
        output.stream.close()


# -- formats -----------------------------------------------------------------------


def test_text_lines_carry_time_level_logger_and_message(capture: Capture) -> None:
    setup_logging("info", stream=capture.stream)
    log.debug("not at INFO")
    log.info("venue %s connected", "gate-main")
    [line] = capture.lines()
    match = re.fullmatch(r"(\S+ \S+) INFO alert_bridge\.test: venue gate-main connected", line)
    assert match is not None, line
    datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")


def test_no_timestamp_but_a_priority_when_the_stream_is_journald(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = os.fstat(capture.stream.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
    setup_logging("INFO", stream=capture.stream)
    log.warning("stream down")
    log.info("stream up")
    assert capture.lines() == [
        "<4>WARNING alert_bridge.test: stream down",
        "<6>INFO alert_bridge.test: stream up",
    ]


def test_journal_stream_naming_another_file_keeps_timestamps(
    capture: Capture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.touch()
    info = other.stat()
    monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
    setup_logging("INFO", stream=capture.stream)
    log.info("hello")
    [line] = capture.lines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \S+ INFO alert_bridge\.test: hello", line), line


def test_json_is_one_object_per_line_with_the_exception_text(capture: Capture) -> None:
    setup_logging("DEBUG", "json", stream=capture.stream)
    log.debug("first\nwith a newline")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    first, second = (json.loads(line) for line in capture.lines())
    assert first.keys() == {"time", "level", "logger", "message"}
    assert (first["level"], first["logger"], first["message"]) == (
        "DEBUG",
        "alert_bridge.test",
        "first\nwith a newline",
    )
    assert datetime.fromisoformat(first["time"].replace("Z", "+00:00")).tzinfo is not None
    assert second["level"] == "ERROR"
    assert second["exc_info"].startswith("Traceback")
    assert "ValueError: boom" in second["exc_info"]


def test_unknown_format_or_level_is_refused(capture: Capture) -> None:
    with pytest.raises(ValueError, match="log format"):
        setup_logging("INFO", "xml", stream=capture.stream)
    with pytest.raises(ValueError, match="log level"):
        setup_logging("LOUD", stream=capture.stream)


def test_setting_up_twice_keeps_one_handler_and_the_same_redactor(capture: Capture) -> None:
    redactor = setup_logging("INFO", stream=capture.stream)
    redactor.add([LISTEN_KEY])
    again = setup_logging("INFO", "json", stream=capture.stream)
    log.info("key %s", LISTEN_KEY)
    assert again is redactor
    assert sum(isinstance(h, BridgeHandler) for h in logging.getLogger().handlers) == 1
    [line] = capture.lines()
    assert json.loads(line)["message"] == "key ***"


# -- one line per record (text formats) ---------------------------------------------

FORGED = "bad nonce\nERROR alert_bridge: forged line\r\x1b[2K\u2028x"
FORGED_ONE_LINE = "bad nonce\\nERROR alert_bridge: forged line\\r\\x1b[2K\\u2028x"


def record_starts(lines: list[str]) -> list[str]:
    """The lines that read as the start of a record (a timestamp, then a level)."""
    return [line for line in lines if re.match(r"\d{4}-\d\d-\d\d \S+ [A-Z]+ ", line)]


def test_values_from_outside_are_escaped_onto_one_line(capture: Capture) -> None:
    setup_logging("INFO", stream=capture.stream)
    log.warning("%s: venue error: %s", "gate-main", FORGED)
    log.warning("frame %r, %d of %.1f", {"msg": FORGED}, 3, 2.5)
    log.warning("%(venue)s said %(text)s", {"venue": "x\ny", "text": FORGED})
    log.warning(ValueError(FORGED))  # a value as the message itself
    log.warning("%s", ValueError(FORGED))
    lines = capture.lines()
    assert len(lines) == 5 and record_starts(lines) == lines, lines
    assert lines[0].endswith(f"gate-main: venue error: {FORGED_ONE_LINE}")
    assert lines[1].endswith(
        "frame {'msg': 'bad nonce\\nERROR alert_bridge: forged line\\r\\x1b[2K\\u2028x'}, 3 of 2.5"
    )
    assert lines[2].endswith(f"x\\ny said {FORGED_ONE_LINE}")
    assert lines[3].endswith(FORGED_ONE_LINE) and lines[4].endswith(FORGED_ONE_LINE)


def test_exception_text_from_outside_cannot_start_a_line(capture: Capture) -> None:
    setup_logging("INFO", stream=capture.stream)
    try:
        raise ValueError(FORGED)
    except ValueError:
        log.exception("normalizer failed on a frame")
    log.info("our own\nsecond line")
    lines = capture.lines()
    assert len(record_starts(lines)) == 2
    first, *traceback, own, second = lines
    assert first.endswith("ERROR alert_bridge.test: normalizer failed on a frame")
    assert traceback[0] == "  Traceback (most recent call last):"
    assert all(line.startswith("  ") for line in traceback)
    assert "  ERROR alert_bridge: forged line\\r\\x1b[2K\\u2028x" in traceback
    assert (own.endswith("INFO alert_bridge.test: our own"), second) == (True, "  second line")


def test_a_config_error_is_one_problem_a_line(capture: Capture) -> None:
    setup_logging("INFO", stream=capture.stream)
    problems = [Problem("venues.x.url", "bad\nERROR forged"), Problem("rules", "none")]
    log.error("reload rejected: %s is invalid:\n%s", "c.toml", ConfigError("c.toml", problems))
    first, *rest = capture.lines()
    assert first.endswith("reload rejected: c.toml is invalid:")
    assert rest == ["  c.toml: venues.x.url: bad\\nERROR forged", "  c.toml: rules: none"]


def test_journal_continuation_lines_keep_the_priority(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = os.fstat(capture.stream.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
    setup_logging("INFO", stream=capture.stream)
    log.warning("venue error: %s", FORGED)
    try:
        raise ValueError(FORGED)
    except ValueError:
        log.exception("failed")
    first, second, *traceback = capture.lines()
    assert first == f"<4>WARNING alert_bridge.test: venue error: {FORGED_ONE_LINE}"
    assert second == "<3>ERROR alert_bridge.test: failed"
    assert traceback and all(line.startswith("<3>  ") for line in traceback)


def test_json_keeps_values_as_they_are(capture: Capture) -> None:
    setup_logging("INFO", "json", stream=capture.stream)
    log.warning("venue error: %s", FORGED)
    [line] = capture.lines()
    assert json.loads(line)["message"] == f"venue error: {FORGED}"


# -- redaction of configured secrets ------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize(
    "emit",
    [
        lambda: log.info("secret %s", API_SECRET),
        lambda: log.info(f"inline {API_SECRET} in the message"),
        lambda: log.info("url %s", f"wss://ws.example.com/ws?listenKey={LISTEN_KEY}&x=1"),
        lambda: log.info("path %s", f"https://api.example.com/stream/{LISTEN_KEY}/keepalive"),
        lambda: log.info("encoded %s", f"https://x.example/?s={quote(API_SECRET, safe='')}"),
        lambda: log.info("form %s", f"s={quote_plus(API_SECRET)}"),
        lambda: log.info("repr %r", {"note": API_SECRET + "\\"}),
        lambda: log.info("json %s", json.dumps({"note": "a" + API_SECRET})),
        lambda: log.info("apprise %s", APPRISE_URL),
        lambda: log.info("request %s", f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/send"),
    ],
    ids=[
        "arg",
        "message",
        "in-url-query",
        "in-url-path",
        "url-encoded",
        "form-encoded",
        "repr",
        "json",
        "apprise-url",
        "apprise-token-alone",
    ],
)
def test_configured_secrets_are_masked_in_every_form(
    capture: Capture, fmt: str, emit: object
) -> None:
    redactor = setup_logging("DEBUG", fmt, stream=capture.stream)
    redactor.add([API_SECRET, LISTEN_KEY, APPRISE_URL])
    assert callable(emit)
    emit()
    output = capture.text()
    assert output.count("\n") == 1
    assert "***" in output
    assert secret_leaks(output, [API_SECRET, LISTEN_KEY, APPRISE_URL, TELEGRAM_TOKEN]) == []
    assert json.dumps(API_SECRET)[1:-1] not in output


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exception_text_is_masked(capture: Capture, fmt: str) -> None:
    redactor = setup_logging("DEBUG", fmt, stream=capture.stream)
    redactor.add([LISTEN_KEY])
    try:
        try:
            raise KeyError(f"listenKey {LISTEN_KEY} expired")
        except KeyError as exc:
            raise RuntimeError(f"cannot renew {LISTEN_KEY}") from exc
    except RuntimeError:
        log.exception("renewal failed")
    output = capture.text()
    assert "Traceback" in output and "RuntimeError: cannot renew ***" in output
    assert LISTEN_KEY not in output


def test_stack_info_is_masked(capture: Capture) -> None:
    redactor = setup_logging("DEBUG", stream=capture.stream)
    redactor.add([LISTEN_KEY])
    log.info("here %s", LISTEN_KEY, stack_info=True)
    output = capture.text()
    assert "Stack (most recent call last)" in output
    assert LISTEN_KEY not in output


def test_session_secrets_are_masked_from_when_the_session_opens(capture: Capture) -> None:
    add_session_secrets([LISTEN_KEY])  # before set-up: nowhere to go, and no error
    setup_logging("INFO", stream=capture.stream)
    log.info("before %s", LISTEN_KEY)
    add_session_secrets([LISTEN_KEY])
    log.info("connecting to wss://x.example/ws/spot/%s", LISTEN_KEY)
    before, after = capture.lines()
    assert before.endswith(f"before {LISTEN_KEY}")
    assert after.endswith("connecting to wss://x.example/ws/spot/***")


def test_only_recent_session_secrets_are_kept_but_config_secrets_stay() -> None:
    redactor = Redactor([API_SECRET])
    keys = [f"listen-key-{n:04d}" for n in range(TRANSIENT_LIMIT + 1)]
    redactor.add_transient(keys)  # the first one falls out at once
    redactor.add_transient([keys[1]])  # seen again: now the most recent
    redactor.add_transient(["listen-key-new"])
    assert redactor.redact(f"{keys[0]} {keys[2]} {keys[1]} {keys[-1]} {API_SECRET}") == (
        f"{keys[0]} {keys[2]} *** *** ***"
    )


def test_short_values_are_not_masked(capture: Capture) -> None:
    redactor = setup_logging("INFO", stream=capture.stream)
    redactor.add(["k", "abc", ""])
    log.info("a k and an abc")
    assert capture.lines()[0].endswith("a k and an abc")


def test_host_and_short_path_of_a_secret_url_stay_readable(capture: Capture) -> None:
    redactor = setup_logging("INFO", stream=capture.stream)
    redactor.add(["json://127.0.0.1:9/alerts", "mailto://desk:pw42@mail.example.com"])
    log.info("posting to 127.0.0.1:9 (alerts); login with pw42 failed")
    assert capture.lines()[0].endswith("posting to 127.0.0.1:9 (alerts); login with *** failed")


SHORT_SECRET = "alice"  # a secret that is also an ordinary word


@pytest.mark.parametrize(
    "text",
    [
        "shark-alice: connected",
        "malice aforethought",
        "alice_bob and alicex",
        "venue shark-alice-2 down",
    ],
)
def test_a_short_secret_is_never_masked_inside_another_word(text: str) -> None:
    assert Redactor([SHORT_SECRET]).redact(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("login as alice failed.", "login as *** failed."),
        ("GET /feed?user=alice&depth=5", "GET /feed?user=***&depth=5"),
        ("https://x.example/u/alice/feed", "https://x.example/u/***/feed"),
        ("X-Sub-User: alice", "X-Sub-User: ***"),
        ('{"user": "alice"}', '{"user": "***"}'),
        ("mailto://desk:alice@mail.example.com", "mailto://desk:***@mail.example.com"),
    ],
)
def test_a_short_secret_is_masked_as_a_whole_token(text: str, masked: str) -> None:
    assert Redactor([SHORT_SECRET]).redact(text) == masked


def test_a_long_secret_is_masked_even_glued_to_other_text() -> None:
    redactor = Redactor([TELEGRAM_TOKEN, API_SECRET])
    assert redactor.redact(f"POST /bot{TELEGRAM_TOKEN}/sendMessage") == "POST /bot***/sendMessage"
    assert redactor.redact(f"x{API_SECRET}y") == "x***y"


def test_bad_format_arguments_still_log_and_never_raise(capture: Capture) -> None:
    redactor = setup_logging("INFO", stream=capture.stream)
    redactor.add([LISTEN_KEY])
    log.info("count %d", LISTEN_KEY)
    [line] = capture.lines()
    assert "count %d" in line and "unformattable" in line
    assert LISTEN_KEY not in line


# -- redaction by pattern (values never configured) ---------------------------------


@pytest.mark.parametrize(
    ("text", "credential"),
    [
        ("GET /ws?token=abc123XYZ&depth=5", "abc123XYZ"),
        ("wss://fstream.example/ws?listenKey=pqia91ma19a5s61c", "pqia91ma19a5s61c"),
        ("GET /api/v3/order?timestamp=1&signature=c8db56825ae71d6d", "c8db56825ae71d6d"),
        ("query: sign=4f9a1b2c3d&nonce=7", "4f9a1b2c3d"),
        ("https://x.example/hook?key=Zx81Kq0p", "Zx81Kq0p"),
        ("apikey=AK12345678 and api_key=AK87654321", "AK12345678"),
        ("apikey=AK12345678 and api_key=AK87654321", "AK87654321"),
        ("secret=hunter22 in a query", "hunter22"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "eyJhbGci"),
        ("headers {'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
        ("sent bearer tok_5up3rs3cr3t", "tok_5up3rs3cr3t"),
        ('frame {"KEY": "gate-api-key-1", "SIGN": "a1b2c3d4e5"}', "gate-api-key-1"),
        ('frame {"KEY": "gate-api-key-1", "SIGN": "a1b2c3d4e5"}', "a1b2c3d4e5"),
        ("{'listenKey': 'pqia91ma19a5s61c'}", "pqia91ma19a5s61c"),
        ("X-MBX-APIKEY: vmPUZE6mv9SD5VNHk4HlWF", "vmPUZE6mv9SD5VNHk4HlWF"),
        ("webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDDwcxFAA=", "K5oZfzN95Z9"),
        ("signed v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDDwcxFAA= ok", "K5oZfzN95Z9"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl ok", "eyJzdWIiOiIxIn0"),
    ],
)
def test_credentials_are_masked_by_pattern(capture: Capture, text: str, credential: str) -> None:
    setup_logging("INFO", stream=capture.stream)
    log.info("%s", text)
    [line] = capture.lines()
    assert credential not in line
    assert "***" in line


def test_ordinary_text_is_left_alone() -> None:
    text = "gate-main: rule 'large fill' matched fill gate-main:fill:42 (signed by desk, key 3)"
    assert Redactor().redact(text) == text


# -- libraries ----------------------------------------------------------------------


def test_httpx_request_lines_are_tamed(capture: Capture) -> None:
    setup_logging("DEBUG", stream=capture.stream)
    for name in ("httpx", "httpcore", "websockets", "websockets.client"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    url = "https://api.example.com/v1/listenKey?listenKey=pqia91ma19a5s61c"
    with httpx.Client(transport=transport) as client:
        client.get(url)
        assert capture.text() == ""  # httpx logs each request at INFO: switched off
        logging.getLogger("httpx").setLevel(logging.INFO)  # were it on, redaction still holds
        client.get(url)
    [line] = capture.lines()
    assert "HTTP Request: GET" in line and "listenKey=***" in line
    assert "pqia91ma19a5s61c" not in line


def test_a_library_never_logs_below_the_root_level(capture: Capture) -> None:
    setup_logging("WARNING", stream=capture.stream)
    logging.getLogger("apprise").info("Sent JSON POST notification.")
    assert capture.text() == ""  # the floor (INFO) is not a licence to log under WARNING


def test_a_reload_to_a_stricter_level_reaches_tamed_libraries(capture: Capture) -> None:
    setup_logging("DEBUG", stream=capture.stream)
    assert logging.getLogger("apprise").getEffectiveLevel() == logging.INFO  # its floor
    set_level("warning")  # what a SIGHUP with log_level = "warning" does
    logging.getLogger("apprise").info("Notifying 1 service(s).")
    assert logging.getLogger("apprise").getEffectiveLevel() == logging.WARNING
    assert capture.text() == ""
    set_level("debug")
    assert logging.getLogger("apprise").getEffectiveLevel() == logging.INFO


def test_a_stricter_library_level_is_not_lowered(capture: Capture) -> None:
    logging.getLogger("apprise").setLevel(logging.ERROR)
    setup_logging("DEBUG", stream=capture.stream)
    assert logging.getLogger("apprise").level == logging.ERROR


# -- literal secrets in an exposed config file ---------------------------------------

CONFIG = """
[bridge]
state_dir = "{state}"
http = ""

[venues.gate-main]
plugin = "gateio"
api_key = "{key}"
api_secret = "{secret}"
"""


def _config(tmp_path: Path, key: str, secret: str) -> tuple[str, frozenset[str]]:
    text = CONFIG.format(state=tmp_path / "state", key=key, secret=secret)
    environ = {"GATE_KEY": "env-gate-key", "GATE_SECRET": "env-gate-secret"}
    config = parse_config(text, environ=environ, venue_plugins=plugin_host().venues)
    return text, config.secrets


def test_literal_secrets_are_told_from_references(tmp_path: Path) -> None:
    assert literal_secrets(*_config(tmp_path, "gate-key", "gate-secret"))
    assert literal_secrets(*_config(tmp_path, "${GATE_KEY}", "gate-secret"))
    assert not literal_secrets(*_config(tmp_path, "${GATE_KEY}", "${GATE_SECRET}"))
    assert literal_secrets("urls = ['json://h/x']", ["json://h/x"])  # literal TOML string
    assert literal_secrets('a = "q\\"uote"', ['q"uote'])  # escaped inside a basic string


@pytest.mark.parametrize(
    ("mode", "literal", "warned", "readers"),
    [
        (0o600, True, False, ""),
        (0o640, True, True, "its group"),
        (0o604, True, True, "others"),
        (0o644, True, True, "its group and others"),
        (0o644, False, False, ""),
    ],
)
def test_exposed_config_with_literal_secrets_is_warned_about(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    mode: int,
    literal: bool,
    warned: bool,
    readers: str,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("api_secret = 'x'\n")
    path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="alert_bridge.test"):
        assert warn_if_exposed(path, literal, log) is warned
    messages = [r.getMessage() for r in caplog.records]
    if warned:
        [message] = messages
        assert str(path) in message and f"readable by {readers} (" in message
        assert "chmod 600" in message
    else:
        assert messages == []


def test_a_missing_config_file_is_not_warned_about(tmp_path: Path) -> None:
    assert warn_if_exposed(tmp_path / "gone.toml", True, log) is False
