"""The service: everything under one root task group (DESIGN §6, §7)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import httpx
from anyio.abc import TaskStatus

from bridge.config import Config
from bridge.delivery.committer import Committer
from bridge.delivery.deliverer import Deliverer
from bridge.plugins import PluginHost, plugin_host
from bridge.rules import RuleEngine
from bridge.runtime.backoff import ReconnectPolicy
from bridge.runtime.pipeline import Pipeline
from bridge.runtime.supervisor import Supervisor
from bridge.store import Store
from bridge.venue import StateMap, Venue

log = logging.getLogger("alert_bridge.service")

REST_TIMEOUT = 10.0


@dataclass
class Running:
    """What a running service exposes to health checks, metrics and tests."""

    store: Store
    engine: RuleEngine
    committer: Committer
    deliverer: Deliverer
    pipeline: Pipeline
    supervisors: list[Supervisor] = field(default_factory=list)


class Service:
    """Runs the configured venues, the pipeline and delivery until :meth:`stop`."""

    def __init__(
        self,
        config: Config,
        *,
        plugins: PluginHost | None = None,
        policy: ReconnectPolicy | None = None,
        delivery_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        start_venues: bool = True,
    ) -> None:
        self.config = config
        self.start_venues = start_venues  # False: pipeline and delivery only (replay --send)
        self.plugins = plugins or plugin_host()
        self.policy = policy or ReconnectPolicy(
            base=config.bridge.reconnect_delay,
            cap=config.bridge.reconnect_max_delay,
            auth_delay=config.bridge.auth_retry_delay,
        )
        self.delivery_client = delivery_client
        self.clock = clock
        self.running: Running | None = None
        self._stop = anyio.Event()
        self._stopped = anyio.Event()

    def stop(self) -> None:
        """Ask the service to stop: intake first, then pending commits, then deliveries."""
        self._stop.set()

    async def stopped(self) -> None:
        """Wait until :meth:`run` has finished (after a stop or a failure)."""
        await self._stopped.wait()

    def build_venues(self) -> list[Venue]:
        """One Venue object per ``[venues.NAME]``, from its plugin."""
        return [
            self.plugins.venues[v.plugin](v.name, v.options) for v in self.config.venues.values()
        ]

    async def run(self, *, task_status: TaskStatus[Running] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start everything; ``task_status.started()`` once venues and workers are up."""
        try:
            store = Store.open(self.config.bridge.state_dir)
            try:
                await self._run(store, task_status)
            finally:
                store.close()
        finally:
            self._stopped.set()

    async def _run(self, store: Store, task_status: TaskStatus[Running]) -> None:
        engine = RuleEngine(self.config.rules, store.load_rule_state(), clock=self.clock)
        deliverer = Deliverer(store, self.config, client=self.delivery_client, clock=self.clock)
        committer = Committer(store, on_jobs=deliverer.notify)
        pipeline = Pipeline(engine, committer)
        running = Running(store, engine, committer, deliverer, pipeline)
        self.running = running
        async with (
            httpx.AsyncClient(timeout=REST_TIMEOUT) as http,
            anyio.create_task_group() as root,
        ):
            await root.start(committer.run)
            await root.start(deliverer.run)
            async with anyio.create_task_group() as intake:
                for venue in self.build_venues() if self.start_venues else []:
                    state = StateMap(store.load_venue_state(venue.name))
                    for stream in venue.streams():
                        supervisor = Supervisor(
                            venue,
                            stream,
                            sink=pipeline.process,
                            http=http,
                            state=state,
                            policy=self.policy,
                            clock=self.clock,
                        )
                        running.supervisors.append(supervisor)
                        await intake.start(supervisor.run)
                log.info("running: %s", self.config.summary())
                task_status.started(running)
                await self._stop.wait()
                intake.cancel_scope.cancel()  # stop intake: no new frames from here on
            committer.close()  # its run() returns once everything queued is durable
            with anyio.move_on_after(self.config.bridge.shutdown_grace):
                await deliverer.shutdown(self.config.bridge.shutdown_grace)
            root.cancel_scope.cancel()
