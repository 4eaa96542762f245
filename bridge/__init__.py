"""alert-bridge: venue account streams -> normalized events -> rules -> alerts.

The public API: the event model, the plugin markers, the errors. Plugins import from
here, ``bridge.plugin`` and ``bridge.testing`` only.
"""

from bridge.errors import BridgeError, ConfigError, EventDecodeError, PluginError, UserError
from bridge.events import (
    EVENT_CLASSES,
    KINDS,
    AccountEvent,
    BalanceEvent,
    ConnectionEvent,
    DepositEvent,
    Event,
    FillEvent,
    NoticeEvent,
    OrderEvent,
    event_id,
    market_symbol,
)
from bridge.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "EVENT_CLASSES",
    "KINDS",
    "AccountEvent",
    "BalanceEvent",
    "BridgeError",
    "ConfigError",
    "ConnectionEvent",
    "DepositEvent",
    "Event",
    "EventDecodeError",
    "FillEvent",
    "NoticeEvent",
    "OrderEvent",
    "PluginError",
    "UserError",
    "__version__",
    "event_id",
    "hookimpl",
    "market_symbol",
]
