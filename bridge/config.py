"""Loading and validating the one TOML configuration file (DESIGN §4).

Every problem is collected and reported at once, each with its path: a user fixing a
config should not have to run ``check`` once per typo.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.apprise_urls import FORMATS, load_apprise
from bridge.errors import ConfigError, ConfigTextError, Problem, UsageError, UserError
from bridge.interpolation import PLACEHOLDER_APPRISE_URL, Interpolator, Placeholders
from bridge.rules import Rule, compile_rules
from bridge.schema import (
    DURATION,
    DURATION_LIST,
    NON_NEGATIVE_INTEGER,
    POSITIVE_INTEGER,
    TEXT,
    TEXT_TABLE,
    Option,
    Problems,
    Schema,
    Secrets,
    non_empty_list,
    one_of,
    url_with_scheme,
)
from bridge.units import did_you_mean, quote_list

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

SECTIONS = ("bridge", "venues", "notifiers", "webhooks", "rules")
DEFAULT_RETRY = [5.0, 30.0, 120.0, 600.0, 3600.0, 10800.0, 21600.0]
DEFAULT_CONFIG_PATHS = (Path("/etc/alert-bridge/config.toml"), Path("config.toml"))


def _http_address(value: Any) -> str:
    text: str = TEXT(value)
    if text == "":
        return text
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f'"{text}" is not host:port (e.g. "127.0.0.1:9108"); "" disables it')
    return text


def _webhook_secrets(value: Any) -> list[str]:
    """One or more ``whsec_<base64>`` secrets; several sign with each (rotation)."""
    items = non_empty_list(value)
    for item in items:
        if not item.startswith("whsec_"):
            raise ValueError(
                'a webhook secret must be "whsec_" followed by base64; generate '
                "one with: python3 -c \"import base64,os;print('whsec_'+"
                'base64.b64encode(os.urandom(24)).decode())"'
            )
        try:
            raw = base64.b64decode(item[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError('a webhook secret must be "whsec_" followed by valid base64') from None
        if len(raw) < 16:
            raise ValueError("a webhook secret must hold at least 16 bytes (24 or more advised)")
    return items


def _apprise_urls(value: Any) -> list[str]:
    items: list[str] = non_empty_list(value)
    # Never echo a URL in these messages: Apprise URLs embed tokens.
    for index, item in enumerate(items):
        if "://" not in item:
            raise ValueError(f"urls[{index}] is not an Apprise URL (scheme://...)")
    # Caught at `check`, not as dead letters later. The --placeholders URL is known to pass
    # (tests/test_placeholders.py asks Apprise): loading Apprise's plugins for it alone
    # would double the time `check --placeholders` takes.
    real = [index for index, item in enumerate(items) if item != PLACEHOLDER_APPRISE_URL]
    _, rejected = load_apprise([items[i] for i in real]) if real else (None, [])
    unusable = [real[i] for i in rejected]
    if unusable:
        index = unusable[0]
        scheme = items[index].split("://", 1)[0]
        raise ValueError(
            f"urls[{index}]: Apprise cannot use this {scheme}:// URL (an "
            "unknown service, or a field missing or malformed; see the "
            "Apprise wiki for that service's URL format)"
        )
    return items


LOG_LEVELS = ("debug", "info", "warning", "error")

BRIDGE_SCHEMA = Schema(
    (
        Option("state_dir", TEXT, default="", secret=False),
        Option("http", _http_address, default="127.0.0.1:9108", secret=False),
        Option("log_level", one_of(*LOG_LEVELS), default="info"),
        Option("shutdown_grace", DURATION, default=10.0),
        Option("reconnect_delay", DURATION, default=1.0),
        Option("reconnect_max_delay", DURATION, default=60.0),
        Option("auth_retry_delay", DURATION, default=30.0),
    )
)

DELIVERY_OPTIONS = (
    Option("timeout", DURATION, default=10.0),
    Option("retry", DURATION_LIST, default=DEFAULT_RETRY),
    Option("max_attempts", POSITIVE_INTEGER, default=8),
    Option("concurrency", POSITIVE_INTEGER, default=4),
    Option("circuit_breaker", NON_NEGATIVE_INTEGER, default=5),
)
NOTIFIER_SCHEMA = Schema(
    (
        Option("urls", _apprise_urls, secret=True),
        # what the rule's title and body are written in; Apprise converts for each service
        Option("format", one_of(*FORMATS), default="text"),
        *DELIVERY_OPTIONS,
    )
)
WEBHOOK_SCHEMA = Schema(
    (
        Option("url", url_with_scheme("https", "http")),
        Option("secret", _webhook_secrets, secret=True),
        Option("headers", TEXT_TABLE, default={}),
        *DELIVERY_OPTIONS,
    )
)


@dataclass(frozen=True)
class BridgeSettings:
    state_dir: Path
    http: str
    log_level: str
    shutdown_grace: float
    reconnect_delay: float = 1.0  # backoff base (full jitter, doubling)
    reconnect_max_delay: float = 60.0  # backoff cap
    auth_retry_delay: float = 30.0  # added to the backoff after an auth failure


@dataclass(frozen=True)
class VenueConfig:
    """One ``[venues.NAME]`` table: the plugin it uses and that plugin's validated options."""

    name: str
    plugin: str
    options: dict[str, Any]


