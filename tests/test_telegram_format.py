"""Notifier formats, through Apprise's real Telegram plugin to a loopback Bot API stand-in.

Apprise's Telegram plugin takes its API address from a class attribute (``notify_url``);
the tests point it at 127.0.0.1. The stand-in checks what Telegram checks for a
``sendMessage`` in HTML mode: only Telegram's tags, and every other ``<``, ``>`` and ``&``
written as an entity; anything else gets Telegram's 400 "can't parse entities".
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import anyio
import anyio.to_thread
import orjson
import pytest

from bridge.cli import main
from bridge.errors import ConfigError
from tests.delivery_helpers import config_text, make_config, running
from tests.receivers import Receiver, Reply, Request

pytestmark = pytest.mark.anyio

BOT_TOKEN = "123456789:AAHt0kenSecretPart-xyz"
CHAT = "-1001234567"
TITLE = "{symbol} <fill> & more"  # a rule's title template: BTC/USDT <fill> & more
BODY = "{side} {amount} {base} <b>&amp; ok?"
# https://core.telegram.org/bots/api#html-style
TELEGRAM_TAGS = {
    *("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"),
    *("a", "tg-emoji", "code", "pre", "blockquote"),
}
_TOKEN = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def telegram_html_problem(text: str) -> str | None:
    """Why Telegram would refuse ``text`` under parse_mode HTML, or None."""
    open_tags: list[str] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char not in "<>&":
            at += 1
            continue
        match = _TOKEN.match(text, at)
        if match is None:
            return f"can't parse entities: unexpected {char!r} at byte offset {at}"
        closing, tag = match.group(1), match.group(2)
        if tag is not None:
            if tag not in TELEGRAM_TAGS:
                return f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset {at}'
            if closing:
                if not open_tags or open_tags.pop() != tag:
                    return f'can\'t parse entities: Unmatched end tag "{tag}"'
            else:
                open_tags.append(tag)
        at = match.end()
    return f"can't parse entities: unclosed <{open_tags[-1]}>" if open_tags else None


def visible(text: str) -> str:
    """What a Telegram user sees: tags gone, entities decoded."""
    return html.unescape(re.sub(r"</?[a-z-]+(\s[^<>]*)?>", "", text))


class BotApi(Receiver):
    """A stand-in for api.telegram.org's sendMessage, as strict as Telegram on HTML."""

    def __init__(self) -> None:
        super().__init__(respond=self._answer)
        self.messages: list[dict[str, object]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def _answer(self, request: Request) -> Reply:
        if request.path != f"/bot{BOT_TOKEN}/sendMessage":
            return self._error(404, "Not Found")
        payload = request.payload
        if str(payload.get("chat_id")) != CHAT:
            return self._error(400, "Bad Request: chat not found")
        if payload.get("parse_mode") == "HTML":
            problem = telegram_html_problem(payload["text"])
            if problem is not None:
                return self._error(400, f"Bad Request: {problem}")
        self.messages.append(payload)
        result = {"message_id": len(self.messages), "chat": {"id": int(CHAT)}}
        return Reply(200, {"content-type": "application/json"}, orjson.dumps(result_ok(result)))

    @staticmethod
    def _error(status: int, description: str) -> Reply:
        body = {"ok": False, "error_code": status, "description": description}
        return Reply(status, {"content-type": "application/json"}, orjson.dumps(body))


def result_ok(result: object) -> dict[str, object]:
    return {"ok": True, "result": result}


@pytest.fixture
async def bot_api(monkeypatch: pytest.MonkeyPatch):
    from apprise.plugins.telegram import NotifyTelegram

    api = BotApi()
    async with anyio.create_task_group() as tg:
        await tg.start(api.serve)
        monkeypatch.setattr(NotifyTelegram, "notify_url", api.base)
        yield api
        tg.cancel_scope.cancel()


def telegram(**options: object) -> dict[str, object]:
    return {"urls": [f"tgram://{BOT_TOKEN}/{CHAT}"], "retry": ["10ms"], **options}


def rules(title: str = TITLE, body: str = BODY) -> list[dict[str, object]]:
    return [{"name": "fills", "on": "fill", "notify": ["tg"], "title": title, "body": body}]


async def test_text_reaches_telegram_escaped_under_its_html_mode(
    tmp_path: Path, bot_api: BotApi
) -> None:
    config = make_config(tmp_path, notifiers={"tg": telegram()}, rules=rules())
    assert config.notifiers["tg"].format == "text"  # the default
    with anyio.fail_after(20):
        async with running(config) as bridge:
            await bridge.commit(1)
            await bridge.settled(1)
    assert [o.action for o in bridge.outcomes] == ["delivered"]
    (message,) = bot_api.messages
    assert message["parse_mode"] == "HTML"
    # Word for word what the rule rendered, "<", ">" and "&" included.
    assert visible(str(message["text"])).split("\r\n") == [
        "BTC/USDT <fill> & more",
        "buy 0.5 BTC <b>&amp; ok?",
    ]


async def test_html_is_passed_as_markup(tmp_path: Path, bot_api: BotApi) -> None:
    notifiers = {"tg": telegram(format="html")}
    config = make_config(
        tmp_path, notifiers=notifiers, rules=rules("{symbol} filled", "<i>{amount}</i> &amp; more")
    )
    with anyio.fail_after(20):
        async with running(config) as bridge:
            await bridge.commit(1)
            await bridge.settled(1)
    (message,) = bot_api.messages
    assert message["parse_mode"] == "HTML"
    assert "<i>0.5</i> &amp; more" in str(message["text"])


async def test_markdown_is_converted_for_telegram(tmp_path: Path, bot_api: BotApi) -> None:
    notifiers = {"tg": telegram(format="markdown")}
    config = make_config(tmp_path, notifiers=notifiers, rules=rules("{symbol}", "**{amount}**"))
    with anyio.fail_after(20):
        async with running(config) as bridge:
            await bridge.commit(1)
            await bridge.settled(1)
    assert [o.action for o in bridge.outcomes] == ["delivered"]
    (message,) = bot_api.messages
    assert message["parse_mode"] != "HTML"  # Telegram's own Markdown, as Apprise writes it


def test_an_unknown_format_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, notifiers={"tg": telegram(format="htm")})
    assert 'notifiers.tg.format: "htm" is not one of text, markdown, html' in str(caught.value)
    assert 'did you mean "html"' in str(caught.value)


async def test_notify_test_prints_telegrams_reason_without_the_token(
    tmp_path: Path, bot_api: BotApi, capsys
) -> None:
    # html format with broken markup: Telegram refuses it and says why.
    notifiers = {"tg": telegram(format="html")}
    path = tmp_path / "config.toml"
    path.write_text(config_text(tmp_path / "state", notifiers=notifiers, rules=rules()))
    # notify-test's sample alert is well-formed HTML, so break the chat instead.
    path.write_text(path.read_text().replace(CHAT, "-100999"))
    with anyio.fail_after(20):
        code = await anyio.to_thread.run_sync(main, ["notify-test", "-c", str(path), "tg"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("tg (apprise): FAILED after ")
    assert "Apprise: " in out and "Bad Request: chat not found" in out
    assert "its log says why" not in out
    for secret in (BOT_TOKEN, *BOT_TOKEN.split(":"), "100999"):
        assert secret not in out
