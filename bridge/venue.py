"""The venue contract: what a venue plugin describes, and what the core does with it.

A venue connector is a *protocol description*, not a socket owner (DESIGN §6). For each
of its streams the core runs a supervisor that, on every (re)connect:

1. awaits :meth:`Venue.open` — any REST step (listenKey, ws-token), then the URL,
   headers and subprotocols to connect with (fresh signatures and nonces every time);
2. connects, then sends :meth:`Venue.on_open` frames (e.g. signed subscribes);
3. marks the stream up according to :attr:`Venue.ready_when`;
4. for every frame: :meth:`Venue.classify` it, and :meth:`Venue.normalize` data frames
   into events, with a state mapping the core persists;
5. meanwhile sends :meth:`Venue.app_ping` every :attr:`Venue.ping_interval` and runs
   :meth:`Venue.duties` (e.g. listenKey keep-alive) on their schedules;
6. when a connection ends, asks :meth:`Venue.reuse_session` whether the next connect may
   skip ``open``; when the stream stops for good, awaits :meth:`Venue.close` (e.g.
   DELETE a listenKey).

Reconciliation (DESIGN §9) is described the same way, with no I/O in the plugin: at start
and after every reconnect, once the stream is ready, the core asks
:meth:`Venue.reconcile_requests` what to fetch, signs each request with
:meth:`Venue.sign_rest` just before sending it, and hands each answer to
:meth:`Venue.reconcile_response`, which turns it into events through the same
normalizers as the stream (so a fact gets the same id either way) and may ask for more
pages. The core owns when, HTTP, the pace (:attr:`Venue.reconcile_rate`), retries and
dedup, and marks the events ``recovered``.

Normalizers are pure apart from ``ctx.state``, so recorded frames replay with no network.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar
from urllib.parse import urlencode

from bridge.events import Event, FillEvent, event_id
from bridge.schema import BOOLEAN, DURATION, POSITIVE_INTEGER, Option, Schema, url_with_scheme
from bridge.venue_state import ORDER_STATE_MAX, ORDER_STATE_MAX_AGE, StateBound
from bridge.venue_state import StateMap as StateMap  # re-exported: plugins import it from here

#: default ``reconcile_window``: how far back a reconciliation looks at most (seconds)
RECONCILE_WINDOW = 86400.0

if TYPE_CHECKING:  # annotations only: `alert-bridge check` loads venues without an HTTP client
    import httpx


class FrameError(Exception):
    """A frame or item that does not have the venue's documented shape.

    The only exception a normalizer may raise: the core counts and logs it and keeps the
    connection. Raise it from inside :meth:`NormalizeContext.each` to skip one bad item
    of an array while keeping the others.
    """


class AuthFailed(Exception):
    """The venue rejected the credentials (raised by ``open`` or a duty)."""


class VenueUnavailable(Exception):
    """A REST step failed for a reason other than credentials (the core retries)."""


class Signal(enum.Enum):
    """What a frame means to the connection, as :meth:`Venue.classify` says."""

    DATA = "data"  # normalize it
    ACK = "ack"  # a subscribe was accepted
    PONG = "pong"  # an answer to an application ping
    READY = "ready"  # the venue says the session is up (e.g. SkinShark's `connected`)
    IGNORE = "ignore"  # nothing to do
    ERROR = "error"  # the venue reports an error: logged and counted, connection kept
    AUTH_FAILED = "auth_failed"  # credentials rejected: reconnect after a longer delay
    RECONNECT = "reconnect"  # the venue asks for a fresh connection (e.g. Gate `upgrade`)


@dataclass(frozen=True)
class Classification:
    signal: Signal
    detail: str = ""


DATA = Classification(Signal.DATA)
IGNORE = Classification(Signal.IGNORE)


@dataclass
class Session:
    """How to connect this time, and what the plugin wants to remember about it."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    subprotocols: list[str] = field(default_factory=list)
    #: values that must never be logged (tokens, listenKeys, signatures)
    secrets: list[str] = field(default_factory=list)
    #: the plugin's own notes (a listenKey, a token's expiry...)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Duty:
    """A periodic task while a stream is connected (first run one interval after connect)."""

    name: str
    interval: float
    run: Callable[[Session, httpx.AsyncClient], Awaitable[None]]


T = TypeVar("T")
E = TypeVar("E", bound=Event)


