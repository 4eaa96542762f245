"""Configuration validation: every kind of error names its path."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.config import Config, find_config, load_config, parse_config
from bridge.destination import Destination
from bridge.errors import ConfigError, UserError
from bridge.plugins import plugin_host
from bridge.schema import NON_EMPTY_TEXT, Option
from tests.conftest import REPO

MakeConfig = Callable[..., Config]

RULE = """
[[rules]]
name = "{name}"
on = "fill"
notify = ["desk"]
"""


def problems_of(make_config: MakeConfig, extra: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        make_config(extra)
    return str(caught.value).splitlines()


def test_base_config_is_valid_with_defaults(make_config: MakeConfig) -> None:
    config = make_config(RULE.format(name="r"))
    assert config.summary() == "2 venues, 2 destinations, 1 rules"
    hook = config.webhooks["ops"]
    assert hook.retry == [5, 30, 120, 600, 3600, 10800, 21600]
    assert (hook.max_attempts, hook.concurrency, hook.timeout) == (8, 4, 10.0)
    assert config.venues["gate-main"].options["symbols"] == ["!all"]
    assert config.venues["gate-main"].options["url"] == "wss://api.gateio.ws/ws/v4/"
    assert config.bridge.shutdown_grace == 10.0
    assert {"k", "s", "json://127.0.0.1:9/alerts"} <= config.secrets


def test_example_config_passes_check_with_its_variables_set() -> None:
    from bridge.cli import EXAMPLE_VARIABLES

    config = load_config(REPO / "rules.example.toml", environ=EXAMPLE_VARIABLES)
    assert {v.plugin for v in config.venues.values()} == {
        "gateio",
        "gateio_unified",
        "bitmusa",
        "bitopro",
        "skinshark",
    }
    assert [r.name for r in config.rules] == [
        "large fill",
        "deposit failed",
        "USDT running low",
        "venue disconnected",
        "venue auth failed",
    ]
    # every variable the example names is listed in its header, and vice versa
    header = (REPO / "rules.example.toml").read_text().split("[bridge]")[0]
    for name in EXAMPLE_VARIABLES:
        assert name in header


def test_example_config_without_variables_names_each_missing_one() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(REPO / "rules.example.toml", environ={})
    assert "GATE_KEY is not set" in str(caught.value)
    assert "OPS_WEBHOOK_SECRET is not set" in str(caught.value)


def test_invalid_toml_reports_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[bridge]\nhttp = "x"\nlog_level = \n', venue_plugins={})
    assert "invalid TOML" in str(caught.value)
    assert "line 3" in str(caught.value)


def test_unknown_keys_get_did_you_mean(make_config: MakeConfig) -> None:
    lines = problems_of(
        make_config,
        '[notifiers.pager]\nurl = ["json://x/y"]\n'
        + RULE.format(name="r").replace("notify", "notfy"),
    )
    assert any(
        line.startswith('config.toml: notifiers.pager.url: unknown key (did you mean "urls"?)')
        for line in lines
    )
    assert any(
        line.startswith('config.toml: rules[0] ("r").notfy: unknown key (did you mean "notify"?)')
        for line in lines
    )


def test_unknown_section() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[rule]\n", venue_plugins={})
    assert 'config.toml: rule: unknown section (did you mean "rules"?)' in str(caught.value)


def test_every_problem_is_reported_at_once(make_config: MakeConfig) -> None:
    lines = problems_of(
        make_config,
        """
[[rules]]
name = "a"
on = "fil"
notify = ["nobody"]

[[rules]]
name = "b"
on = "balance"
notify = ["desk"]
threshold = { field = "total", below = "5k" }
""",
    )
    assert lines == [
        'config.toml: rules[0] ("a").on: "fil" is not an event kind (did you mean "fill"?); '
        "kinds: order, fill, balance, deposit, account, connection, notice",
        'config.toml: rules[0] ("a").notify: no destination named "nobody" in [notifiers.*] or '
        "[webhooks.*]",
        'config.toml: rules[1] ("b").threshold.below: not a number: "5k"',
    ]


def test_design_example_error_message(make_config: MakeConfig) -> None:
    extra = (
        "".join(RULE.format(name=n) for n in ("a", "b"))
        + """
