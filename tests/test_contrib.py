"""contrib/: the Grafana dashboard and the Prometheus alerting rules.

Every PromQL expression in them may name only metrics the service exports: the names
are collected from /metrics of a real `alert-bridge run`, plus a short list of names
that are coming (being added in parallel) and Prometheus' own `up`. The rules file is
checked by `promtool check rules` where promtool is installed (`make system-deps` takes
it from Debian's prometheus package), and always by a YAML/PromQL-shape check here; the
dashboard's expressions go through promtool too, as recording rules.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.service_helpers import run_service

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "contrib" / "grafana" / "alert-bridge.json"
RULES = ROOT / "contrib" / "prometheus" / "alert-bridge.rules.yml"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# Names the expressions may use before the service exports them (none today: every name
# they use is on /metrics). A name added here must leave once the service exports it, so
# that a misspelling of it cannot pass.
COMING: set[str] = set()
# Series Prometheus makes itself for every target it scrapes.
PROMETHEUS_OWN = {"up"}

# -- PromQL: the metric names an expression selects ------------------------------------

_KEYWORDS = {
    *("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"),
    *("group_left", "group_right", "inf", "nan", "atan2"),
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()")


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects (not functions, keywords, labels or durations)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^{}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\[\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\boffset\s+\S+", " ", text)
    text = _LABEL_LIST.sub(" ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables
    return {name for name in _IDENTIFIER.findall(text) if name not in _KEYWORDS}


def test_metric_names_finds_metrics_and_nothing_else() -> None:
    expr = (
        'sum by (venue, le) (rate(alert_bridge_x_bucket{venue=~"$venue", a="b(c)"}[$__interval]))'
        " and on (instance) group_left (version) alert_bridge_build_info offset 5m"
        " > bool 2 or vector(0) unless up{job='alert-bridge'}"
        " / histogram_quantile(0.95, foo:bar[5m:1m])"
    )
    names = {"alert_bridge_x_bucket", "alert_bridge_build_info", "up", "foo:bar"}
    assert metric_names(expr) == names


# -- what the files hold ---------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def rules() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(RULES.read_text())
    return loaded


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' collapsed panels too."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_expressions(board: dict[str, Any]) -> list[str]:
    """Each target's expression, and the selector of each label_values() variable."""
    found = [t["expr"] for p in panels(board) for t in p.get("targets", [])]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["query"]["query"])
            assert match, f"variable {variable['name']}: not a label_values() query"
            found.append(match.group(1))
    return found


def rule_expressions(groups: dict[str, Any]) -> list[str]:
    return [rule["expr"] for group in groups["groups"] for rule in group["rules"]]


# -- the names /metrics has -------------------------------------------------------------

SERVICE_CONFIG = """
[bridge]
state_dir = "{state}"
http = "127.0.0.1:{port}"

[venues.gate-down]
plugin = "gateio"
api_key = "k"
api_secret = "s"
url = "ws://127.0.0.1:{closed}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[webhooks.ops]
url = "http://127.0.0.1:{closed}/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def exposition_names(text: str) -> set[str]:
    """Every sample name the exposition has or declares (histograms' three series too)."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.add(name)
            suffixes = {
                "histogram": ("_bucket", "_sum", "_count"),
                "summary": ("_sum", "_count"),
                "counter": ("_total",),
            }.get(kind, ())
            names.update(name.removesuffix("_total") + s for s in suffixes)
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


@pytest.mark.anyio
async def test_every_expression_names_only_exported_metrics(tmp_path: Path) -> None:
    port, closed = _free_port(), _free_port()
    config = tmp_path / "config.toml"
    config.write_text(SERVICE_CONFIG.format(state=tmp_path / "state", port=port, closed=closed))
    async with run_service(config) as service, httpx.AsyncClient() as http:
        await service.wait_for_log("health and metrics on")
        scraped = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert scraped.status_code == 200
    exported = exposition_names(scraped.text)
    assert "alert_bridge_delivery_seconds_bucket" in exported  # declared while still empty
    known = exported | COMING | PROMETHEUS_OWN

    expressions = {
        "dashboard": dashboard_expressions(dashboard()),
        "rules": rule_expressions(rules()),
    }
    for source, exprs in expressions.items():
        for expr in exprs:
            names = metric_names(expr)
            assert names, f"{source}: no metric in {expr!r}"
            unknown = names - known
            assert not unknown, f"{source}: {sorted(unknown)} not exported, in {expr!r}"
    used = {name for exprs in expressions.values() for expr in exprs for name in metric_names(expr)}
    assert not COMING - used, "a COMING name nothing uses: drop it from the list"


def test_a_misspelled_metric_would_be_caught() -> None:
    # The check above fails on a name /metrics does not have, such as a singular.
    exported = exposition_names(
        "# HELP alert_bridge_frames_total Frames.\n# TYPE alert_bridge_frames_total counter\n"
        'alert_bridge_frames_total{venue="a"} 1\n'
        "# TYPE alert_bridge_delivery_seconds histogram\n"
    )
    assert metric_names("rate(alert_bridge_frame_total[5m])") - exported == {
        "alert_bridge_frame_total"
    }
    assert {"alert_bridge_frames_total", "alert_bridge_delivery_seconds_count"} <= exported


# -- the dashboard ---------------------------------------------------------------------


def test_dashboard_panels_use_the_datasource_variable() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 36


def test_dashboard_shows_what_an_operator_watches() -> None:
    used = {name for expr in dashboard_expressions(dashboard()) for name in metric_names(expr)}
    wanted = {
        "alert_bridge_venue_connected",
        "alert_bridge_frames_total",
        "alert_bridge_events_total",
        "alert_bridge_matches_total",
        "alert_bridge_deliveries_total",
        "alert_bridge_outbox_depth",
        "alert_bridge_dead_letters",
        "alert_bridge_outbox_oldest_job_age_seconds",
        "alert_bridge_reconnects_total",
        "alert_bridge_delivery_seconds_bucket",
        "alert_bridge_event_to_delivery_seconds_bucket",
        "alert_bridge_circuit_open",
        "alert_bridge_store_write_failures_total",
        "alert_bridge_config_last_reload_successful",
    }
    assert wanted <= used, sorted(wanted - used)


# -- the rules -------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def _balanced(expr: str) -> bool:
    depth: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in _STRING.sub('""', expr):
        if char in "([{":
            depth.append(char)
        elif char in pairs and (not depth or depth.pop() != pairs[char]):
            return False
    return not depth


def test_rules_file_has_the_shape_prometheus_reads() -> None:
    # Without promtool this is the whole check: YAML, the rule fields, durations,
    # brackets in each expression and {{ }} in each annotation.
    groups = rules()
    assert set(groups) == {"groups"}
    names: list[str] = []
    for group in groups["groups"]:
        assert set(group) == {"name", "rules"} and group["rules"], group
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"AlertBridge[A-Z][A-Za-z]+", rule["alert"]), rule["alert"]
            names.append(rule["alert"])
            assert isinstance(rule["expr"], str) and _balanced(rule["expr"]), rule["alert"]
            assert _DURATION.match(rule.get("for", "0s")), rule["alert"]
            assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
            assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
            for text in rule["annotations"].values():
                assert text.count("{{") == text.count("}}"), rule["alert"]
    assert len(names) == len(set(names)), "alert names are unique"


