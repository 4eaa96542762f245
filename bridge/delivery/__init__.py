"""Delivery: the group committer, the workers, and the destinations they send to.

The names below are imported on first use (PEP 562): `bridge.plugin` needs only
`bridge.delivery.attempt`, and importing the whole package for it would load the HTTP
clients (httpx, aiohttp) into every `alert-bridge check`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.delivery.attempt import AttemptResult
    from bridge.delivery.committer import Committer
    from bridge.delivery.deliverer import Deliverer
    from bridge.delivery.destinations import Destination, build_destinations, make_client
    from bridge.delivery.notifier import AppriseDestination
    from bridge.delivery.signing import Signer
    from bridge.delivery.stats import DeliveryStats, OutcomeCounts
    from bridge.delivery.webhook import WebhookDestination

_HOMES = {
    "AppriseDestination": "notifier",
    "AttemptResult": "attempt",
    "Committer": "committer",
    "Deliverer": "deliverer",
    "DeliveryStats": "stats",
    "Destination": "destinations",
    "OutcomeCounts": "stats",
    "Signer": "signing",
    "WebhookDestination": "webhook",
    "build_destinations": "destinations",
    "make_client": "destinations",
}

__all__ = [
    "AppriseDestination",
    "AttemptResult",
    "Committer",
    "Deliverer",
    "DeliveryStats",
    "Destination",
    "OutcomeCounts",
    "Signer",
    "WebhookDestination",
    "build_destinations",
    "make_client",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once found, a plain attribute
    return value
