"""The service: everything under one root task group (DESIGN §6, §7)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import httpx
from anyio.abc import TaskGroup, TaskStatus

from bridge.clock import SteadyClock
from bridge.config import Config
from bridge.delivery.committer import Committer
from bridge.delivery.deliverer import Deliverer
from bridge.metrics import ConfigStatus
from bridge.plugins import PluginHost, plugin_host
from bridge.rules import RuleEngine
from bridge.runtime.backoff import ReconnectPolicy
from bridge.runtime.pipeline import Pipeline
from bridge.runtime.supervisor import Supervisor
from bridge.store import Store
from bridge.venue import StateMap, Venue, state_bound

log = logging.getLogger("alert_bridge.service")

REST_TIMEOUT = 10.0
HEARTBEAT_INTERVAL = 1.0


@dataclass
class Running:
    """What a running service exposes to health checks, metrics and tests."""

    store: Store
    engine: RuleEngine
    committer: Committer
    deliverer: Deliverer
    pipeline: Pipeline
    config_status: ConfigStatus
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
        clock: Callable[[], float] | None = None,
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
        # Every schedule of this run reads one clock that wall-clock steps cannot move.
        self.clock: Callable[[], float] = clock or SteadyClock()
        self.running: Running | None = None
        #: whether the last config load (this one, then each reload) succeeded, and when
        self.config_status = ConfigStatus(success_time=self.clock())
        #: called after every delivery attempt (metrics); see Deliverer
        self.on_attempt: Callable[..., None] | None = None
        self._stop = anyio.Event()
        self._intake: TaskGroup | None = None
        self._http: httpx.AsyncClient | None = None
        self._venue_scopes: dict[str, anyio.CancelScope] = {}
        self._states: dict[str, tuple[str, StateMap]] = {}  # venue -> (plugin, live state)
        self._stopped = anyio.Event()

    def stop(self) -> None:
        """Ask the service to stop: intake first, then pending commits, then deliveries."""
        self._stop.set()

    def healthy(self) -> bool:
        """Running and not stopping: what the systemd watchdog pings vouch for.

        That this is called at all shows the event loop is responsive; a stopped
        committer or deliverer ends run(), which makes this false.
        """
        return self.running is not None and not self._stop.is_set() and not self._stopped.is_set()

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
            store = Store.open(self.config.bridge.state_dir, clock=self.clock)
            try:
                step = store.undo_clock_step()
                if step:
                    log.warning(
                        "the clock is %.0fs behind where the last run left it: "
                        "retry times and cooldowns moved back by as much",
                        step,
                    )
                await self._run(store, task_status)
            finally:
                store.close()
        finally:
            self._stopped.set()

    async def _run(self, store: Store, task_status: TaskStatus[Running]) -> None:
        engine = RuleEngine(self.config.rules, store.load_rule_state(), clock=self.clock)
        deliverer = Deliverer(
            store,
            self.config,
            client=self.delivery_client,
            clock=self.clock,
            on_attempt=self.on_attempt,
        )
        committer = Committer(store, on_jobs=deliverer.notify)
        pipeline = Pipeline(engine, committer)
        running = Running(store, engine, committer, deliverer, pipeline, self.config_status)
        self.running = running
        async with (
            httpx.AsyncClient(timeout=REST_TIMEOUT) as http,
            anyio.create_task_group() as root,
        ):
            await root.start(committer.run)
            await root.start(deliverer.run)
            root.start_soon(self._heartbeat, store)
            async with anyio.create_task_group() as intake:
                self._intake, self._http = intake, http
                for venue in self.build_venues() if self.start_venues else []:
                    await self._start_venue(venue)
                log.info("running: %s", self.config.summary())
                task_status.started(running)
                await self._stop.wait()
                intake.cancel_scope.cancel()  # stop intake: no new frames from here on
            committer.close()  # its run() returns once everything queued is durable
            with anyio.move_on_after(self.config.bridge.shutdown_grace):
                await deliverer.shutdown(self.config.bridge.shutdown_grace)
            root.cancel_scope.cancel()

    async def _heartbeat(self, store: Store) -> None:
        """Note once a second that the service is alive (for :meth:`Store.undo_clock_step`)."""
        try:
            while True:
                store.heartbeat()
                await anyio.sleep(HEARTBEAT_INTERVAL)
        finally:
            store.heartbeat()  # the moment of a clean stop too

    async def _start_venue(self, venue: Venue) -> None:
        """Start one supervisor per stream of ``venue``, under a scope of its own."""
        running, intake, http = self.running, self._intake, self._http
        assert running is not None and intake is not None and http is not None
        # A venue restarted by a reload keeps its live state (changes may still be on
        # their way to the store); a new venue, or a new plugin for the name, starts fresh.
        known = self._states.get(venue.name)
        bound = state_bound(venue)
        if known is None or known[0] != venue.plugin:
            # Its own wall clock, not self.clock: touch times are persisted across restarts.
            known = (venue.plugin, StateMap(running.store.load_venue_state(venue.name)))
            self._states[venue.name] = known
        state = known[1]
        state.set_bound(bound)  # order_state_max(_age), as loaded or changed by a reload
        supervisors = [
            Supervisor(
                venue,
                stream,
                sink=running.pipeline.process,
                http=http,
                state=state,
                policy=self.policy,
                clock=self.clock,
                intake=running.pipeline,
            )
            for stream in venue.streams()
        ]

        async def run_venue(*, task_status: TaskStatus[anyio.CancelScope]) -> None:
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as group:
                    for supervisor in supervisors:
                        await group.start(supervisor.run)
                    task_status.started(scope)
            # a venue stopped for a reload leaves the running set with its supervisors
            running.supervisors[:] = [s for s in running.supervisors if s not in supervisors]

        running.supervisors.extend(supervisors)
        self._venue_scopes[venue.name] = await intake.start(run_venue)

    async def reload(self, config: Config) -> None:
        """Swap in a validated config: rules and destinations at once; venues that were
        added, removed or changed start, stop or restart; the others keep their streams."""
        running = self.running
        if running is None or self._intake is None:
            raise RuntimeError("reload() needs a running service")
        old = self.config.venues
        self.config = config
        # One assignment each: the event loop never sees half a configuration.
        running.engine = RuleEngine(config.rules, running.engine.state, clock=self.clock)
        running.pipeline.engine = running.engine
        running.deliverer.reload(config)
        new = config.venues if self.start_venues else {}
        for name, settings in old.items():
            if new.get(name) != settings and name in self._venue_scopes:
                log.info("reload: stopping venue %s", name)
                self._venue_scopes.pop(name).cancel()
        for venue in self.build_venues() if self.start_venues else []:
            if (
                old.get(venue.name) != config.venues[venue.name]
                or venue.name not in self._venue_scopes
            ):
                log.info("reload: starting venue %s", venue.name)
                await self._start_venue(venue)
        self.config_status.succeeded(self.clock())
        log.info("reloaded: %s", config.summary())
