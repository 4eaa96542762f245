"""The docs against the code: hooks, the venue contract, config keys, webhook verification.

Each test reads a document as a user would and compares it with what the code defines,
so a renamed key, a new hook or a changed signature fails here until the docs follow.
"""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bridge import hookspecs
from bridge.config import BRIDGE_SCHEMA, NOTIFIER_SCHEMA, WEBHOOK_SCHEMA, Config
from bridge.delivery.webhook import WebhookDestination
from bridge.events import FillEvent
from bridge.plugin import Signal, Venue
from bridge.plugins import DEFAULT_PLUGINS, plugin_host
from bridge.rules.compiler import RULE_KEYS, THRESHOLD_KEYS
from bridge.rules.conditions import OPERATORS
from bridge.rules.engine import RuleEngine
from bridge.store.jobs import Job, render_jobs
from bridge.testing import check_venue
from tests.conftest import REPO

DOCS = REPO / "docs"
TEST_DIRS = (REPO / "tests", REPO / "examples" / "venue-plugin" / "tests")
# Venue members the core calls but a plugin does not override.
CORE_SIDE = {"config_schema", "plugin"}


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The body of the ``## heading`` (or ###) section, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", text, re.S | re.M)
    assert match, f"no section {heading!r}"
    return match.group(1)


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def backticked(text: str) -> set[str]:
    """Every `inline code` span outside fenced blocks."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return set(re.findall(r"`([^`\n]+)`", prose))


def table_rows(text: str) -> dict[str, str]:
    """First cell (backticks removed) -> the rest of the row, for every table body row."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= {"-", ":", " "}:
            rows.popitem()  # the row above a separator is the header
            continue
        rows[cells[0].replace("`", "")] = " | ".join(cells[1:])
    return rows


def signature(function: Callable[..., Any]) -> str:
    # The hookspecs and the venue use postponed annotations: the source text, unquoted.
    return str(inspect.signature(function)).replace("'", "")


def hooks() -> dict[str, Callable[..., Any]]:
    marker = f"{hookspecs.PROJECT}_spec"  # what pluggy's HookspecMarker sets
    return {n: f for n, f in vars(hookspecs).items() if callable(f) and hasattr(f, marker)}


# ---------------------------------------------------------------------- plugins.md


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    documented = {
        name: rest
        for block in code_blocks(read("plugins.md"), "python")
        for name, rest in re.findall(r"^def (alert_bridge_\w+)(\(.*\) -> .*):$", block, re.M)
    }
    assert set(documented) == set(hooks())
    for name, function in hooks().items():
        assert documented[name] == signature(function), name
        assert f"### `{name}`" in read("plugins.md")


