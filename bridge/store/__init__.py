"""Durable state in one SQLite file: seen event ids, rule and venue state, the outbox.

``Store`` is the facade; the modules behind it each hold one concern (connection and
schema, the event commit, the outbox queue, the job model). The names below are
imported on first use (PEP 562): `alert-bridge check` needs the job model's name and
the state directory's probe, not the store itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.store.jobs import CommitItem, Job, Outcome, job_id, render_jobs
    from bridge.store.store import Store, StoreError, StoreOpenError

_HOMES = {
    "CommitItem": "jobs",
    "Job": "jobs",
    "Outcome": "jobs",
    "Store": "store",
    "StoreError": "store",
    "StoreOpenError": "store",
    "job_id": "jobs",
    "render_jobs": "jobs",
}

__all__ = [
    "CommitItem",
    "Job",
    "Outcome",
    "Store",
    "StoreError",
    "StoreOpenError",
    "job_id",
    "render_jobs",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once found, a plain attribute
    return value