class NormalizeContext:
    """What a normalizer gets besides the frame: identity, clock, state, problems."""

    __slots__ = ("plugin", "problems", "received_at", "state", "stream", "venue")

    def __init__(
        self, venue: str, plugin: str, stream: str, state: StateMap, received_at: int
    ) -> None:
        self.venue = venue
        self.plugin = plugin
        self.stream = stream
        self.state = state
        self.received_at = received_at
        #: bad items skipped inside a good frame (counted and logged by the core)
        self.problems: list[str] = []

    def each(self, items: Iterable[T], normalize: Callable[[T], Iterable[Event]]) -> list[Event]:
        """Normalize every item; a FrameError skips only that item, and is recorded."""
        events: list[Event] = []
        for index, item in enumerate(items):
            try:
                events.extend(normalize(item))
            except FrameError as exc:
                self.problems.append(f"item {index}: {exc}")
        return events

    def derived_fill(
        self,
        *,
        order_id: str,
        cumulative: object,
        base: str | None,
        quote: str | None,
        side: str | None,
        price: Decimal | None,
        amount: Decimal,
        notional: Decimal | None,
        ts: int,
        raw: Any,
        symbol: str | None = None,
    ) -> FillEvent:
        """A fill computed from an order's cumulative progress (``derived = true``).

        Every venue that only reports cumulative fills uses this, so derived fills share
        one identity: keyed by the order and the cumulative amount reached, the same fill
        re-derived after a reconnect or restart always gets the same id.
        """
        if symbol is None and base and quote:
            symbol = f"{base}/{quote}"
        return FillEvent(
            id=event_id(self.venue, "fill", "derived", order_id, cumulative),
            venue=self.venue,
            plugin=self.plugin,
            received_at=self.received_at,
            ts=ts,
            raw=raw,
            trade_id=f"{order_id}:{cumulative}",
            order_id=order_id,
            symbol=symbol,
            base=base,
            quote=quote,
            side=side,
            role=None,
            price=price,
            amount=amount,
            notional=notional,
            derived=True,
        )

    def event(
        self, cls: type[E], *, id: str, ts: int | None = None, raw: Any = None, **fields: Any
    ) -> E:
        """An event of ``cls`` with venue, plugin and received_at filled in."""
        return cls(
            id=id,
            venue=self.venue,
            plugin=self.plugin,
            ts=self.received_at if ts is None else ts,
            received_at=self.received_at,
            raw=raw,
            **fields,
        )


