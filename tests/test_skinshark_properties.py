"""Property tests: whatever SkinShark pushes, the normalizer raises only FrameError, and
every event it yields has well-typed fields (it survives the JSON round trip)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.codec import event_from_dict, event_to_dict
from bridge.testing.skinshark import crypto_deposit_completed, gateway_deposit_failed, trade
from bridge.venue import FrameError, NormalizeContext, StateMap
from plugins.skinshark import SkinShark

NAMES = [
    *(f"trade.{s}" for s in ("initiated", "hold", "completed", "reverted", "settled", "x")),
    *(f"deposit.{s}" for s in ("transfer", "completed", "failed", "refunded", "pending", "y")),
    "system.notice",
    "connected",
    "trade",
    "",
]
KEYS = [
    "id", "status", "type", "items", "summary", "totalPrice", "currency", "updatedAt", "price",
    "fundingId", "depositId", "transfer", "txHash", "amount", "amountUsdCents", "amountWei",
    "receiveAmountUsd", "payAmountToken", "confirmations", "reason", "severity", "message",
    "total", "delivered", "completed", "failed", "marketHashName", "chain", "token",
    "amountCents", "cryptoAmount",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["1.5", "-2", "1e999999", "NaN", "hold", "completed", "buy", "USD", ""]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=12,
)
documented = st.sampled_from(
    [
        trade("completed"),
        trade("hold"),
        gateway_deposit_failed("f1", "partial"),
        crypto_deposit_completed("d1"),
        {"severity": "info", "message": "m"},
    ]
)


@st.composite
def pushes(draw: st.DrawFn) -> Any:
    """Documented payloads with fields replaced by anything, and shapeless frames."""
    data = draw(st.one_of(json_values, documented))
    if isinstance(data, dict) and draw(st.booleans()):
        data = {**data, **draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3))}
    frame: dict[str, Any] = {"event": draw(st.sampled_from(NAMES)), "data": data}
    if draw(st.booleans()):
        frame["ts"] = draw(scalars)
    return draw(st.one_of(st.just(frame), json_values))


@settings(max_examples=400, deadline=None)
@given(frame=pushes())
def test_only_frame_error_and_well_typed_events(frame: Any) -> None:
    SkinShark.registered_name = "skinshark"  # type: ignore[attr-defined]
    shark = SkinShark("s", {"api_key": "k", "sub_user": "u", "url": "ws://x"})
    ctx = NormalizeContext("s", "skinshark", "main", StateMap(), 1)
    try:
        events = shark.normalize("main", frame, ctx)
    except FrameError:
        return
    for event in events:
        assert event_from_dict(event_to_dict(event)) == event
