"""The destination contract for plugins: a new kind of place alerts go (DESIGN §6).

Besides ``[notifiers.*]`` (Apprise) and ``[webhooks.*]``, a plugin may register a
destination kind through ``alert_bridge_register_destinations``; each ``[KIND.NAME]``
table then becomes one instance. The core keeps doing everything around the send: the
durable outbox, the retry schedule, concurrency, dead letters, metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bridge.config import DELIVERY_OPTIONS, DeliveryConfig
from bridge.delivery.attempt import AttemptResult
from bridge.schema import Option, Schema
from bridge.store import Job


class Destination:
    """Base class of a plugin destination kind. Subclass it and implement :meth:`send`."""

    #: this kind's own config keys (timeout, retry, max_attempts, concurrency are added)
    options: ClassVar[tuple[Option, ...]] = ()
    #: the section name it was registered under (set by the plugin host)
    kind: ClassVar[str] = ""

    def __init__(self, name: str, options: Mapping[str, Any], settings: DeliveryConfig) -> None:
        self.name = name
        self.config = dict(options)
        self.settings = settings

    @classmethod
    def config_schema(cls) -> Schema:
        """Every key a ``[KIND.NAME]`` table may hold."""
        return Schema((*cls.options, *DELIVERY_OPTIONS))

    async def send(self, job: Job) -> AttemptResult:
        """One attempt. Report trouble as ``AttemptResult.failure(...)``, never raise."""
        raise NotImplementedError
