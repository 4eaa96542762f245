"""``alert-bridge run``: the service in the foreground, stopped by SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import sys

import anyio

from bridge.config import Config
from bridge.runtime.service import Service

log = logging.getLogger("alert_bridge")


def setup_logging(level: str) -> None:
    """Readable text on stderr (the structured and journald formats come with #6)."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "websockets"):  # they log URLs, which carry secrets
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def serve(config: Config) -> None:
    """Run until SIGTERM/SIGINT, then stop gracefully (intake, commits, deliveries)."""
    service = Service(config)
    async with anyio.create_task_group() as tg:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            await tg.start(service.run)

            async def watch() -> None:
                async for signum in signals:
                    log.info("received %s: stopping", signal.Signals(signum).name)
                    service.stop()
                    return

            tg.start_soon(watch)
            await service.stopped()
            tg.cancel_scope.cancel()


def run(config: Config) -> int:
    """The ``run`` command's body."""
    setup_logging(config.bridge.log_level)
    anyio.run(serve, config)
    return 0