def test_rules_cover_the_failures_that_matter() -> None:
    by_metric: dict[str, list[str]] = {}
    for group in rules()["groups"]:
        for rule in group["rules"]:
            for name in metric_names(rule["expr"]):
                by_metric.setdefault(name, []).append(rule["alert"])
    for metric in (
        "alert_bridge_venue_connected",  # venue down
        "alert_bridge_outbox_depth",  # outbox not draining
        "alert_bridge_outbox_oldest_job_age_seconds",  # a job waiting too long
        "alert_bridge_dead_letters",  # dead letters growing
        "alert_bridge_config_last_reload_successful",  # reload rejected
        "alert_bridge_circuit_open",  # a destination failing for long
        "alert_bridge_store_write_failing",  # state database not writable
        "alert_bridge_reconcile_failures_total",  # reconciliation failing
    ):
        assert metric in by_metric, f"no rule on {metric}"
    reload_rules = [
        r["expr"] for g in rules()["groups"] for r in g["rules"] if "reload" in r["expr"]
    ]
    assert reload_rules == ["alert_bridge_config_last_reload_successful == 0"]


# -- promtool --------------------------------------------------------------------------


def _promtool() -> str | None:
    beside = Path(sys.executable).parent / "promtool"  # where `make system-deps` puts it
    return str(beside) if beside.exists() else shutil.which("promtool")