@dataclass(frozen=True)
class DeliveryConfig:
    """What every destination has: retries and limits."""

    name: str
    timeout: float
    retry: list[float]
    max_attempts: int
    concurrency: int
    circuit_breaker: int  # failed attempts in a row that open the circuit; 0: never


@dataclass(frozen=True)
class NotifierConfig(DeliveryConfig):
    urls: list[str]
    format: str = "text"  # text | markdown | html: Apprise's body_format


@dataclass(frozen=True)
class WebhookConfig(DeliveryConfig):
    url: str
    secrets: list[str]
    headers: dict[str, str]


@dataclass(frozen=True)
class PluginDestinationConfig(DeliveryConfig):
    """One ``[KIND.NAME]`` table of a destination kind a plugin registered."""

    kind: str
    options: dict[str, Any]
    factory: Any  # the plugin's Destination class, which builds the instance


@dataclass
class Config:
    """A validated configuration."""

    source: str
    bridge: BridgeSettings
    venues: dict[str, VenueConfig] = field(default_factory=dict)
    notifiers: dict[str, NotifierConfig] = field(default_factory=dict)
    webhooks: dict[str, WebhookConfig] = field(default_factory=dict)
    #: destinations of kinds plugins registered, by name
    plugin_destinations: dict[str, PluginDestinationConfig] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    #: values that must never be logged: secret keys' values, and ${...} values (see Secrets)
    secrets: frozenset[str] = frozenset()

    @property
    def destinations(self) -> dict[str, DeliveryConfig]:
        return {**self.notifiers, **self.webhooks, **self.plugin_destinations}

    def summary(self) -> str:
        return (
            f"{len(self.venues)} venues, {len(self.destinations)} destinations, "
            f"{len(self.rules)} rules"
        )

    def counts(self) -> dict[str, int]:
        """The summary's figures, for ``check --json``."""
        return {
            "venues": len(self.venues),
            "destinations": len(self.destinations),
            "rules": len(self.rules),
        }