[[rules]]
name = "USDT running low"
on = "balance"
notify = ["desk"]
threshold = { field = "total", below = "5k" }
"""
    )
    assert problems_of(make_config, extra) == [
        'config.toml: rules[2] ("USDT running low").threshold.below: not a number: "5k"'
    ]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            'venues = ["gate-mian"]',
            'rules[0] ("r").venues: no venue named "gate-mian" in [venues.*] '
            '(did you mean "gate-main"?)',
        ),
        (
            'where = { notionl = { gte = "1" } }',
            'rules[0] ("r").where.notionl: no such field in fill events (did you mean "notional"?)',
        ),
        ('where = { asset = "USDT" }', 'rules[0] ("r").where.asset: no such field in fill events'),
        (
            'threshold = { field = "side", above = "1" }',
            'rules[0] ("r").threshold.field: side is text, not a number',
        ),
        (
            'threshold = { field = "price" }',
            'rules[0] ("r").threshold: give exactly one of below or above',
        ),
        (
            'threshold = { field = "price", above = "10", rearm = "11" }',
            'rules[0] ("r").threshold.rearm: must be at or below the above level 10',
        ),
        (
            'severity = "critical"',
            'rules[0] ("r").severity: "critical" is not one of info, success, warning, failure',
        ),
        ('cooldown = "5 minutes"', 'rules[0] ("r").cooldown: not a duration: "5 minutes"'),
        ("enabled = 1", 'rules[0] ("r").enabled: expected true or false, got 1'),
        (
            'title = "{raw.__class__}"',
            'rules[0] ("r").title: placeholder {raw.__class__}: templates read event fields only',
        ),
        ('where = { side = ["buy"] }', 'rules[0] ("r").where.side: a bare list is ambiguous'),
        ('where = { side = { like = "b" } }', 'rules[0] ("r").where.side.like: unknown operator'),
        ('where = { price = "cheap" }', 'rules[0] ("r").where.price: not a number: "cheap"'),
        ("where = { side = 1 }", 'rules[0] ("r").where.side: expected text, got 1'),
        (
            'where = { symbol = { matches = "(" } }',
            'rules[0] ("r").where.symbol.matches: invalid regular expression',
        ),
        (
            'where = { amount = { contains = "1" } }',
            'rules[0] ("r").where.amount.contains: contains needs a text field',
        ),
        ('where = { derived = "yes" }', 'rules[0] ("r").where.derived: expected true or false'),
        (
            'where = { raw = "x" }',
            'rules[0] ("r").where.raw: the raw venue item can only be tested with exists',
        ),
    ],
)
def test_rule_errors_name_the_rule_and_path(
    make_config: MakeConfig, rule: str, expected: str
) -> None:
    lines = problems_of(make_config, RULE.format(name="r") + rule + "\n")
    assert len(lines) == 1, lines
    assert lines[0].startswith("config.toml: " + expected), lines[0]


def test_multi_kind_rules_may_only_use_shared_fields(make_config: MakeConfig) -> None:
    extra = RULE.format(name="r").replace('on = "fill"', 'on = ["fill", "balance"]')
    lines = problems_of(make_config, extra + 'where = { symbol = "BTC/USDT" }\n')
    assert lines == ['config.toml: rules[0] ("r").where.symbol: not a field of every kind in `on`']
    config = make_config(extra + 'where = { venue = "gate-main" }\n')
    assert config.rules[0].kinds == ("fill", "balance")


def test_duplicate_rule_names(make_config: MakeConfig) -> None:
    lines = problems_of(make_config, RULE.format(name="r") + RULE.format(name="r"))
    assert lines == [
        'config.toml: rules[1] ("r").name: duplicate rule name (also rules[0]); '
        "names must be unique"
    ]


def test_missing_rule_keys(make_config: MakeConfig) -> None:
    lines = problems_of(make_config, '[[rules]]\nname = "r"\n')
    assert lines == [
        'config.toml: rules[0] ("r").on: required: an event kind or a list of kinds '
        "(order, fill, balance, deposit, account, connection, notice)",
        'config.toml: rules[0] ("r").notify: required: a list of destination names from '
        "[notifiers.*] or [webhooks.*]",
    ]


def test_unknown_venue_plugin_lists_installed(make_config: MakeConfig) -> None:
    lines = problems_of(make_config, '[venues.x]\nplugin = "gateoi"\n')
    assert lines[0].startswith(
        'config.toml: venues.x.plugin: unknown venue plugin "gateoi" '
        '(did you mean "gateio"?); installed: "bitmusa", "bitopro", '
    )


@pytest.mark.parametrize("plugin", ["gateio", "gateio_unified", "bitmusa", "bitopro", "skinshark"])
def test_each_builtin_venue_validates_its_own_keys(make_config: MakeConfig, plugin: str) -> None:
    lines = problems_of(make_config, f'[venues.x]\nplugin = "{plugin}"\nbogus = 1\n')
    assert any(line.startswith("config.toml: venues.x.bogus: unknown key") for line in lines)
    assert any("required key is missing" in line for line in lines)


def test_venue_options_are_validated(make_config: MakeConfig) -> None:
    lines = problems_of(
        make_config,
        """