def test_every_hook_has_a_test() -> None:
    names = {
        node.name
        for folder in TEST_DIRS
        for path in folder.rglob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    for hook in hooks():
        assert any(n.startswith(f"test_hook_{hook}") for n in names), f"no test_hook_{hook}*"


def test_the_venue_contract_is_documented_with_exact_signatures() -> None:
    [skeleton] = [b for b in code_blocks(read("plugins.md"), "python") if "(Venue):" in b]
    for name, member in vars(Venue).items():
        if (name.startswith("_") and name != "__init__") or name in CORE_SIDE:
            continue
        if callable(member):
            prefix = "async def" if inspect.iscoroutinefunction(member) else "def"
            assert f"    {prefix} {name}{signature(member)}:" in skeleton, name
    for name, annotation in Venue.__annotations__.items():
        # postponed annotations are unparsed with single quotes; the docs use double ones
        assert f"    {name}: {annotation.replace(chr(39), chr(34))} = " in skeleton, name


def test_every_signal_is_explained() -> None:
    rows = table_rows(section(read("plugins.md"), "Classifying frames"))
    assert set(rows) == {s.name for s in Signal}


def test_check_venue_is_documented_with_its_signature() -> None:
    def shown(parameter: inspect.Parameter) -> str:
        if parameter.default is inspect.Parameter.empty:
            return parameter.name
        default = parameter.default
        return (
            f'{parameter.name}="{default}"'
            if isinstance(default, str)
            else (f"{parameter.name}={default}")
        )

    parameters = list(inspect.signature(check_venue).parameters.values())
    positional = [shown(p) for p in parameters if p.kind is not p.KEYWORD_ONLY]
    keyword = [shown(p) for p in parameters if p.kind is p.KEYWORD_ONLY]
    expected = f"check_venue({', '.join([*positional, '*', *keyword])})"
    assert expected in " ".join(read("plugins.md").split())


# ---------------------------------------------------------------------- config keys


def test_rules_md_lists_every_config_key_and_operator() -> None:
    rows = {
        table: backticked(keys)
        for table, keys in table_rows(section(read("rules.md"), "Every configuration key")).items()
    }
    with_rest = type(
        "WithRest", (Venue,), {"default_rest_url": "https://x", "order_state_prefixes": ("o:",)}
    )
    assert rows["[bridge]"] == set(BRIDGE_SCHEMA.names())
    assert rows["[venues.NAME]"] - {"configuration.md#venuesname"} == {
        "plugin",
        *with_rest.config_schema().names(),
    }
    assert rows["[notifiers.NAME]"] == set(NOTIFIER_SCHEMA.names())
    assert rows["[webhooks.NAME]"] == set(WEBHOOK_SCHEMA.names())
    assert rows["[[rules]]"] == set(RULE_KEYS)
    assert rows["threshold"] == set(THRESHOLD_KEYS)
    assert rows["where operators"] == set(OPERATORS)


def test_rules_md_explains_each_rule_key_operator_and_threshold_key() -> None:
    rules = read("rules.md")
    keys = {k for cell in table_rows(section(rules, "Keys")) for k in cell.split(", ")}
    assert keys == set(RULE_KEYS)
    operators = {o for cell in table_rows(section(rules, "Operators")) for o in cell.split(", ")}
    assert operators == set(OPERATORS)
    assert {"field", *THRESHOLD_KEYS} <= backticked(section(rules, "Thresholds"))


def test_configuration_md_explains_every_key() -> None:
    text = read("configuration.md")
    assert set(table_rows(section(text, "`[bridge]`"))) == set(BRIDGE_SCHEMA.names())
    webhooks = section(text, "`[webhooks.NAME]` — signed outgoing webhooks")
    assert set(table_rows(webhooks)) == set(WEBHOOK_SCHEMA.names())
    notifiers = section(text, "`[notifiers.NAME]` — Apprise")
    assert backticked(notifiers) >= set(NOTIFIER_SCHEMA.names())
    venues = section(text, "`[venues.NAME]`")
    plugins = table_rows(venues)
    host = plugin_host()
    for path in DEFAULT_PLUGINS:
        name = path.rsplit(".", 1)[-1]
        own = {o.name for o in host.venues[name].options}
        assert own <= backticked(plugins[name]), name
    assert {"plugin", "url", "rest_url", "idle_timeout"} <= backticked(venues)


# ---------------------------------------------------------------------- webhooks.md

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the webhook secret of BASE_CONFIG
RULE = '[[rules]]\nname = "large fill"\non = "fill"\nnotify = ["ops"]\n'


async def signed_delivery(config: Config) -> tuple[Job, dict[str, str]]:
    """A job as the pipeline renders it, with the headers our webhook sender puts on it."""
    event = FillEvent(
        id="fill-1",
        venue="gate-main",
        plugin="gateio",
        ts=1_700_000_000_123,
        received_at=1_700_000_000_150,
        symbol="BTC/USDT",
        price=Decimal(30000),
        amount=Decimal("0.5"),
        notional=Decimal(15000),
    )
    [match] = RuleEngine(config.rules).evaluate(event)
    [job] = render_jobs(match, time.time())
    async with httpx.AsyncClient() as client:
        destination = WebhookDestination(config.webhooks["ops"], client)
        return job, destination.headers(job, int(time.time()))


@pytest.mark.anyio
async def test_the_python_receiver_in_webhooks_md_verifies_our_delivery(
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    [snippet] = code_blocks(
        section(read("webhooks.md"), "Verifying on the receiving side"), "python"
    )
    job, headers = await signed_delivery(make_config(RULE))
    monkeypatch.setenv("OPS_WEBHOOK_SECRET", SECRET)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "docs/webhooks.md", "exec"), namespace)
    receive = namespace["receive"]
    assert receive(job.body, headers) == 204
    assert capsys.readouterr().out == "fill on gate-main: rule large fill\n"
    assert receive(job.body, headers) == 204  # the same webhook-id again: not handled twice
    assert capsys.readouterr().out == ""
    assert receive(job.body.replace(b"30000", b"30001"), headers) == 401
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert receive(job.body, stale) == 401


@pytest.mark.anyio
async def test_the_openssl_recipe_in_webhooks_md_gives_our_signature(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    assert shutil.which("openssl"), "the recipe needs openssl on PATH"
    [recipe] = [b for b in code_blocks(read("webhooks.md"), "sh") if "openssl dgst" in b]
    job, headers = await signed_delivery(make_config(RULE))
    (tmp_path / "body.json").write_bytes(job.body)
    # The recipe's first lines are placeholders for the captured headers: set them instead.
    script = "\n".join(
        line for line in recipe.splitlines() if not line.startswith(("ID=", "TIMESTAMP="))
    )
    result = await anyio.run_process(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "ID": headers["webhook-id"],
            "TIMESTAMP": headers["webhook-timestamp"],
            "OPS_WEBHOOK_SECRET": SECRET,
        },
    )
    assert f"v1,{result.stdout.decode().strip()}" == headers["webhook-signature"]
