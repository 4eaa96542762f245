from decimal import Decimal

import pytest

from bridge.units import did_you_mean, parse_decimal, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("10s", 10),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("0s", 0),
        ("1.5s", 1.5),
        (3, 3),
        (Decimal("0.5"), 0.5),
        ("1h30m", 5400),  # compounds: largest unit first, each once
        ("1d12h", 129600),
        ("1m30s", 90),
        ("2s500ms", 2.5),
        ("1h 15m", 4500),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "bad", ["10", "5 minutes", "-1s", "s", "", True, [1], "1e3s", "30m1h", "1h1h", "1h-5m"]
)
def test_bad_durations_say_how_to_write_one(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.1", Decimal("0.1")),
        ("1e3", Decimal("1000")),
        ("-5", Decimal("-5")),
        (7, Decimal(7)),
        (0.1, Decimal("0.1")),
        ("1" + "0" * 40, Decimal("1e40")),
        ("1e-30", Decimal("1e-30")),
        (Decimal("2.50"), Decimal("2.5")),
    ],
)
def test_decimals_are_exact(value: object, expected: Decimal) -> None:
    assert parse_decimal(value) == expected


def test_decimal_from_float_keeps_the_written_digits() -> None:
    # 0.1 + 0.2 as floats is 0.30000000000000004; as written decimals it is exactly 0.3
    assert parse_decimal("0.1") + parse_decimal("0.2") == parse_decimal("0.3")


@pytest.mark.parametrize("bad", ["5k", "", "NaN", "inf", True, None, [1]])
def test_bad_decimals(bad: object) -> None:
    with pytest.raises(ValueError, match="number"):
        parse_decimal(bad)


def test_did_you_mean() -> None:
    assert did_you_mean("notionl", ["notional", "price"]) == ' (did you mean "notional"?)'
    assert did_you_mean("zzz", ["notional"]) == ""
