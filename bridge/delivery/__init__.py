"""Delivery: the group committer, the workers, and the destinations they send to."""

from bridge.delivery.attempt import AttemptResult
from bridge.delivery.committer import Committer
from bridge.delivery.deliverer import Deliverer
from bridge.delivery.destinations import Destination, build_destinations, make_client
from bridge.delivery.notifier import AppriseDestination
from bridge.delivery.signing import Signer
from bridge.delivery.stats import DeliveryStats, OutcomeCounts
from bridge.delivery.webhook import WebhookDestination

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
