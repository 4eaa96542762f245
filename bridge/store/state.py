"""Reading back the rule and normalizer state that commits wrote."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from bridge.rules import RuleState


def load_rule_state(conn: sqlite3.Connection) -> RuleState:
    """Thresholds tripped and cooldown times, as the last commit left them."""
    state = RuleState()
    for table, rule, venue, subject, value in conn.execute("SELECT * FROM rule_state"):
        key = (rule, venue, subject)
        if table == "tripped":
            state.tripped.add(key)
        elif table == "last_fired":
            state.last_fired[key] = float(value)
    return state


def load_venue_state(conn: sqlite3.Connection, venue: str) -> dict[str, Any]:
    """One venue's normalizer state mapping (Decimals come back as strings)."""
    rows = conn.execute("SELECT key, value FROM venue_state WHERE venue = ?", (venue,))
    return {key: orjson.loads(value) for key, value in rows}
