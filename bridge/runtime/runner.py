"""``alert-bridge run``: the service in the foreground, as systemd runs it.

SIGTERM/SIGINT stop it gracefully; SIGHUP re-reads the config file, and an invalid new
config is logged with all its problems while the old one keeps running.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import anyio

from bridge import sdnotify
from bridge.config import LOG_LEVELS, Config, load_config
from bridge.errors import ConfigError, UsageError, UserError
from bridge.http_endpoint import serve_http
from bridge.logs import literal_secrets, set_level, setup_logging, warn_if_exposed
from bridge.metrics import Histograms
from bridge.redaction import Redactor
from bridge.runtime.service import Service
from bridge.store.location import STATE_DIR_FIX, state_dir_problem

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

log = logging.getLogger("alert_bridge")

# How long a thread that wants the GIL waits for the running one (Python's default: 5 ms).
# Every commit hands its batch to the writer thread and back; behind an event loop busy
# with frames and deliveries, each hand-over waited up to the full 5 ms, which was most of
# the p99 latency of an alert. 1 ms costs a little throughput for a much shorter tail.
GIL_SWITCH_INTERVAL = 0.001

# Once the service has stopped, how long other threads may take to end before the
# process exits without them.
STRAY_THREAD_WAIT = 0.5


async def _reload(
    service: Service, path: Path, redactor: Redactor, log_level: str | None = None
) -> None:
    # Whatever is wrong with the new file, the service keeps running on the old config.
    try:
        config = load_config(path, runnable=True)
    except ConfigError as exc:
        service.config_status.failed()
        log.error(
            "reload rejected, the running config stays: %s is invalid (%d problem%s):\n%s",
            path,
            len(exc.problems),
            "" if len(exc.problems) == 1 else "s",
            exc,
        )
        return
    except UserError as exc:
        service.config_status.failed()
        log.error("reload rejected, the running config stays: %s", exc)
        return
    except Exception:  # a bug met by this file: it must not take the running service down
        service.config_status.failed()
        log.exception("reload rejected, the running config stays: loading %s failed", path)
        return
    redactor.add(config.secrets)  # before anything can log the new values
    set_level(log_level or config.bridge.log_level)
    await service.reload(config)


async def serve(
    path: Path, config: Config, redactor: Redactor, log_level: str | None = None
) -> None:
    """Run until SIGTERM/SIGINT; reload on SIGHUP; keep systemd informed throughout.

    ``log_level``: the command line's or the environment's, over the config's (reloads too).
    """
    service = Service(config)
    histograms = Histograms(clock=service.clock)  # job times are read off that clock
    service.on_attempt = histograms.observe_attempt
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async with anyio.create_task_group() as tg:
            if config.bridge.http:
                # Up before the venues: /healthz answers at once, the rest say "starting".
                port = await tg.start(
                    serve_http, config.bridge.http, lambda: service.running, histograms
                )
                log.info("health and metrics on %s (port %d)", config.bridge.http, port)
            await tg.start(service.run)
            _freeze_heap()
            sdnotify.ready()
            sdnotify.status(config.summary())
            # Only now, with its first ping at once: systemd.service(5) arms WatchdogSec=
            # when start-up completes (READY=1); a start that hangs is ended by
            # TimeoutStartSec= instead. Started earlier, the first health check saw a
            # service not yet running, logged "unhealthy" and withheld pings for a period.
            await tg.start(sdnotify.run_watchdog, service.healthy)

            async def handle_signals() -> None:
                async for signum in signals:
                    if signum == signal.SIGHUP:
                        log.info("SIGHUP: reloading %s", path)
                        sdnotify.reloading()
                        await _reload(service, path, redactor, log_level)
                        sdnotify.ready()  # whether the new config was taken or rejected
                        sdnotify.status(service.config.summary())
                        continue
                    log.info("received %s: stopping", signal.Signals(signum).name)
                    sdnotify.stopping()
                    service.stop()
                    return

            tg.start_soon(handle_signals)
            await service.stopped()
            tg.cancel_scope.cancel()


def _freeze_heap() -> None:
    """Exempt everything alive after start-up from future garbage collections.

    The modules, plugins and config (some 45,000 objects) live as long as the process;
    a full collection walking them all stalls the event loop for about 25 ms, several
    times a minute under load, and every alert in flight waits that long. Frozen, a
    full collection walks only what the running service allocated since. (A frozen
    object is still freed when its last reference goes; only a reference cycle among
    frozen objects would stay, and a reload replaces a few config objects at most.)
    """
    gc.collect()
    gc.freeze()


def run(path: Path, log_format: str = "text", log_level: str | None = None) -> int:
    """The ``run`` command's body. ``log_level`` (``--log-level``), else
    $ALERT_BRIDGE_LOG_LEVEL, else the config's ``log_level``."""
    log_level = log_level or _env_log_level()
    config = load_config(path, runnable=True)
    problem = state_dir_problem(config.bridge.state_dir)
    if problem:  # before anything starts, rather than as an SQLite error from deep inside
        raise UserError(
            f'[bridge] state_dir = "{config.bridge.state_dir}" {problem}; {STATE_DIR_FIX}'
        )
    redactor = setup_logging(log_level or config.bridge.log_level, log_format)
    redactor.add(config.secrets)
    warn_if_exposed(path, literal_secrets(path.read_text(encoding="utf-8"), config.secrets), log)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    try:
        anyio.run(serve, path, config, redactor, log_level)
    except BaseExceptionGroup as group:
        # A user error at start-up (the HTTP port taken, the state database unusable)
        # leaves the task groups wrapped around it: it is one line, not a traceback.
        error = _only_user_error(group)
        if error is None:
            raise
        raise error from None
    leave_stray_threads()
    return 0


def _env_log_level() -> str | None:
    value = os.environ.get("ALERT_BRIDGE_LOG_LEVEL", "").strip().lower()
    if value and value not in LOG_LEVELS:
        raise UsageError(
            f'ALERT_BRIDGE_LOG_LEVEL="{value}": not a log level; use one of '
            f"{', '.join(LOG_LEVELS)} (or unset it to use [bridge] log_level)"
        )
    return value or None


def leave_stray_threads(wait: float = STRAY_THREAD_WAIT) -> None:
    """Exit at once, status 0, if a thread would keep the stopped service alive.

    The interpreter joins every non-daemon thread at exit (and the threads of
    ``concurrent.futures`` pools, through an atexit hook): one stuck on a network call
    kept the process alive after SIGTERM until systemd killed it. Our own blocking sends
    run in daemon threads (bridge.delivery.notifier), and Apprise is kept out of its
    pool (bridge.apprise_urls); this guards against whatever a library starts besides.
    Everything of ours is closed and durable by now; only the log is flushed first.
    """
    current = threading.current_thread()
    deadline = time.monotonic() + wait
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join(max(deadline - time.monotonic(), 0.0))
    stray = [
        thread.name
        for thread in threading.enumerate()
        if thread is not current and not thread.daemon and thread.is_alive()
    ]
    if not stray:
        return
    log.warning(
        "exiting without waiting for %d thread%s still running after the service stopped: %s",
        len(stray),
        "" if len(stray) == 1 else "s",
        ", ".join(stray),
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _only_user_error(group: BaseExceptionGroup[BaseException]) -> UserError | None:
    """The first UserError in ``group`` if that is all it holds (nested groups too)."""
    errors: list[UserError] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            inner = _only_user_error(exc)
            if inner is None:
                return None
            errors.append(inner)
        elif isinstance(exc, UserError):
            errors.append(exc)
        else:
            return None
    return errors[0] if errors else None