class Venue:
    """Base class of a venue connector. Subclass it and override what your venue needs."""

    #: the event kinds this venue yields (shown by ``alert-bridge plugins``)
    kinds: ClassVar[tuple[str, ...]] = ()
    #: the venue's own config keys (``url``, ``rest_url``, ``idle_timeout``... are added)
    options: ClassVar[tuple[Option, ...]] = ()
    #: production WebSocket URL
    default_url: ClassVar[str] = ""
    #: production REST base URL, for venues with a REST step (None: the venue has none)
    default_rest_url: ClassVar[str | None] = None
    #: no frame (data, ack or pong) for this long means a dead connection: reconnect.
    #: None (or 0 in config) relies on WebSocket pings alone, for venues that may stay quiet
    idle_timeout: ClassVar[float | None] = 90.0
    #: seconds between application pings (None: the venue has none)
    ping_interval: ClassVar[float | None] = None
    #: the venue closes the socket if the client sends any data frame
    read_only: ClassVar[bool] = False
    #: when a stream counts as connected: on socket open, on the first ACK, or on READY
    ready_when: ClassVar[Literal["open", "ack", "signal"]] = "open"
    #: prefixes of the ``ctx.state`` keys that hold one entry per order (e.g. "order:"):
    #: the core bounds them (``order_state_max``, ``order_state_max_age`` are added)
    order_state_prefixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.config = dict(options)

    @classmethod
    def config_schema(cls) -> Schema:
        """Every key a ``[venues.NAME]`` table of this plugin may hold (except ``plugin``)."""
        extra = [
            Option("url", url_with_scheme("wss", "ws"), default=cls.default_url),
            Option("idle_timeout", DURATION, default=cls.idle_timeout),
        ]
        if cls.default_rest_url is not None:
            extra.append(
                Option("rest_url", url_with_scheme("https", "http"), default=cls.default_rest_url)
            )
        if cls.reconciles():
            extra += [
                Option("reconcile", BOOLEAN, default=True),
                Option("reconcile_window", DURATION, default=RECONCILE_WINDOW),
            ]
        if cls.order_state_prefixes:
            extra += [
                Option("order_state_max", POSITIVE_INTEGER, default=ORDER_STATE_MAX),
                Option("order_state_max_age", DURATION, default=ORDER_STATE_MAX_AGE),
            ]
        return Schema((*cls.options, *extra))

    @property
    def plugin(self) -> str:
        """The plugin name events carry (set by the host when the class is registered)."""
        return getattr(type(self), "registered_name", type(self).__name__.lower())

    def streams(self) -> tuple[str, ...]:
        """The connections this instance holds; each gets its own supervisor."""
        return ("main",)

    async def open(self, stream: str, http: httpx.AsyncClient) -> Session:
        """Prepare a connection: REST steps first, then URL, headers, subprotocols."""
        return Session(url=self.config["url"])

    def on_open(self, stream: str, session: Session, now: float) -> list[Any]:
        """JSON frames to send right after connecting (``now``: unix seconds)."""
        return []

    def app_ping(self, stream: str, now: float) -> Any | None:
        """The application ping frame (called every ``ping_interval`` seconds)."""
        return None

    def duties(self, stream: str) -> list[Duty]:
        """Periodic tasks while connected."""
        return []

    def classify(self, stream: str, frame: Any) -> Classification:
        """What a decoded frame means to the connection."""
        return DATA

    def normalize(self, stream: str, frame: Any, ctx: NormalizeContext) -> list[Event]:
        """Events from one data frame. Raise only FrameError; use ``ctx.each`` for arrays."""
        return []

    async def close(self, stream: str, session: Session, http: httpx.AsyncClient) -> None:
        """Clean up when the stream stops for good (shutdown, venue removed): e.g. DELETE
        a listenKey. Runs shielded, with a deadline; not called between reconnects."""

    def refusal_is_auth_failure(self, stream: str, status: int) -> bool:
        """Does an HTTP ``status`` refusing the WebSocket upgrade mean bad credentials?"""
        return status in (401, 403)

    def reuse_session(self, stream: str, session: Session, close_code: int | None) -> bool:
        """May the next connect reuse ``session`` and skip ``open``? (default: never)."""
        return False

    # ------------------------------------------------------------------ reconciliation

    #: requests per second the venue's documented REST limit allows these calls
    reconcile_rate: ClassVar[float] = 5.0

    @classmethod
    def reconciles(cls) -> bool:
        """Whether this plugin implements REST reconciliation (``alert-bridge plugins``)."""
        return cls.reconcile_requests is not Venue.reconcile_requests

    def reconcile_requests(self, stream: str, window: ReconcileWindow) -> list[RestRequest]:
        """What to fetch after ``stream`` is (re)connected and ready (default: nothing)."""
        return []

    def sign_rest(self, request: RestRequest, now: float) -> dict[str, str]:
        """Headers authenticating ``request`` (called right before each send and resend)."""
        return {}

    def reconcile_response(
        self,
        stream: str,
        request: RestRequest,
        payload: Any,
        window: ReconcileWindow,
        ctx: NormalizeContext,
    ) -> Recovered:
        """Events from one decoded 2xx answer, through the stream's own normalizers.

        Raise :class:`FrameError` for an answer without the documented shape (the round
        fails and is retried). ``ctx.state`` is the stream's state.
        """
        return Recovered()


@dataclass(frozen=True)
class RestRequest:
    """One REST call of a reconciliation, as the plugin describes it (unsigned).

    ``path`` is the full path with the venue's version prefix (``/api/v4/spot/my_trades``);
    the core puts it after the configured ``rest_url``. ``cursor`` names what the answer
    advances (e.g. ``"trades"``): the watermark :meth:`ReconcileWindow.since` reads.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    cursor: str = ""

    @property
    def query(self) -> str:
        """The query string exactly as sent (and signed), without the ``?``."""
        return urlencode(self.params)


@dataclass
class Recovered:
    """What one REST answer yielded: events, further pages, and the newest fact's time."""

    events: list[Event] = field(default_factory=list)
    #: more requests to make in this round (the next page)
    more: list[RestRequest] = field(default_factory=list)
    #: venue time (ms) of the newest fact in the answer: the request's cursor moves there
    newest: int | None = None


@dataclass(frozen=True)
class ReconcileWindow:
    """How far back this reconciliation looks, per cursor.

    ``seeding`` is true on the first start of a venue instance (no state yet): the answer
    only seeds balances and watermarks, and nothing from the past alerts.
    """

    now: float  # unix seconds
    floor: int  # ms: now minus ``reconcile_window``, the furthest back a round looks
    cursors: Mapping[str, int] = field(default_factory=dict)
    seeding: bool = False

    def since(self, cursor: str) -> int:
        """Milliseconds: the newest fact already known for ``cursor`` (never before the floor)."""
        return max(self.floor, self.cursors.get(cursor, self.floor))


def state_bound(venue: Venue) -> StateBound:
    """The bound on ``venue``'s per-order state, from its class and its config."""
    config = venue.config
    return StateBound(
        prefixes=type(venue).order_state_prefixes,
        max_entries=config.get("order_state_max", ORDER_STATE_MAX),
        max_age=config.get("order_state_max_age", ORDER_STATE_MAX_AGE),
        venue=venue.name,
    )
