"""The frame readers' fast paths give exactly what the general definitions give."""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bridge.events import event_id
from bridge.frames import MAX_EXPONENT, MAX_MILLIS, dec, millis, need_dec
from bridge.venue import FrameError

# Numbers as venues write them, near misses, and junk (other digits, long runs, signs).
numeric_text = st.one_of(
    st.from_regex(r"\A[0-9]{0,20}(\.[0-9]{0,6})?\Z"),
    st.from_regex(r"\A[-+ ]?[0-9٠-٩]{1,5}([.eE][-0-9]{0,4})?\s?\Z"),
    st.text(max_size=12),
    st.just("9" * 5000),
)


def reference_millis(value: str) -> int | None:
    """millis() as first defined: through an exact Decimal (None where it must refuse)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite() or (number and abs(number.adjusted()) > MAX_EXPONENT):
        return None
    result = int(number)
    return result if 0 <= result < MAX_MILLIS else None


def outcome(read: Any, *args: Any) -> object:
    try:
        return read(*args)
    except FrameError:
        return None


@given(numeric_text)
@example("1605176741123.²")  # a digit to str.isdigit(), not to Decimal
@example("１６０５")  # fullwidth digits
def test_millis_from_text_matches_the_decimal_definition(value: str) -> None:
    expected = reference_millis(value) if value else None
    assert outcome(millis, value, "t") == expected


@given(numeric_text)
def test_need_dec_matches_dec(value: str) -> None:
    general = outcome(dec, value, "x")
    assert outcome(need_dec, {"x": value}, "x") == general
    if general is not None:  # same value, same exponent: "1.10" stays "1.10"
        assert str(need_dec({"x": value}, "x")) == str(general)


@pytest.mark.parametrize("item", [None, [], "text", {"y": "1"}, {"x": None}, {"x": ""}])
def test_need_dec_refuses_what_is_not_there(item: Any) -> None:
    with pytest.raises(FrameError):
        need_dec(item, "x")


@given(st.text(max_size=8), st.text(max_size=8), st.lists(st.one_of(st.text(), st.integers())))
def test_event_id_is_the_hash_of_the_joined_fields(venue: str, kind: str, parts: list) -> None:
    joined = "\x1f".join([venue, kind, *map(str, parts)])
    expected = hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()
    assert event_id(venue, kind, *parts) == expected


def test_event_ids_never_change_between_versions() -> None:
    # Ids are stored as "seen": a changed formula would alert again on every re-push.
    assert event_id("gate-main", "fill", "123") == "61467f24d5c2620cc5aa09bd4e7ccddc"
    assert event_id("gate-main", "order", "9", 1605176741123, "update", Decimal("0.5")) == (
        "e001536d7ae026d29edfcda62d8d99ca"
    )
