"""Which Unified pushes are new facts: they carry no ids, only a refresh time ``t``.

Gate Unified pushes absolute figures (no deltas) and may re-push or reorder them, so a
push is a new fact only when its values differ from the last applied ones and its ``t``
is not older. Equal ``t`` with different values is still a change: ``t`` has one-second
resolution and several changes can share it. A per-key change counter at that ``t``
keeps the event ids of A→B→A within one second distinct, while a re-push of the same
values (reconnect, snapshot, replay) is no event at all.

State per key, JSON-able: ``{"t": <ms>, "v": [<decimal text or null>...], "n": <int>}``.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Values = Sequence[Decimal | None]


@dataclass(frozen=True)
class Change:
    """A push that is a new fact: its change number at ``t`` and the values it replaced."""

    number: int
    previous: list[Decimal | None] | None  # None: nothing was known before


def _decode(stored: Any) -> list[Decimal | None]:
    return [None if v is None else Decimal(v) for v in stored]


def apply_push(
    state: MutableMapping[str, Any], key: str, t_ms: int, values: Values
) -> Change | None:
    """Record a push in ``state``; the Change if it is a new fact, None if stale or unchanged."""
    prior = state.get(key)
    encoded = [None if v is None else str(v) for v in values]
    if prior is None:
        state[key] = {"t": t_ms, "v": encoded, "n": 0}
        return Change(0, None)
    prior_t, previous = int(prior["t"]), _decode(prior["v"])
    if t_ms < prior_t:
        return None  # an older push arriving late: what we hold is newer
    if previous == list(values):  # Decimal equality: "1.50" equals "1.5"
        if t_ms > prior_t:
            # Nothing changed, but remember the newer time so a late, older push of
            # different values cannot overwrite these.
            state[key] = {"t": t_ms, "v": prior["v"], "n": 0}
        return None
    number = int(prior["n"]) + 1 if t_ms == prior_t else 0
    state[key] = {"t": t_ms, "v": encoded, "n": number}
    return Change(number, previous)