[venues.b]
plugin = "bitopro"
api_key = "k"
api_secret = "s"
identity = "me@example.com"
streams = ["orders", "user-trade"]
url = "https://stream.bitopro.com"

[venues.s]
plugin = "skinshark"
api_key = "k"
sub_user = "u"
token_in = "header"
""",
    )
    assert lines == [
        'config.toml: venues.b.streams: "user-trade" is not one of account-balance, orders, '
        'user-trades (did you mean "user-trades"?)',
        "config.toml: venues.b.url: must be a wss:// or ws:// URL",
        'config.toml: venues.s.token_in: "header" is not one of subprotocol, query',
    ]


def test_venue_defaults_for_each_plugin(make_config: MakeConfig) -> None:
    config = make_config("""
[venues.m]
plugin = "bitmusa"
api_key = "k"
auth_key = "a"

[venues.s]
plugin = "skinshark"
api_key = "k"
sub_user = "u"
""")
    musa = config.venues["m"].options
    assert musa["keepalive"] == 1800
    assert musa["rest_url"] == "https://openapi.bitmusa.com"
    assert musa["url"] == "wss://websocket.bitmusa.com:60002"
    shark = config.venues["s"].options
    assert (shark["token_in"], shark["url"]) == ("subprotocol", "wss://api.skinshark.gg/ws")


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '[webhooks.w]\nurl = "http://x"\nsecret = "plain"\n',
            'webhooks.w.secret: a webhook secret must be "whsec_" followed by base64',
        ),
        (
            '[webhooks.w]\nurl = "http://x"\nsecret = "whsec_!!!"\n',
            'webhooks.w.secret: a webhook secret must be "whsec_" followed by valid base64',
        ),
        (
            '[webhooks.w]\nurl = "ftp://x"\nsecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n',
            "webhooks.w.url: must be a https:// or http:// URL",
        ),
        (
            '[webhooks.w]\nurl = "http://x"\nsecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n'
            'retry = ["5s", "soon"]\n',
            'webhooks.w.retry: not a duration: "soon"',
        ),
        (
            '[webhooks.w]\nurl = "http://x"\nsecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n'
            "max_attempts = 0\n",
            "webhooks.w.max_attempts: must be 1 or more, got 0",
        ),
        (
            '[webhooks.w]\nurl = "http://x"\nsecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n'
            "headers = { X = 1 }\n",
            "webhooks.w.headers: expected a table of text values",
        ),
        (
            '[notifiers.n]\nurls = ["tgram:/x"]\n',
            "notifiers.n.urls: urls[0] is not an Apprise URL (scheme://...)",
        ),
        (
            '[notifiers.ops]\nurls = ["json://x/y"]\n',
            'webhooks.ops: "ops" is also a notifier; destination names must be unique',
        ),
        ("[bridge.extra]\n", "bridge.extra: unknown key"),
    ],
)
def test_destination_errors(make_config: MakeConfig, table: str, expected: str) -> None:
    lines = problems_of(make_config, table)
    assert lines[0].startswith("config.toml: " + expected), lines


def test_apprise_url_errors_never_echo_the_url(make_config: MakeConfig) -> None:
    lines = problems_of(make_config, '[notifiers.n]\nurls = ["tgram:/SECRETTOKEN"]\n')
    assert "SECRETTOKEN" not in "\n".join(lines)


def test_apprise_urls_apprise_cannot_use_are_config_errors(
    make_config: MakeConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = problems_of(
        make_config,
        '[notifiers.n]\nurls = ["json://127.0.0.1:9/ok", "nosuchservice://SECRETTOKEN@host"]\n',
    )
    assert lines == [
        "config.toml: notifiers.n.urls: urls[1]: Apprise cannot use this "
        "nosuchservice:// URL (an unknown service, or a field missing or "
        "malformed; see the Apprise wiki for that service's URL format)"
    ]
    captured = capsys.readouterr()
    assert "SECRETTOKEN" not in captured.out + captured.err  # Apprise's own log stays quiet


def test_rotation_secret_list(make_config: MakeConfig) -> None:
    config = make_config(
        '[webhooks.w]\nurl = "http://x"\nsecret = '
        '["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", '
        '"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"]\n'
    )
    assert len(config.webhooks["w"].secrets) == 2


def test_numbers_in_toml_are_decimals_not_floats(make_config: MakeConfig) -> None:
    config = make_config(RULE.format(name="r") + "where = { price = { gte = 0.1 } }\n")
    assert config.rules[0].where == (("price", "gte", Decimal("0.1")),)


def test_state_dir_defaults_to_systemd_state_directory() -> None:
    config = parse_config(
        "", environ={"STATE_DIRECTORY": "/var/lib/alert-bridge"}, venue_plugins={}
    )
    assert config.bridge.state_dir == Path("/var/lib/alert-bridge")
    assert parse_config("", environ={}, venue_plugins={}).bridge.state_dir == Path("state")


def test_config_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config("given.toml", {"ALERT_BRIDGE_CONFIG": "env.toml"}) == Path("given.toml")
    assert find_config(None, {"ALERT_BRIDGE_CONFIG": "env.toml"}) == Path("env.toml")
    expected = Path("/etc/alert-bridge/config.toml")
    assert find_config(None, {}) == (expected if expected.exists() else Path("config.toml"))


def test_missing_config_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_allow_list_explains_an_excluded_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.plugins import load_plugins

    monkeypatch.setenv("ALERT_BRIDGE_LOAD_PLUGINS", "gateio")
    host = load_plugins()
    assert set(host.venues) == {"gateio"}
    with pytest.raises(ConfigError) as caught:
        parse_config(
            '[venues.b]\nplugin = "bitopro"\n',
            environ={},
            venue_plugins=host.venues,
            excluded_plugins=host.excluded,
        )
    assert 'unknown venue plugin "bitopro" (it is installed but' in str(caught.value)
    assert "$ALERT_BRIDGE_LOAD_PLUGINS leaves it out" in str(caught.value)
    assert plugin_host().venues  # the process-wide host is unaffected


class FileSink(Destination):
    """A plugin destination kind for these tests."""

    options = (Option("path", NON_EMPTY_TEXT),)


def plugin_config(text: str) -> Config:
    return parse_config(
        text,
        environ={},
        venue_plugins=plugin_host().venues,
        destination_plugins={"files": FileSink},
    )


def test_plugin_destination_kinds_are_sections_validated_by_their_schema() -> None:
    config = plugin_config(
        '[files.audit]\npath = "/var/log/a.jsonl"\nmax_attempts = 3\n'
        '[[rules]]\nname = "r"\non = "fill"\nnotify = ["audit"]\n'
    )
    audit = config.plugin_destinations["audit"]
    assert (audit.kind, audit.options, audit.max_attempts, audit.factory) == (
        "files",
        {"path": "/var/log/a.jsonl"},
        3,
        FileSink,
    )
    assert audit.retry == [5, 30, 120, 600, 3600, 10800, 21600]  # the delivery defaults
    assert "audit" in config.destinations and config.rules[0].notify == ("audit",)
    with pytest.raises(ConfigError) as caught:
        plugin_config(
            '[files.audit]\npaht = "x"\n[webhooks.audit]\nurl = "http://x"\n'
            'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n'
        )
    assert str(caught.value).splitlines() == [
        'config.toml: files.audit.paht: unknown key (did you mean "path"?); allowed keys: '
        "path, timeout, retry, max_attempts, concurrency, circuit_breaker",
        "config.toml: files.audit.path: required key is missing",
        'config.toml: files.audit: "audit" names another destination too; destination names '
        "must be unique so that rules can name them",
    ]
