"""``alert-bridge run``: the service in the foreground, as systemd runs it.

SIGTERM/SIGINT stop it gracefully; SIGHUP re-reads the config file, and an invalid new
config is logged with all its problems while the old one keeps running.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import anyio

from bridge import sdnotify
from bridge.config import Config, load_config
from bridge.errors import ConfigError, UserError
from bridge.runtime.service import Service

log = logging.getLogger("alert_bridge")


def setup_logging(level: str) -> None:
    """Readable text on stderr."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "websockets"):  # they log URLs, which carry secrets
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _reload(service: Service, path: Path) -> None:
    try:
        config = load_config(path)
    except ConfigError as exc:
        log.error(
            "reload rejected, the running config stays: %s is invalid (%d problems):\n%s",
            path,
            len(exc.problems),
            exc,
        )
        return
    except UserError as exc:
        log.error("reload rejected, the running config stays: %s", exc)
        return
    await service.reload(config)


async def serve(path: Path, config: Config) -> None:
    """Run until SIGTERM/SIGINT; reload on SIGHUP; keep systemd informed throughout."""
    service = Service(config)
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async with anyio.create_task_group() as tg:
            # The watchdog runs from the start: systemd's timer does not wait for READY.
            await tg.start(sdnotify.run_watchdog, service.healthy)
            await tg.start(service.run)
            sdnotify.ready()
            sdnotify.status(config.summary())

            async def handle_signals() -> None:
                async for signum in signals:
                    if signum == signal.SIGHUP:
                        log.info("SIGHUP: reloading %s", path)
                        sdnotify.reloading()
                        await _reload(service, path)
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


def run(path: Path) -> int:
    """The ``run`` command's body."""
    config = load_config(path)
    setup_logging(config.bridge.log_level)
    anyio.run(serve, path, config)
    return 0