def find_config(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """``-c`` if given, else $ALERT_BRIDGE_CONFIG, else /etc/alert-bridge, else ./config.toml."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("ALERT_BRIDGE_CONFIG"):
        return Path(env["ALERT_BRIDGE_CONFIG"])
    for candidate in DEFAULT_CONFIG_PATHS:
        if candidate.exists():
            return candidate
    return DEFAULT_CONFIG_PATHS[-1]


def load_config(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    venue_plugins: Mapping[str, Any] | None = None,
    runnable: bool = False,
    probe_state_dir: bool = False,
    placeholders: Placeholders | None = None,
) -> Config:
    """Read, interpolate and validate ``path``; ConfigError lists every problem.

    ``runnable``: also require what ``run`` needs (a venue and a rule);
    ``probe_state_dir``: also require a usable ``state_dir`` (see :func:`parse_config`).
    With ``placeholders``, no variable or file is read: each reference gets a placeholder.
    """
    path = Path(path)
    text = _read_config(path)
    return parse_config(
        text,
        source=str(path),
        environ=environ,
        venue_plugins=venue_plugins,
        runnable=runnable,
        probe_state_dir=probe_state_dir,
        placeholders=placeholders,
    )


def _read_config(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(
            f"{path}: config file not found (pass -c PATH or set "
            "$ALERT_BRIDGE_CONFIG; rules.example.toml is a starting point)"
        ) from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read config file: {exc.strerror}") from None
    return _decode_config(path, data)


def _decode_config(path: Path, data: bytes) -> str:
    """The file's text; a file that is not UTF-8 is one clear error, never a traceback."""
    # TOML text never holds a NUL byte; binary files and UTF-16 text nearly always do.
    if b"\0" in data:
        raise ConfigTextError(
            f"{path}: a binary file (it contains NUL bytes), not TOML text; "
            "point -c at the config file, saved as UTF-8 text"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigTextError(
            f"{path}: line {line}: byte 0x{data[exc.start]:02x} is not UTF-8, which TOML "
            "requires; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None


def load_bridge_settings(
    path: str | Path, *, environ: Mapping[str, str] | None = None
) -> BridgeSettings:
    """Only the ``[bridge]`` table of ``path``, for commands that need nothing else.

    The ``outbox`` commands read just the state directory: they work without the
    venues' and destinations' secrets, and while the rest of the file is broken.
    """
    text = _read_config(Path(path))
    source = str(path)
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [Problem("", f"invalid TOML: {exc}")]) from None
    env = os.environ if environ is None else environ
    problems = Problems()
    table = Interpolator(env).resolve(document.get("bridge", {}), "bridge", problems)
    settings = _bridge(table, env, problems)
    if problems:
        raise ConfigError(source, problems.items)
    return settings


def parse_config(
    text: str,
    *,
    source: str = "config.toml",
    environ: Mapping[str, str] | None = None,
    venue_plugins: Mapping[str, Any] | None = None,
    excluded_plugins: Collection[str] = (),
    destination_plugins: Mapping[str, Any] | None = None,
    runnable: bool = False,
    probe_state_dir: bool = False,
    placeholders: Placeholders | None = None,
) -> Config:
    """Validate a configuration given as TOML text (see :func:`load_config`).

    ``venue_plugins`` maps plugin names to Venue classes (default: the loaded plugins);
    ``excluded_plugins`` are installed ones the allow-list left out, for a better error;
    ``destination_plugins`` maps destination kinds (sections) to Destination classes.
    ``runnable`` requires at least one venue and one rule: ``run``, a reload and
    ``check`` need them, while ``test`` or ``notify-test`` can work with less.
    ``probe_state_dir`` requires a ``state_dir`` the service could use (nothing is
    created), for ``check``.
    """
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [Problem("", f"invalid TOML: {exc}")]) from None
    env = os.environ if environ is None else environ
    if venue_plugins is None:
        from bridge.plugins import plugin_host

        host = plugin_host()
        venue_plugins = host.venues
        excluded_plugins = host.excluded
        if destination_plugins is None:
            destination_plugins = host.destinations
    destination_plugins = destination_plugins or {}
    sections = (*SECTIONS, *destination_plugins)
    problems = Problems()
    interpolator = Interpolator(env, placeholders)
    document = interpolator.resolve(document, "", problems)
    for key in document:
        if key not in sections:
            problems.add(
                key,
                f"unknown section{did_you_mean(key, sections)}; sections: {', '.join(sections)}",
            )
    secrets = Secrets(interpolator.origins)
    secrets.collect(BRIDGE_SCHEMA, "bridge", {})
    bridge = _bridge(document.get("bridge", {}), env, problems)
    if probe_state_dir:
        _probe_state_dir(bridge.state_dir, problems)
    venues = _venues(document.get("venues", {}), venue_plugins, excluded_plugins, problems, secrets)
    notifiers = _destinations(
        document.get("notifiers", {}), "notifiers", NOTIFIER_SCHEMA, problems, secrets
    )
    webhooks = _destinations(
        document.get("webhooks", {}), "webhooks", WEBHOOK_SCHEMA, problems, secrets
    )
    for name in set(notifiers) & set(webhooks):
        problems.add(
            f"webhooks.{name}",
            f'"{name}" is also a notifier; destination names must '
            "be unique so that rules can name them",
        )
    plugged = _plugin_destinations(
        document, destination_plugins, problems, secrets, taken={**notifiers, **webhooks}
    )
    rules = compile_rules(
        document.get("rules", []),
        venues=venues,
        destinations={**notifiers, **webhooks, **plugged},
        problems=problems,
    )
    if runnable:
        _require_runnable(document, problems)
    if problems:
        raise ConfigError(source, problems.items)
    return Config(
        source=source,
        bridge=bridge,
        venues=venues,
        notifiers={n: NotifierConfig(name=n, **v) for n, v in notifiers.items()},
        webhooks={
            n: WebhookConfig(name=n, secrets=v.pop("secret"), **v) for n, v in webhooks.items()
        },
        plugin_destinations=plugged,
        rules=rules,
        secrets=secrets.values(),
    )


def _require_runnable(document: dict[str, Any], problems: Problems) -> None:
    """A valid file can still leave the service nothing to do: an empty or cut-off one."""
    if not document:
        problems.add(
            "",
            "no settings at all (an empty or truncated file?); the service needs at "
            "least one [venues.NAME] table and one [[rules]] (rules.example.toml shows both)",
        )
        return
    # Present but invalid tables have problems of their own already.
    if not document.get("venues"):
        problems.add(
            "venues",
            "none configured, so the service would watch nothing; add a [venues.NAME] "
            'table with plugin = "..." (`alert-bridge plugins` lists them)',
        )
    if not document.get("rules"):
        problems.add(
            "rules",
            "none configured, so no event would ever alert anyone; add a [[rules]] table "
            "(see rules.example.toml)",
        )


def _probe_state_dir(state_dir: Path, problems: Problems) -> None:
    # Deferred: the store package imports the rules and dry-run modules, which import this one.
    from bridge.store.location import STATE_DIR_FIX, state_dir_problem

    problem = state_dir_problem(state_dir)
    if problem:
        problems.add("bridge.state_dir", f'"{state_dir}" {problem}; {STATE_DIR_FIX}')


def _table(value: Any, path: str, problems: Problems) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    problems.add(path, f"must be a table, e.g. [{path}]")
    return {}


def _bridge(value: Any, environ: Mapping[str, str], problems: Problems) -> BridgeSettings:
    settings = BRIDGE_SCHEMA.validate(_table(value, "bridge", problems), "bridge", problems)
    state_dir = settings["state_dir"] or environ.get("STATE_DIRECTORY", "").split(":")[0] or "state"
    return BridgeSettings(
        Path(state_dir),
        settings["http"],
        settings["log_level"],
        settings["shutdown_grace"],
        settings["reconnect_delay"],
        settings["reconnect_max_delay"],
        settings["auth_retry_delay"],
    )


def _venues(
    value: Any,
    plugins: Mapping[str, Any],
    excluded: Collection[str],
    problems: Problems,
    secrets: Secrets,
) -> dict[str, VenueConfig]:
    venues: dict[str, VenueConfig] = {}
    for name, table in _table(value, "venues", problems).items():
        path = f"venues.{name}"
        if not isinstance(table, dict):
            problems.add(path, f'must be a table: [venues.{name}] with plugin = "..."')
            continue
        plugin = table.get("plugin")
        if not isinstance(plugin, str):
            problems.add(
                f"{path}.plugin", f"required: the venue plugin to use, one of {quote_list(plugins)}"
            )
            continue
        if plugin not in plugins:
            why = (
                f" (it is installed but {os.environ.get('ALERT_BRIDGE_LOAD_PLUGINS')!r} in "
                "$ALERT_BRIDGE_LOAD_PLUGINS leaves it out)"
                if plugin in excluded
                else ""
            )
            problems.add(
                f"{path}.plugin",
                f'unknown venue plugin "{plugin}"{why}'
                f"{did_you_mean(plugin, plugins)}; installed: {quote_list(plugins)}",
            )
            continue
        schema: Schema = plugins[plugin].config_schema()
        rest = {k: v for k, v in table.items() if k != "plugin"}
        options = schema.validate(rest, path, problems)
        secrets.collect(schema, path, options)
        venues[name] = VenueConfig(name, plugin, options)
    return venues


def _destinations(
    value: Any,
    section: str,
    schema: Schema,
    problems: Problems,
    secrets: Secrets,
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, table in _table(value, section, problems).items():
        path = f"{section}.{name}"
        if not isinstance(table, dict):
            problems.add(path, f"must be a table: [{section}.{name}]")
            continue
        options = schema.validate(table, path, problems)
        secrets.collect(schema, path, options)
        found[name] = options
    return found


def _plugin_destinations(
    document: dict[str, Any],
    kinds: Mapping[str, Any],
    problems: Problems,
    secrets: Secrets,
    *,
    taken: Collection[str],
) -> dict[str, PluginDestinationConfig]:
    """``[KIND.NAME]`` tables of plugin destination kinds, validated by each kind's schema."""
    found: dict[str, PluginDestinationConfig] = {}
    delivery_keys = {o.name for o in DELIVERY_OPTIONS}
    for kind, factory in kinds.items():
        tables = _destinations(
            document.get(kind, {}), kind, factory.config_schema(), problems, secrets
        )
        for name, options in tables.items():
            if name in taken or name in found:
                problems.add(
                    f"{kind}.{name}",
                    f'"{name}" names another destination too; '
                    "destination names must be unique so that rules can name them",
                )
                continue
            own = {k: v for k, v in options.items() if k not in delivery_keys}
            delivery = {k: v for k, v in options.items() if k in delivery_keys}
            found[name] = PluginDestinationConfig(
                name=name, kind=kind, options=own, factory=factory, **delivery
            )
    return found
