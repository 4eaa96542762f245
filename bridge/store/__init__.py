"""Durable state in one SQLite file: seen event ids, rule and venue state, the outbox.

``Store`` is the facade; the modules behind it each hold one concern (connection and
schema, the event commit, the outbox queue, the job model).
"""

from bridge.store.jobs import CommitItem, Job, Outcome, job_id, render_jobs
from bridge.store.store import Store, StoreError, StoreOpenError

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
