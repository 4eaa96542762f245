"""The SQLite store: one transaction per commit, dedup, state round trips, the outbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from bridge.dryrun import webhook_body
from bridge.rules import RuleEngine
from bridge.store import CommitItem, Outcome, Store, StoreError, job_id
from bridge.store.db import FALLBACK_CHECKPOINT_PAGES, FILENAME
from bridge.store.jobs import iso_timestamp
from tests.delivery_helpers import SECRET, commit_items, fill_event, make_config


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config(tmp_path: Path):
    hook = {"url": "http://127.0.0.1:9/hook", "secret": SECRET}
    return make_config(
        tmp_path / "state",
        webhooks={"ops": hook},
        notifiers={"desk": {"urls": ["json://127.0.0.1:9/x"]}},
        rules=[
            {"name": "every fill", "on": "fill", "notify": ["ops", "desk"]},
            {
                "name": "big fill",
                "on": "fill",
                "notify": ["ops"],
                "cooldown": "1h",
                "severity": "failure",
                "title": "{venue} {side}",
            },
        ],
    )


@pytest.fixture
def store(tmp_path: Path):
    clock = Clock()
    store = Store.open(tmp_path / "state", clock=clock)
    yield store
    store.close()


def test_open_creates_a_wal_database(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "new" / "dir")
    store.close()
    conn = sqlite3.connect(tmp_path / "new" / "dir" / FILENAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_open_without_create_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no state database"):
        Store.open(tmp_path, create=False)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    conn = sqlite3.connect(tmp_path / FILENAME)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer alert-bridge"):
        Store.open(tmp_path)


def test_commit_records_seen_and_one_job_per_destination(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    (item,) = commit_items(engine, [1])
    jobs = store.commit([item])
    assert sorted((j.rule, j.destination) for j in jobs) == [
        ("big fill", "ops"),
        ("every fill", "desk"),
        ("every fill", "ops"),
    ]
    assert store.is_seen(item.event.id)
    assert not store.is_seen("another id")
    assert {j.id for j in store.jobs()} == {j.id for j in jobs}


def test_job_payload_is_rendered_at_commit(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    (item,) = commit_items(engine, [7])
    jobs = {(j.rule, j.destination): j for j in store.commit([item])}
    job = jobs[("big fill", "ops")]
    match = next(m for m in item.matches if m.rule.name == "big fill")
    assert orjson.loads(job.body) == orjson.loads(
        orjson.dumps(webhook_body(match, "2023-11-14T22:13:20.007Z"), default=str)
    )
    assert iso_timestamp(item.event.ts) == "2023-11-14T22:13:20.007Z"
    assert (job.title, job.severity, job.event_kind) == ("gate-main buy", "failure", "fill")
    assert job.message == match.body
    assert job.id == job_id(item.event.id, "big fill", "ops")
    assert job.attempts == 0 and job.next_at == store.clock()
    (stored,) = [j for j in store.jobs() if j.id == job.id]
    assert stored == job


def test_a_seen_id_yields_no_jobs_but_its_state_changes_are_saved(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    (first,) = commit_items(engine, [1])
    store.commit([first])
    again = CommitItem(
        first.event,
        first.matches,
        [("last_fired", ("big fill", "gate-main", "BTC/USDT"), 42.0)],
        {"cursor": 9},
    )
    assert store.commit([again]) == []
    assert store.load_rule_state().last_fired == {("big fill", "gate-main", "BTC/USDT"): 42.0}
    assert store.load_venue_state("gate-main") == {"cursor": 9}
    assert len(store.jobs()) == 3


def test_duplicates_inside_one_batch_are_committed_once(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    (item,) = commit_items(engine, [1])
    twin = CommitItem(item.event, item.matches)
    assert [len(jobs) for jobs in store.commit_each([item, twin])] == [3, 0]


def test_state_round_trips_through_the_file(config, tmp_path: Path, store: Store) -> None:
    engine = RuleEngine(config.rules)
    items = commit_items(engine, [1, 2])
    items[0].venue_changes = {"orders": {"o1": "0.5"}, "gone": 1}
    items[1].venue_changes = {"gone": None, "seq": 12}
    items[1].rule_changes.append(("tripped", ("low", "gate-main", "USDT"), True))
    store.commit(items)
    reopened = Store.open(tmp_path / "state")
    try:
        assert reopened.load_rule_state().to_dict() == engine.state.to_dict() | {
            "tripped": [["low", "gate-main", "USDT"]]
        }
        assert reopened.load_venue_state("gate-main") == {"orders": {"o1": "0.5"}, "seq": 12}
        assert reopened.load_venue_state("other") == {}
    finally:
        reopened.close()


def test_a_rearmed_threshold_is_deleted(store: Store) -> None:
    key = ("low", "gate-main", "USDT")
    store.commit([CommitItem(fill_event(1), rule_changes=[("tripped", key, True)])])
    store.commit([CommitItem(fill_event(2), rule_changes=[("tripped", key, None)])])
    assert store.load_rule_state().tripped == set()


def test_a_failed_commit_leaves_nothing_behind(store: Store) -> None:
    bad = CommitItem(fill_event(1), venue_changes={"x": object()})
    with pytest.raises(TypeError):
        store.commit([bad])
    assert not store.is_seen(bad.event.id)


def test_prune_forgets_old_seen_ids(store: Store) -> None:
    store.commit([CommitItem(fill_event(1))])
    store.clock.now += 8 * 86400  # type: ignore[attr-defined]
    store.commit([CommitItem(fill_event(2))])
    assert store.prune_seen() == 1
    assert not store.is_seen(fill_event(1).id)
    assert store.is_seen(fill_event(2).id)


def test_due_jobs_skip_in_flight_and_future_ones(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    jobs = [j for j in store.commit(commit_items(engine, [1, 2, 3])) if j.destination == "desk"]
    first, second, third = jobs
    store.record([Outcome(second.id, "retry", 1, next_at=store.clock() + 60, error="HTTP 500")])
    due = store.due_jobs("desk", 10, skip={first.id})
    assert [j.id for j in due] == [third.id]
    assert store.next_due("desk", skip={first.id, third.id}) == store.clock() + 60
    assert store.next_due("nowhere") is None
    (retried,) = [j for j in store.jobs() if j.id == second.id]
    assert (retried.attempts, retried.last_error) == (1, "HTTP 500")


def test_outcomes_delete_delivered_and_bury_dead(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    done, dead, *_ = store.commit(commit_items(engine, [1]))
    store.record([Outcome(done.id, "delivered", 1), Outcome(dead.id, "dead", 3, error="HTTP 400")])
    pending = {j.id for j in store.jobs()}
    assert done.id not in pending and dead.id not in pending
    (letter,) = store.jobs(dead=True)
    assert (letter.id, letter.attempts, letter.last_error) == (dead.id, 3, "HTTP 400")
    assert letter.died_at == store.clock()
    assert store.counts() == (1, 1)


def test_retry_revives_a_dead_letter_with_fresh_attempts(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    job, *_ = store.commit(commit_items(engine, [1]))
    store.record([Outcome(job.id, "dead", 8, error="gave up")])
    store.clock.now += 100  # type: ignore[attr-defined]
    assert store.retry(job.id) == "dead"
    (revived,) = [j for j in store.jobs() if j.id == job.id]
    assert (revived.attempts, revived.next_at, revived.body) == (0, store.clock(), job.body)
    assert store.jobs(dead=True) == []
    assert store.retry(job.id) == "pending"
    assert store.retry("msg_nope") is None


def test_retry_all_dead_and_drop(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    jobs = store.commit(commit_items(engine, [1, 2]))
    assert len(jobs) == 5  # the second fill is inside "big fill"'s cooldown
    store.record([Outcome(j.id, "dead", 1, error="x") for j in jobs[:4]])
    assert store.counts() == (1, 4)
    assert store.retry_all_dead() == 4
    assert store.counts() == (5, 0)
    assert store.drop(jobs[0].id) == "pending"
    store.record([Outcome(jobs[1].id, "dead", 1, error="x")])
    assert store.drop(jobs[1].id) == "dead"
    assert store.drop(jobs[1].id) is None
    assert store.counts() == (3, 0)


def test_bury_destination_and_unknown_destinations(config, store: Store) -> None:
    engine = RuleEngine(config.rules)
    jobs = store.commit(commit_items(engine, [1, 2]))
    ops = [j.id for j in jobs if j.destination == "ops"]
    assert store.bury_destination("ops", "410", skip={ops[0]}) == len(ops) - 1
    assert {j.id for j in store.jobs(dead=True)} == set(ops[1:])
    assert store.bury_unknown(["ops"], "removed") == {"desk": 2}
    assert [j.id for j in store.jobs()] == [ops[0]]


def test_record_now_never_waits_for_the_writer(config, store: Store, tmp_path: Path) -> None:
    engine = RuleEngine(config.rules)
    job, *_ = store.commit(commit_items(engine, [1]))
    delivered = [Outcome(job.id, "delivered", 1)]
    with store.db.write():  # this process's writer is busy (the committer's thread)
        assert store.record_now(delivered) is False
    other = sqlite3.connect(tmp_path / "state" / FILENAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process (the CLI) is writing
    assert store.record_now(delivered) is False
    other.execute("ROLLBACK")
    other.close()
    assert store.record_now(delivered) is True
    assert job.id not in {j.id for j in store.jobs()}
    # the quick path restored the connection's settings for the writes that follow
    conn = store.db._writer
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == FALLBACK_CHECKPOINT_PAGES


def _rows_in_main_file(store: Store, tmp_path: Path) -> int:
    """Seen rows in the database file alone, as if the WAL beside it were lost."""
    copy = tmp_path / "main-only.sqlite3"
    with store.db.checkpointer.lock:  # never a copy torn by a pass under way
        copy.write_bytes(store.db.path.read_bytes())
    conn = sqlite3.connect(copy)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'seen'").fetchone():
            return 0  # not even the schema has been checkpointed
        return int(conn.execute("SELECT count(*) FROM seen").fetchone()[0])
    finally:
        conn.close()


def test_commits_leave_checkpoints_to_the_checkpointer(config, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    store = Store.open(state_dir, checkpoint_interval=3600)  # no periodic pass in this test
    try:
        store.commit(commit_items(RuleEngine(config.rules), [1, 2, 3]))
        assert _rows_in_main_file(store, tmp_path) == 0  # committed, in the WAL only
        store.db.checkpointer.close()  # its last pass
        assert store.db.checkpointer.passed.is_set()
        assert _rows_in_main_file(store, tmp_path) == 3
    finally:
        store.close()


def test_the_checkpointer_runs_periodically_after_writes(config, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    store = Store.open(state_dir, checkpoint_interval=0.01)
    try:
        store.commit(commit_items(RuleEngine(config.rules), [1, 2, 3]))
        # A pass that began before the commit may report first: wait for the next.
        while _rows_in_main_file(store, tmp_path) != 3:
            assert store.db.checkpointer.passed.wait(5), "no checkpoint within 5 s"
            store.db.checkpointer.passed.clear()
    finally:
        store.close()


def test_a_failing_checkpoint_is_logged_and_retried(config, tmp_path: Path, caplog) -> None:
    store = Store.open(tmp_path / "state", checkpoint_interval=3600)
    checkpointer = store.db.checkpointer
    checkpointer._conn.close()  # from now on every pass fails, as on a broken disk
    try:
        store.commit(commit_items(RuleEngine(config.rules), [1]))
        checkpointer.close()  # its last pass fails: logged, not raised, still pending
        assert "WAL checkpoint failed" in caplog.text
        assert checkpointer.dirty and not checkpointer.passed.is_set()
        assert store.jobs()  # the writer and readers carry on regardless
    finally:
        store.close()
