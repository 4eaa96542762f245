"""Gate.io Unified normalizer and classifier on recorded frames (every VENUES.md §2 example).

Both sides of each ambiguity VENUES.md lists are covered: ``result`` as an object or an
array; ``dts`` holding every currency or only the changed ones; ``t`` in seconds (as
documented) or in milliseconds; auth failures as code 4 (inferred) or as a code-2 label.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.events import AccountEvent, BalanceEvent, Event
from bridge.schema import Problems
from bridge.venue import FrameError, NormalizeContext, Session, Signal, StateMap
from plugins.gateio.signing import sign
from plugins.gateio_unified import GateUnified

FRAMES = [
    json.loads(line)
    for line in (Path(__file__).parent / "frames" / "gateio_unified.jsonl").read_text().splitlines()
]
(
    ASSETS_ACK,
    DETAIL_ACK,
    ASSETS,
    DETAIL,
    DETAIL_SEED,
    PONG,
    DETAIL_UNSUBSCRIBED,
    AUTH_ERROR,
    ARGUMENT_ERROR,
) = FRAMES


def venue(channels: list[str] | None = None, currencies: list[str] | None = None) -> GateUnified:
    options: dict[str, Any] = {
        "api_key": "k",
        "api_secret": "s",
        "currencies": currencies or ["!all"],
        "channels": channels or ["unified.assets", "unified.asset_detail"],
        "url": "ws://x",
        "idle_timeout": 30.0,
    }
    GateUnified.registered_name = "gateio_unified"  # type: ignore[attr-defined]
    return GateUnified("uni", options)


def normalize(frame: Any, state: StateMap | None = None) -> tuple[list[Event], NormalizeContext]:
    ctx = NormalizeContext(
        "uni", "gateio_unified", "main", StateMap() if state is None else state, 1_800_000_000_000
    )
    return venue().normalize("main", frame, ctx), ctx


def detail(t: int, **currencies: dict[str, str]) -> dict[str, Any]:
    """An asset_detail push of ``currencies`` (name -> entry) at refresh time ``t``."""
    return {
        "time": t,
        "channel": "unified.asset_detail",
        "event": "update",
        "result": {"u": 11027732, "t": t, "dts": currencies},
    }


def entry(balance: str, available: str | None = None, freeze: str = "0.00") -> dict[str, str]:
    return {
        "a": available if available is not None else balance,
        "f": freeze,
        "e": balance,
        "tl": "0.00",
        "b": balance,
    }


def assets(t: Any, **figures: str) -> dict[str, Any]:
    result = {**ASSETS["result"], "t": t, **figures}
    return {**ASSETS, "result": result}


def balances_of(events: list[Event]) -> list[tuple[str | None, Decimal | None, Decimal | None]]:
    return [(e.asset, e.total, e.change) for e in events if isinstance(e, BalanceEvent)]


# ---------------------------------------------------------------------- session and config


def test_subscribes_are_signed_per_channel_with_the_request_time() -> None:
    uni, session = venue(currencies=["BTC", "USDT"]), Session(url="ws://x")
    frames = uni.on_open("main", session, 1716796362.9)
    assert [f["channel"] for f in frames] == ["unified.assets", "unified.asset_detail"]
    assets_sub, detail_sub = frames
    assert assets_sub["payload"] == [] and detail_sub["payload"] == ["BTC", "USDT"]
    for frame in frames:
        assert frame["time"] == 1716796362 and frame["event"] == "subscribe"
        assert frame["auth"] == {
            "method": "api_key",
            "KEY": "k",
            "SIGN": sign("s", frame["channel"], "subscribe", 1716796362),
        }
        assert 0 < frame["id"] < 2**31
    assert frames[0]["id"] != frames[1]["id"]
    # the per-connect signatures are marked secret for the log redactor
    assert session.secrets == [f["auth"]["SIGN"] for f in frames]


def test_only_the_configured_channels_are_subscribed() -> None:
    frames = venue(["unified.asset_detail"]).on_open("main", Session(url="ws://x"), 1.0)
    assert [(f["channel"], f["payload"]) for f in frames] == [("unified.asset_detail", ["!all"])]


def test_app_ping_is_unsigned_unified_ping() -> None:
    assert venue().app_ping("main", 1701830644.5) == {"time": 1701830644, "channel": "unified.ping"}


def validate(table: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    problems = Problems()
    result = GateUnified.config_schema().validate(table, "venues.uni", problems)
    return result, [f"{p.path}: {p.message}" for p in problems.items]


def test_config_defaults() -> None:
    config, problems = validate({"api_key": "k", "api_secret": "s"})
    assert problems == []
    assert config["currencies"] == ["!all"]
    assert config["channels"] == ["unified.assets", "unified.asset_detail"]
    assert config["url"] == "wss://ws.gate.com/v4/ws/unified"
    assert GateUnified.config_schema().secret_keys() == ["api_key", "api_secret"]


def test_currencies_are_upper_cased_and_all_cannot_be_mixed() -> None:
    config, problems = validate({"api_key": "k", "api_secret": "s", "currencies": ["btc", "USDT"]})
    assert problems == [] and config["currencies"] == ["BTC", "USDT"]
    _, problems = validate({"api_key": "k", "api_secret": "s", "currencies": ["!all", "BTC"]})
    assert problems == ['venues.uni.currencies: "!all" cannot be combined with currency names']
    _, problems = validate({"api_key": "k", "api_secret": "s", "currencies": []})
    assert problems and problems[0].startswith("venues.uni.currencies: ")
    _, problems = validate({"api_key": "k", "api_secret": "s", "channels": ["unified.asset"]})
    assert problems and "unified.assets" in problems[0]  # with a did-you-mean


# ---------------------------------------------------------------------- classify


@pytest.mark.parametrize(
    ("frame", "signal"),
    [
        (ASSETS_ACK, Signal.ACK),  # the documented ack has no "error" key
        (DETAIL_ACK, Signal.ACK),
        ({**DETAIL_ACK, "id": 2, "error": None}, Signal.ACK),  # as spot sends it
        (DETAIL_UNSUBSCRIBED, Signal.ACK),
        (PONG, Signal.PONG),
        (AUTH_ERROR, Signal.AUTH_FAILED),  # code 4, as spot (inferred for Unified)
        (
            {
                "time": 1,
                "channel": "unified.assets",
                "event": "subscribe",
                "error": {"code": 2, "message": "Signature mismatch"},
                "result": {"status": "failed"},
            },
            Signal.AUTH_FAILED,
        ),  # older servers: an auth label under code 2
        (ARGUMENT_ERROR, Signal.ERROR),
        (
            {
                "time": 1,
                "channel": "unified.assets",
                "event": "subscribe",
                "error": {"code": 1, "message": "invalid argument struct"},
                "result": None,
            },
            Signal.ERROR,
        ),
        (
            {
                "time": 1,
                "channel": "unified.assets",
                "event": "subscribe",
                "error": {"code": 3, "message": "service error"},
                "result": None,
            },
            Signal.ERROR,
        ),
        (
            {"time": 1, "channel": "unified.assets", "event": "subscribe", "error": "boom"},
            Signal.ERROR,
        ),
        (
            {"time": 1, "channel": "unified.assets", "event": "subscribe", "result": None},
            Signal.ERROR,
        ),  # neither success nor an error object: not an ack
        ({"time": 1, "channel": "", "event": "upgrade"}, Signal.RECONNECT),
        (ASSETS, Signal.DATA),
        (DETAIL, Signal.DATA),
        ("not an object", Signal.DATA),  # the normalizer reports it as malformed
        ({"time": 1, "channel": "unified.assets", "event": "something-new"}, Signal.IGNORE),
    ],
)
def test_classify(frame: Any, signal: Signal) -> None:
    assert venue().classify("main", frame).signal is signal


def test_error_detail_names_the_channel_code_and_label() -> None:
    detail = venue().classify("main", AUTH_ERROR).detail
    assert detail.startswith("unified.assets: code 4:") and "INVALID_KEY" in detail
    assert venue().classify("main", ARGUMENT_ERROR).detail == (
        "unified.asset_detail: code 2: invalid argument"
    )


# ---------------------------------------------------------------------- unified.assets


def test_documented_assets_push_maps_every_short_key() -> None:
    [event], _ = normalize(ASSETS)
    assert isinstance(event, AccountEvent)
    assert (
        event.equity,
        event.margin_balance,
        event.available_margin,
        event.liabilities,
        event.initial_margin_rate,
        event.maintenance_margin_rate,
        event.total,
    ) == (
        Decimal("-617985.29"),
        Decimal("-1005719.51"),
        Decimal("-1432719.62"),
        Decimal("1293939.74"),
        Decimal("18.56"),
        Decimal("20.10"),
        Decimal("675222.27"),
    )
    assert event.ts == 1700625194000 and event.received_at == 1_800_000_000_000
    assert (event.venue, event.plugin, event.raw["u"]) == ("uni", "gateio_unified", 9008)


def test_the_removed_c_key_is_ignored() -> None:
    [plain], _ = normalize(ASSETS)
    [with_c], _ = normalize(assets(1700625194, c="123.45"))
    assert with_c.id == plain.id and with_c == plain
    assert not hasattr(with_c, "credit_available_margin")


def test_missing_figures_are_none_not_zero() -> None:
    # single-currency mode reports no cross-margin figures
    frame = copy.deepcopy(ASSETS)
    for key in ("r", "R", "b", "a"):
        del frame["result"][key]
    [event], _ = normalize(frame)
    assert isinstance(event, AccountEvent)
    assert event.initial_margin_rate is None and event.available_margin is None
    assert event.equity == Decimal("-617985.29")


@pytest.mark.parametrize("shape", ["object", "array"])
def test_assets_result_as_object_or_array(shape: str) -> None:
    result = ASSETS["result"] if shape == "object" else [ASSETS["result"]]
    [event], _ = normalize({**ASSETS, "result": result})
    [reference], _ = normalize(ASSETS)
    assert event.id == reference.id and event == reference


def test_assets_array_with_a_bad_item_keeps_the_good_one() -> None:
    bad = {**ASSETS["result"], "e": "not a number"}
    good = {**ASSETS["result"], "t": 1700625195, "e": "1"}
    events, ctx = normalize({**ASSETS, "result": [bad, good]})
    assert [e.equity for e in events if isinstance(e, AccountEvent)] == [Decimal(1)]
    assert ctx.problems == ["item 0: e: expected a number, got 'not a number'"]


@pytest.mark.parametrize("t", [1700625194, 1700625194000, "1700625194"])
def test_refresh_time_in_seconds_or_milliseconds(t: Any) -> None:
    [event], _ = normalize(assets(t))
    assert event.ts == 1700625194000


def test_assets_repushed_unchanged_is_not_a_new_event() -> None:
    state = StateMap()
    assert len(normalize(ASSETS, state)[0]) == 1
    assert normalize(ASSETS, state)[0] == []  # the same push again (reconnect, snapshot)
    assert normalize(assets(1700625300), state)[0] == []  # newer t, same figures
    # the same figures written differently are the same values
    assert normalize(assets(1700625301, R="20.1"), state)[0] == []


def test_assets_change_at_the_same_t_is_a_change() -> None:
    state = StateMap()
    [first], _ = normalize(assets(1700625194, e="100.00"), state)
    [second], _ = normalize(assets(1700625194, e="90.00"), state)
    assert [e.equity for e in (first, second)] == [Decimal(100), Decimal(90)]  # type: ignore[attr-defined]
    assert first.id != second.id
    # A -> B -> A in one second cannot be told from a re-push of A: no event then...
    assert normalize(assets(1700625194, e="100.00"), state)[0] == []
    # ...and the next push showing A reports the change back from B.
    [back], _ = normalize(assets(1700625195, e="100.00"), state)
    assert back.equity == Decimal(100) and back.id not in {first.id, second.id}  # type: ignore[attr-defined]


def test_an_older_assets_push_is_not_applied() -> None:
    state = StateMap()
    normalize(assets(1700625200, e="100"), state)
    assert normalize(assets(1700625199, e="50"), state)[0] == []  # late and older
    [newer], _ = normalize(assets(1700625201, e="50"), state)
    assert newer.equity == Decimal(50)  # type: ignore[attr-defined]


def test_a_newer_unchanged_push_keeps_a_late_older_one_out() -> None:
    state = StateMap()
    normalize(assets(1700625200, e="100"), state)
    normalize(assets(1700625210, e="100"), state)  # no event, but t moves on
    assert normalize(assets(1700625205, e="50"), state)[0] == []


# ---------------------------------------------------------------------- unified.asset_detail


def test_documented_asset_detail_push() -> None:
    btc, usdt = normalize(DETAIL)[0]
    assert isinstance(btc, BalanceEvent) and isinstance(usdt, BalanceEvent)
    assert (btc.asset, btc.total, btc.available, btc.locked) == (
        "BTC",
        Decimal("1.5"),
        Decimal("1.5"),
        Decimal(0),
    )
    # b (balance) is the total; the USDT-only margin extras stay in raw
    assert (usdt.asset, usdt.total, usdt.available, usdt.locked) == (
        "USDT",
        Decimal("8724.23"),
        Decimal("8724.23"),
        Decimal(0),
    )
    assert usdt.raw["imr"] == "9999.99"
    assert btc.change is None and btc.change_type is None  # nothing known before
    assert btc.ts == usdt.ts == 1716796364000
    assert btc.plugin == "gateio_unified" and btc.id != usdt.id


def test_seed_asset_detail_push() -> None:
    [btc], _ = normalize(DETAIL_SEED)
    assert isinstance(btc, BalanceEvent)
    assert (btc.asset, btc.total, btc.available, btc.locked) == (
        "BTC",
        Decimal("1086390.949548"),
        Decimal("1086390.949548"),
        Decimal(0),
    )


@pytest.mark.parametrize("shape", ["object", "array"])
def test_asset_detail_result_as_object_or_array(shape: str) -> None:
    result = DETAIL["result"] if shape == "object" else [DETAIL["result"]]
    events, _ = normalize({**DETAIL, "result": result})
    assert [e.id for e in events] == [e.id for e in normalize(DETAIL)[0]]


@pytest.mark.parametrize("dts_shape", ["every currency", "only the changed ones"])
def test_only_changed_currencies_yield_events_whatever_dts_holds(dts_shape: str) -> None:
    state = StateMap()
    normalize(detail(100, BTC=entry("1.5"), USDT=entry("8724.23")), state)
    if dts_shape == "every currency":
        frame = detail(101, BTC=entry("1.5"), USDT=entry("4000", "3900", "100"))
    else:
        frame = detail(101, USDT=entry("4000", "3900", "100"))
    [usdt], _ = normalize(frame, state)
    assert isinstance(usdt, BalanceEvent)
    assert (usdt.asset, usdt.total, usdt.available, usdt.locked, usdt.change) == (
        "USDT",
        Decimal(4000),
        Decimal(3900),
        Decimal(100),
        Decimal("-4724.23"),
    )
    # the same fact gets the same id whichever way the venue shaped the push
    reference = StateMap()
    normalize(detail(100, BTC=entry("1.5"), USDT=entry("8724.23")), reference)
    [same], _ = normalize(detail(101, USDT=entry("4000", "3900", "100")), reference)
    assert usdt.id == same.id
    # a currency left out of an incremental push is unchanged, not zero
    assert state["balance:BTC"]["v"][0] == "1.5"


def test_asset_detail_repushed_unchanged_is_not_a_new_event() -> None:
    state = StateMap()
    assert len(normalize(DETAIL, state)[0]) == 2
    assert normalize(DETAIL, state)[0] == []
    later = copy.deepcopy(DETAIL)
    later["result"]["t"] = 1716796400
    assert normalize(later, state)[0] == []


def test_a_change_of_available_only_is_a_change() -> None:
    state = StateMap()
    normalize(detail(100, USDT=entry("5000")), state)
    [event], _ = normalize(detail(101, USDT=entry("5000", "4000", "1000")), state)
    assert isinstance(event, BalanceEvent)
    assert (event.available, event.locked, event.change) == (Decimal(4000), Decimal(1000), 0)


def test_equity_or_liability_alone_is_not_a_balance_change() -> None:
    state = StateMap()
    normalize(detail(100, BTC=entry("1.5")), state)
    moved = {**entry("1.5"), "e": "1.4", "tl": "0.1"}
    assert normalize(detail(101, BTC=moved), state)[0] == []


def test_balance_change_at_the_same_t_and_back_again() -> None:
    state = StateMap()
    steps = [entry("6000"), entry("4000")]
    events = [normalize(detail(100, USDT=step), state)[0][0] for step in steps]
    assert balances_of(events) == [
        ("USDT", Decimal(6000), None),
        ("USDT", Decimal(4000), Decimal(-2000)),
    ]
    assert normalize(detail(100, USDT=entry("6000")), state)[0] == []  # reads as a re-push
    [back], _ = normalize(detail(101, USDT=entry("6000")), state)
    assert balances_of([back]) == [("USDT", Decimal(6000), Decimal(2000))]
    assert len({e.id for e in [*events, back]}) == 3


def test_a_replayed_push_of_the_same_second_is_not_a_new_fact() -> None:
    state = StateMap()
    pushes = [detail(100, USDT=entry("6000")), detail(100, USDT=entry("4000"))]
    first = [normalize(push, state)[0] for push in pushes]
    assert all(first)
    # the venue re-sends both after a reconnect, in order: nothing new
    assert [normalize(push, state)[0] for push in pushes] == [[], []]


def test_an_older_asset_detail_push_is_not_applied() -> None:
    state = StateMap()
    normalize(detail(200, USDT=entry("6000")), state)
    assert normalize(detail(199, USDT=entry("1")), state)[0] == []
    # ordering is per currency: BTC was never seen, so its first push applies
    assert balances_of(normalize(detail(199, BTC=entry("1")), state)[0]) == [
        ("BTC", Decimal(1), None)
    ]


def test_asset_detail_t_in_milliseconds() -> None:
    state = StateMap()
    [event], _ = normalize(detail(1716796364000, USDT=entry("1")), state)
    assert event.ts == 1716796364000
    # the same fact sent with t in seconds is recognized as the same push
    assert normalize(detail(1716796364, USDT=entry("1")), state)[0] == []


def test_lower_case_currency_keys_are_upper_cased() -> None:
    [event], _ = normalize(detail(100, usdt=entry("1")))
    assert event.asset == "USDT"  # type: ignore[attr-defined]


def test_ids_are_deterministic_across_replays_and_restarts() -> None:
    first = [e.id for e in normalize(ASSETS)[0] + normalize(DETAIL)[0]]
    again = [e.id for e in normalize(ASSETS)[0] + normalize(DETAIL)[0]]
    assert first == again and len(set(first)) == 3


def test_state_survives_a_restart() -> None:
    state = StateMap()
    normalize(DETAIL, state)
    normalize(ASSETS, state)
    restored = StateMap(json.loads(json.dumps(dict(state))))  # what the store persists
    assert normalize(DETAIL, restored)[0] == [] and normalize(ASSETS, restored)[0] == []
    [event], _ = normalize(detail(1716796365, USDT=entry("8000")), restored)
    assert event.change == Decimal("-724.23")  # type: ignore[attr-defined]


def test_state_stays_bounded() -> None:
    state = StateMap()
    for step in range(50):
        normalize(detail(100 + step, BTC=entry(str(step)), USDT=entry(str(step + 1))), state)
        normalize(assets(100 + step, e=str(step)), state)
    assert sorted(state) == ["account", "balance:BTC", "balance:USDT"]


def test_money_is_decimal() -> None:
    events = normalize(DETAIL)[0] + normalize(ASSETS)[0]
    for event in events:
        for name in ("total", "available", "locked", "equity", "liabilities"):
            value = getattr(event, name, None)
            assert value is None or isinstance(value, Decimal)


# ---------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("text", "frame: expected an object"),
        ({"channel": "unified.other", "event": "update", "result": {}}, "channel: unexpected"),
        ({"channel": "unified.assets", "event": "update", "result": None}, "result: expected"),
        ({"channel": "unified.assets", "event": "update", "result": "x"}, "result: expected"),
        ({"channel": "unified.assets", "event": "update", "result": {"u": 1, "e": "1"}}, "t:"),
        (assets(True), "t: expected a number"),
        (assets("soon"), "t: expected a number"),
        ({"channel": "unified.assets", "event": "update", "result": {"t": 1}}, "none of"),
        (assets(1, T=["1"]), "T: expected a number"),
        ({"channel": "unified.asset_detail", "event": "update", "result": {"t": 1}}, "dts:"),
        (detail(1) | {"result": {"t": 1, "dts": ["USDT"]}}, "dts: expected an object"),
    ],
)
def test_malformed_frames_raise_frame_error_naming_the_field(frame: Any, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        normalize(frame)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({"a": "1", "f": "0"}, "dts.BTC: b: missing"),
        ({**entry("1"), "b": "abc"}, "dts.BTC: b: expected a number, got 'abc'"),
        ({**entry("1"), "a": True}, "dts.BTC: a: expected a number, got True"),
        ("1.5", "dts.BTC: BTC: expected an object, got str"),
        (None, "dts.BTC: BTC: expected an object, got NoneType"),
    ],
)
def test_a_bad_currency_is_skipped_and_the_others_kept(bad: Any, problem: str) -> None:
    state = StateMap()
    events, ctx = normalize(detail(100, BTC=bad, USDT=entry("5")), state)
    assert balances_of(events) == [("USDT", Decimal(5), None)]
    assert ctx.problems == [f"item 0: {problem}"]
    assert "balance:BTC" not in state  # a bad item leaves no state behind


# ---------------------------------------------------------------------- properties

ODD = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four, otherwise any odd JSON value."""
    return st.one_of(good, good, good, ODD)


