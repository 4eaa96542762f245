"""Parsing the ``mappings`` and ``signals`` config keys into rules, with path-style errors.

Validated once at config load, so a typo in a field name is an ``alert-bridge check``
error naming where it is, never a silent gap at run time.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from bridge.plugin import FrameError, Signal

from alert_bridge_jsonws.fields import KIND_FIELDS, split_path
from alert_bridge_jsonws.mapping import EventMapping, Path, SignalRule

MAPPING_KEYS = ("when", "kind", "items", "id", "ts", "ts_unit", "fields", "values", "set")
SIGNAL_KEYS = ("when", "signal", "detail")
SIGNALS = {s.value: s for s in Signal if s is not Signal.DATA}

T = TypeVar("T")


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a table, got {type(value).__name__}")
    return value


def _path(value: Any, where: str) -> Path:
    if not isinstance(value, str):
        raise ValueError(f'{where}: expected a dotted path such as "data.price", got {value!r}')
    try:
        return split_path(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _when(value: Any, where: str) -> dict[Path, Any]:
    conditions: dict[Path, Any] = {}
    for key, wanted in _table(value, where).items():
        if isinstance(wanted, (dict, list)):
            raise ValueError(f"{where}.{key}: compare with one value (text, number, boolean)")
        conditions[_path(key, f"{where}.{key}")] = wanted
    return conditions


def _known_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ValueError(
                f"{where}.{key}: unknown key{_hint(key, allowed)}; allowed: {', '.join(allowed)}"
            )


def _field(name: str, kind: str, where: str) -> str:
    if name not in KIND_FIELDS[kind]:
        hint = _hint(name, KIND_FIELDS[kind])
        raise ValueError(f"{where}.{name}: not a field of {kind} events{hint}")
    return name


def _ids(value: Any, where: str) -> tuple[Path, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f'{where}: paths to the venue\'s own identity of the fact, e.g. ["id"]')
    return tuple(_path(item, f"{where}[{index}]") for index, item in enumerate(value))


def _constants(value: Any, kind: str, where: str) -> dict[str, Any]:
    constants = {}
    for name, constant in _table(value, where).items():
        convert = KIND_FIELDS[kind][_field(name, kind, where)]
        try:
            constants[name] = convert(constant, name)
        except FrameError as exc:
            raise ValueError(f"{where}.{name}: {exc}") from None
    return constants


def parse_mapping(value: Any, where: str, kinds: tuple[str, ...]) -> EventMapping:
    """One ``[[venues.NAME.mappings]]`` table."""
    table = _table(value, where)
    _known_keys(table, MAPPING_KEYS, where)
    kind = table.get("kind")
    if kind not in kinds:
        raise ValueError(f"{where}.kind: {kind!r} is not one of {', '.join(kinds)}")
    paths = {
        _field(name, kind, f"{where}.fields"): _path(path, f"{where}.fields.{name}")
        for name, path in _table(table.get("fields", {}), f"{where}.fields").items()
    }
    values = {
        _field(name, kind, f"{where}.values"): _table(names, f"{where}.values.{name}")
        for name, names in _table(table.get("values", {}), f"{where}.values").items()
    }
    unit = table.get("ts_unit", "ms")
    if unit not in ("ms", "s"):
        raise ValueError(f'{where}.ts_unit: "ms" or "s", not {unit!r}')
    return EventMapping(
        when=_when(table.get("when", {}), f"{where}.when"),
        kind=kind,
        id=_ids(table.get("id"), f"{where}.id"),
        fields=paths,
        items=_path(table["items"], f"{where}.items") if "items" in table else None,
        ts=_path(table["ts"], f"{where}.ts") if "ts" in table else None,
        ts_seconds=unit == "s",
        values=values,
        constants=_constants(table.get("set", {}), kind, f"{where}.set"),
    )


def parse_signal(value: Any, where: str) -> SignalRule:
    """One ``[[venues.NAME.signals]]`` table."""
    table = _table(value, where)
    _known_keys(table, SIGNAL_KEYS, where)
    name = table.get("signal")
    if name not in SIGNALS:
        raise ValueError(f"{where}.signal: {name!r} is not one of {', '.join(SIGNALS)}")
    return SignalRule(
        when=_when(table.get("when", {}), f"{where}.when"),
        signal=SIGNALS[name],
        detail=_path(table["detail"], f"{where}.detail") if "detail" in table else None,
    )


def array_of(parse: Callable[[Any, str], T], key: str) -> Callable[[Any], list[T]]:
    """A config converter for an array of tables, each parsed by ``parse``.

    Every table is checked, so one ``alert-bridge check`` names every broken one.
    """

    def convert(value: Any) -> list[T]:
        if not isinstance(value, list):
            raise ValueError(f"expected an array of tables: write [[venues.NAME.{key}]]")
        parsed, problems = [], []
        for index, item in enumerate(value):
            try:
                parsed.append(parse(item, f"{key}[{index}]"))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return parsed

    return convert


def json_frames(value: Any) -> list[dict[str, Any]]:
    """The ``subscribe`` key: JSON objects (TOML tables) to send after connecting."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError('expected a list of tables, e.g. [{ op = "subscribe" }]')
    return list(value)
