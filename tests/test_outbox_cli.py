"""``alert-bridge outbox`` and ``notify-test`` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from bridge.cli import main
from bridge.config import load_config
from bridge.rules import RuleEngine
from bridge.store import Outcome, Store
from tests.delivery_helpers import SECRET, commit_items, config_text
from tests.receivers import Receiver, Reply, script


def write_config(tmp_path: Path, webhook_url: str = "http://127.0.0.1:9/h", **more) -> Path:
    hook = {"url": webhook_url, "secret": SECRET}
    path = tmp_path / "config.toml"
    path.write_text(config_text(tmp_path / "state", webhooks={"ops": hook}, **more))
    return path


@pytest.fixture
def queued(tmp_path: Path):
    """A config whose outbox holds three jobs, the first of them dead."""
    path = write_config(tmp_path)
    config = load_config(path, venue_plugins={})
    store = Store.open(config.bridge.state_dir)
    jobs = store.commit(commit_items(RuleEngine(config.rules), [1, 2, 3]))
    store.record([Outcome(jobs[0].id, "dead", 8, error="gave up after 8 attempts: HTTP 500")])
    store.record([Outcome(jobs[1].id, "retry", 2, next_at=store.clock() + 600, error="HTTP 503")])
    store.close()
    return path, jobs


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_pending_jobs(queued, capsys) -> None:
    path, jobs = queued
    code, out, _ = run(capsys, "outbox", "list", "-c", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "DESTINATION",
        "RULE",
        "EVENT",
        "ATTEMPTS",
        "NEXT",
        "TRY",
        "LAST",
        "ERROR",
    ]
    assert lines[-1] == "2 pending jobs"
    due, later = lines[1], lines[2]
    assert jobs[2].id in due and " due " in due
    assert jobs[1].id in later and "in 10m" in later and later.endswith("HTTP 503")


def test_list_dead_letters(queued, capsys) -> None:
    path, jobs = queued
    code, out, _ = run(capsys, "outbox", "list", "--dead", "-c", str(path))
    assert code == 0
    assert jobs[0].id in out and "gave up after 8 attempts: HTTP 500" in out
    assert out.splitlines()[-1] == "1 dead letter"


def test_retry_drop_and_unknown_ids(queued, capsys) -> None:
    path, jobs = queued
    code, out, _ = run(capsys, "outbox", "retry", jobs[0].id, "-c", str(path))
    assert code == 0
    assert out == (
        f"{jobs[0].id}: revived from the dead letters; "
        "a running alert-bridge picks it up within seconds\n"
    )
    code, out, _ = run(capsys, "outbox", "drop", jobs[1].id, "-c", str(path))
    assert (code, out) == (0, f"{jobs[1].id}: dropped from the outbox\n")
    code, out, err = run(capsys, "outbox", "drop", jobs[1].id, "-c", str(path))
    assert code == 64 and out == ""  # an unknown id: a usage error
    assert err == (
        f"alert-bridge outbox: error: no job {jobs[1].id} in the outbox or the dead letters "
        "(see: outbox list)\n"
    )
    store = Store.open(load_config(path, venue_plugins={}).bridge.state_dir)
    assert {j.id for j in store.jobs()} == {jobs[0].id, jobs[2].id}
    assert next(j for j in store.jobs() if j.id == jobs[0].id).attempts == 0
    store.close()


def test_retry_all_dead(queued, capsys) -> None:
    path, _ = queued
    assert run(capsys, "outbox", "retry", "--all-dead", "-c", str(path))[:2] == (
        0,
        "1 dead letter back in the outbox\n",
    )
    assert run(capsys, "outbox", "list", "--dead", "-c", str(path))[1] == "0 dead letters\n"


def test_retry_needs_an_id_or_all_dead(queued, capsys) -> None:
    path, _ = queued
    with pytest.raises(SystemExit) as exit_:
        main(["outbox", "retry", "-c", str(path)])
    assert exit_.value.code == 64
    assert "one of the arguments ID --all-dead is required" in capsys.readouterr().err


def test_outbox_without_state_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path)
    code, out, err = run(capsys, "outbox", "list", "-c", str(path))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no state database here" in err


def test_outbox_needs_only_the_bridge_table(queued, capsys, monkeypatch) -> None:
    # The venues' secrets are unset and a rule is broken: the outbox is still reachable.
    path, jobs = queued
    text = path.read_text().replace(f'secret = "{SECRET}"', 'secret = "${HOOK_SECRET}"')
    path.write_text(text + '\n[[rules]]\nname = "broken"\non = "no such kind"\n')
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    assert run(capsys, "check", "-c", str(path))[0] == 2  # the config is invalid...
    code, out, _ = run(capsys, "outbox", "list", "--dead", "-c", str(path))
    assert code == 0 and jobs[0].id in out  # ...yet its outbox can be read


def test_outbox_reports_a_bad_bridge_table_with_its_path(tmp_path: Path, capsys) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[bridge]\nstate_dir = "${NO_SUCH_VARIABLE_HERE}"\n')
    code, out, err = run(capsys, "outbox", "list", "-c", str(path))
    assert code == 2 and out == ""  # a config error, as `check` would report it
    assert "bridge.state_dir" in err and "NO_SUCH_VARIABLE_HERE" in err


@pytest.mark.anyio
async def test_notify_test_reports_a_delivery(tmp_path: Path, capsys) -> None:
    receiver = Receiver([SECRET])
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        path = write_config(tmp_path, receiver.url)
        with anyio.fail_after(20):
            code = await anyio.to_thread.run_sync(main, ["notify-test", "-c", str(path), "ops"])
        tg.cancel_scope.cancel()
    out = capsys.readouterr().out
    (request,) = receiver.requests
    assert code == 0 and request.verified == [True]
    assert out.startswith("ops (webhook): delivered in ")
    assert out.endswith(f", HTTP 204; webhook-id {request.headers['webhook-id']}\n")
    assert request.payload["data"]["rule"] == "notify-test"
    assert not (tmp_path / "state").exists()  # a probe never touches the outbox


@pytest.mark.anyio
async def test_notify_test_reports_a_failure_to_an_apprise_destination(
    tmp_path: Path, capsys
) -> None:
    receiver = Receiver(respond=script(Reply(500)))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        notifiers = {"desk": {"urls": [f"json://127.0.0.1:{receiver.port}/t0ken"]}}
        path = write_config(tmp_path, notifiers=notifiers)
        with anyio.fail_after(20):
            code = await anyio.to_thread.run_sync(main, ["notify-test", "-c", str(path), "desk"])
        tg.cancel_scope.cancel()
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("desk (apprise): FAILED after ")
    assert out.endswith("(the service would retry on the destination's schedule)\n")
    assert receiver.requests[0].payload["title"] == "alert-bridge test alert (notify-test)"
    assert "t0ken" not in out


def test_notify_test_names_the_destinations_when_one_is_unknown(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path)
    code, _, err = run(capsys, "notify-test", "-c", str(path), "opz")
    assert code == 64
    assert err == (
        'alert-bridge notify-test: error: no destination named "opz" (did you mean "ops"?); '
        'destinations: "ops"\n'
    )