needs_promtool = pytest.mark.skipif(
    _promtool() is None,
    reason="promtool not installed (`make system-deps` takes it from Debian's prometheus "
    "package): only the YAML/PromQL-shape check ran",
)


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run(
        [str(_promtool()), "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rule_expressions(rules()))} rules found" in done.stdout


@needs_promtool
def test_promtool_parses_every_dashboard_expression(tmp_path: Path) -> None:
    # Grafana's variables filled as Grafana would, each expression a recording rule.
    filled = {"$__rate_interval": "5m", "$instance": ".*", "$venue": ".*", "$destination": ".*"}
    records = []
    for index, expr in enumerate(dashboard_expressions(dashboard())):
        for variable, value in filled.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"an unfilled Grafana variable in {expr!r}"
        records.append({"record": f"alert_bridge_dashboard:expr{index}", "expr": expr})
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    done = subprocess.run(
        [str(_promtool()), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# What each rule does with data: promtool's rule unit tests, on a copy of the rules
# without annotations (whose wording promtool would otherwise compare verbatim; their
# templates are checked by `promtool check rules` above). Series are one sample a minute.
A = {"instance": "a:9108", "job": "alert-bridge"}
B = {"instance": "b:9108", "job": "alert-bridge"}


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    pairs = ", ".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{pairs}}}", "values": values}


def _fires(alert: str, at: str, *label_sets: dict[str, str]) -> dict[str, Any]:
    return {
        "eval_time": at,
        "alertname": alert,
        "exp_alerts": [{"exp_labels": s} for s in label_sets],
    }


RULE_CASES: list[dict[str, Any]] = [
    {  # down since minute 2: pending for 5 minutes, then firing
        "input_series": [
            _series("alert_bridge_venue_connected", {**A, "venue": "gate"}, "1 1 0x20")
        ],
        "alert_rule_test": [
            _fires("AlertBridgeVenueDown", "5m"),
            _fires("AlertBridgeVenueDown", "8m", {**A, "venue": "gate", "severity": "critical"}),
        ],
    },
    {
        "input_series": [_series("up", A, "1 0x10")],
        "alert_rule_test": [_fires("AlertBridgeDown", "4m", {**A, "severity": "critical"})],
    },
    {  # a, waiting with nothing delivered, alerts; b, waiting but delivering, does not
        "input_series": [
            _series("alert_bridge_outbox_depth", A, "3x60"),
            _series("alert_bridge_outbox_depth", B, "3x60"),
            _series(
                "alert_bridge_deliveries_total",
                {**A, "destination": "ops", "outcome": "delivered"},
                "5x60",
            ),
            _series(
                "alert_bridge_deliveries_total",
                {**B, "destination": "ops", "outcome": "delivered"},
                "0+1x60",
            ),
        ],
        "alert_rule_test": [
            _fires("AlertBridgeOutboxStuck", "10m"),
            _fires("AlertBridgeOutboxStuck", "40m", {**A, "severity": "warning"}),
        ],
    },
    {  # one minute older each minute: over 30 minutes for 5 minutes
        "input_series": [
            _series(
                "alert_bridge_outbox_oldest_job_age_seconds", {**A, "destination": "ops"}, "0+60x60"
            )
        ],
        "alert_rule_test": [
            _fires("AlertBridgeOutboxOldJob", "30m"),
            _fires(
                "AlertBridgeOutboxOldJob", "40m", {**A, "destination": "ops", "severity": "warning"}
            ),
        ],
    },
    {  # two jobs buried at minute 3: alerts while they are new, not once the count is flat
        "input_series": [_series("alert_bridge_dead_letters", A, "0x3 2x40")],
        "alert_rule_test": [
            _fires("AlertBridgeDeadLettersGrowing", "5m", {**A, "severity": "warning"}),
            _fires("AlertBridgeDeadLettersGrowing", "30m"),
        ],
    },
    {
        "input_series": [_series("alert_bridge_config_last_reload_successful", A, "1 1 0 0 1")],
        "alert_rule_test": [
            _fires("AlertBridgeConfigReloadFailed", "1m"),
            _fires("AlertBridgeConfigReloadFailed", "2m", {**A, "severity": "warning"}),
            _fires("AlertBridgeConfigReloadFailed", "4m"),
        ],
    },
    {
        "input_series": [
            _series("alert_bridge_circuit_open", {**A, "destination": "ops"}, "0 1x30")
        ],
        "alert_rule_test": [
            _fires("AlertBridgeCircuitOpen", "10m"),
            _fires(
                "AlertBridgeCircuitOpen", "17m", {**A, "destination": "ops", "severity": "warning"}
            ),
        ],
    },
    {  # failing on and off still alerts
        "input_series": [_series("alert_bridge_store_write_failing", A, "0 1 0 1 0 1 0 1 0 1 0")],
        "alert_rule_test": [
            _fires("AlertBridgeStoreWriteFailing", "8m", {**A, "severity": "critical"})
        ],
    },
    {
        "input_series": [
            _series("alert_bridge_reconcile_failures_total", {**A, "venue": "gate"}, "0+1x60")
        ],
        "alert_rule_test": [
            _fires("AlertBridgeReconcileFailing", "20m"),
            _fires(
                "AlertBridgeReconcileFailing", "45m", {**A, "venue": "gate", "severity": "warning"}
            ),
        ],
    },
    {
        "input_series": [
            _series("alert_bridge_frame_errors_total", {**A, "venue": "gate"}, "0 0 3x40")
        ],
        "alert_rule_test": [
            _fires(
                "AlertBridgeMalformedFrames", "5m", {**A, "venue": "gate", "severity": "warning"}
            ),
            _fires("AlertBridgeMalformedFrames", "30m"),
        ],
    },
]


@needs_promtool
def test_rules_fire_on_the_failures_they_name(tmp_path: Path) -> None:
    groups = rules()
    for group in groups["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(groups))
    tested = {case["alertname"] for test in RULE_CASES for case in test["alert_rule_test"]}
    assert tested == {r["alert"] for g in groups["groups"] for r in g["rules"]} - {
        "AlertBridgeSlowAlerts"  # a quantile of a histogram: checked for syntax only
    }
    suite = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", **case} for case in RULE_CASES],
    }
    (tmp_path / "rules.test.yml").write_text(yaml.safe_dump(suite))
    done = subprocess.run(
        [str(_promtool()), "test", "rules", "rules.test.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