NUMBER = st.decimals(min_value=-(10**6), max_value=10**6, places=2).map(str)
# a few seconds (or the same instants in ms), so equal and older t are common
T = st.integers(1_700_000_000, 1_700_000_004).flatmap(lambda s: st.sampled_from([s, s * 1000]))
ENTRY = st.fixed_dictionaries(
    {"b": mostly(NUMBER)}, optional={k: mostly(NUMBER) for k in ("a", "f", "e", "tl")}
)
DETAIL_RESULT = st.fixed_dictionaries(
    {
        "t": mostly(T),
        "dts": mostly(st.dictionaries(st.sampled_from(["BTC", "USDT"]), mostly(ENTRY))),
    },
    optional={"u": st.just(11027732)},
)
ASSETS_RESULT = st.fixed_dictionaries(
    {"t": mostly(T)}, optional={k: mostly(NUMBER) for k in ("e", "b", "a", "l", "r", "R", "T", "c")}
)


def push(channel: str, result: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"channel": st.just(channel), "event": st.just("update"), "result": result}
    )


PUSHES = push("unified.assets", ASSETS_RESULT) | push("unified.asset_detail", DETAIL_RESULT)
ANY_FRAME = st.one_of(
    PUSHES,
    PUSHES,
    push("unified.assets", st.lists(mostly(ASSETS_RESULT), max_size=3)),
    push("unified.asset_detail", st.lists(mostly(DETAIL_RESULT), max_size=3)),
    st.fixed_dictionaries({"channel": ODD, "event": ODD, "result": ODD}, optional={"error": ODD}),
    ODD,
)


@settings(max_examples=150, deadline=None)
@given(frames=st.lists(ANY_FRAME, min_size=1, max_size=6))
def test_arbitrary_frames_raise_nothing_but_frame_error(frames: list[Any]) -> None:
    uni, state, ids = venue(), StateMap(), []
    for frame in frames:
        uni.classify("main", frame)  # never raises
        ctx = NormalizeContext("uni", "gateio_unified", "main", state, 0)
        try:
            events = uni.normalize("main", frame, ctx)
        except FrameError:
            continue
        assert all(isinstance(e, (AccountEvent, BalanceEvent)) for e in events)
        ids.extend(e.id for e in events)
        json.dumps(dict(state))  # the state stays JSON-able
    assert len(ids) == len(set(ids))  # every new fact has an id of its own


@settings(max_examples=150, deadline=None)
@given(frames=st.lists(PUSHES, min_size=1, max_size=6))
def test_a_push_repeated_is_never_a_new_event(frames: list[Any]) -> None:
    state = StateMap()
    for frame in frames:
        try:
            normalize(frame, state)
        except FrameError:
            continue
        again, _ = normalize(frame, state)  # the venue re-sends it (reconnect, snapshot)
        assert again == []
