"""``check_venue``: the conformance check every venue plugin runs in its own tests.

It replays a plugin's recorded frames the way the core does — classify each frame,
normalize the data frames with a state mapping that is persisted as JSON between frames —
and checks the contract of docs/plugins.md: deterministic ids, no new ids when frames are
re-pushed after a reconnect or a restart, only ``FrameError`` from malformed frames,
typed and complete events, and a classified authentication failure. Every breach is
collected and raised as one AssertionError naming the frame and the field.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal, TypeVar

import anyio
import anyio.abc
import httpx
import orjson

from bridge.codec import dumps
from bridge.events import EVENT_CLASSES, FIELD_TYPES, ORDER_STATUSES, Event, FieldType
from bridge.schema import Problems
from bridge.venue import (
    AuthFailed,
    FrameError,
    NormalizeContext,
    Signal,
    StateMap,
    Venue,
    VenueUnavailable,
)

#: fields a conformant event of each kind always has (besides id, venue, plugin, ts)
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "order": ("order_id", "status"),
    "fill": ("price", "amount"),
    "balance": ("asset", "total"),
    "deposit": ("status",),
    "account": (),
    "notice": ("message",),
}
RECEIVED_AT = 1_700_000_000_000  # the receive clock (ms) of the first replay
LATER = 86_400_123  # how much later the determinism replay runs (ms)
MIN_MS, MAX_MS = 10**11, 10**14  # 1973..5138: seconds or microseconds fall outside
SHOWN = 25  # breaches listed in one AssertionError
MAX_PATHS = 80  # mutated places per recorded frame (depth-first, first list items only)
MAX_DEPTH = 6


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = {"a": [value]}
    return value


# What a malformed place gets: every shape orjson can decode that a venue might mangle.
JUNK: tuple[Any, ...] = (
    None,
    True,
    -1,
    0,
    18446744073709551615,
    -9223372036854775808,
    1.8446744073709552e19,
    -1.5e308,
    "",
    "x",
    "-0",
    "1e999999",
    "-1e999999",
    "NaN",
    "Infinity",
    "9" * 5000,
    [],
    [None],
    {},
    _nested(40),
)
_DELETE = object()

Key = str | int
T = TypeVar("T")


class ConformanceError(AssertionError):
    """The venue breaks the contract; ``breaches`` lists every finding, one line each."""

    def __init__(self, message: str, breaches: list[str]) -> None:
        super().__init__(message)
        self.breaches = breaches


@dataclass
class ConformanceReport:
    """What a passing check saw, for assertions of the plugin's own."""

    events: list[Event]  # the first replay's events, in order
    data_frames: int  # recorded frames classified as data
    malformed: int  # malformed frames tried

    @property
    def kinds(self) -> set[str]:
        return {e.kind for e in self.events}


@dataclass(frozen=True)
class _Frame:
    label: str
    stream: str
    frame: Any


@dataclass
class _Outcome:
    events: list[Event]
    data: bool  # classified as data (and normalized)
    error: str = ""  # the FrameError text, or skipped items


def check_venue(
    venue: type[Venue],
    config: Mapping[str, Any],
    frames: Iterable[Any] | Mapping[str, Iterable[Any]],
    *,
    auth_frame: Any = None,
    auth_at: Literal["handshake", "rest"] | None = None,
    plugin: str | None = None,
    name: str = "venue-under-test",
    time_limit: float = 0.5,
) -> ConformanceReport:
    """Check ``venue`` against the plugin contract; one AssertionError lists every breach.

    ``config`` is the ``[venues.NAME]`` table (without ``plugin``); ``frames`` are recorded
    frames (decoded JSON) of the main stream, or ``{stream: frames}``; acks, pongs and
    errors among them are skipped as the core skips them. ``auth_frame`` is a frame that
    means "credentials rejected"; ``auth_at`` says the venue refuses them at the WebSocket
    handshake (HTTP 401/403) or at its REST step instead. ``plugin`` is the registered
    name (default: looked up among the installed plugins).
    """
    if not (isinstance(venue, type) and issubclass(venue, Venue)):
        raise AssertionError(f"{venue!r} is not a bridge.plugin.Venue subclass")
    if auth_frame is None and auth_at is None:
        raise AssertionError(
            "say how the venue signals rejected credentials: pass auth_frame=<its auth "
            'error frame>, or auth_at="handshake" (HTTP 401/403 on the upgrade) or '
            'auth_at="rest" (its REST step answers 401)'
        )
    if auth_at not in (None, "handshake", "rest"):
        raise AssertionError(f'auth_at must be "handshake" or "rest", not {auth_at!r}')
    checker = _Checker(venue, config, _plugin_name(venue, plugin), name, time_limit)
    recorded = checker.recorded(frames)
    report = checker.replays(recorded)
    report.malformed = checker.malformed(recorded)
    if auth_frame is not None:
        checker.auth_frame(auth_frame)
    if auth_at is not None:
        checker.auth_at(auth_at)
    checker.server_errors()
    checker.raise_breaches()
    return report


def _plugin_name(venue: type[Venue], given: str | None) -> str:
    """The name the plugin host registers ``venue`` under (events carry it)."""
    from bridge.plugins import plugin_host

    names = sorted(n for n, cls in plugin_host().venues.items() if cls is venue)
    if given is not None:
        if names and given not in names:
            raise AssertionError(
                f'plugin="{given}", but the installed plugins register {venue.__name__} '
                f"as {', '.join(names)}"
            )
        return given
    if len(names) != 1:
        raise AssertionError(
            f"{venue.__name__} is not registered by an installed plugin (entry-point "
            'group "alert_bridge"): install your package (pip install -e .) or pass plugin="NAME"'
        )
    return names[0]


class _Checker:
    """One check run: the venue, its options, and the breaches found so far."""

    def __init__(
        self,
        venue: type[Venue],
        config: Mapping[str, Any],
        plugin: str,
        name: str,
        time_limit: float,
    ) -> None:
        self.cls = venue
        self.plugin = plugin
        self.name = name
        self.time_limit = time_limit
        self.breaches: list[str] = []
        schema = venue.config_schema()
        problems = Problems()
        self.options = schema.validate(dict(config), f"venues.{name}", problems)
        if problems:
            raise AssertionError(
                "the config does not validate:\n"
                + "\n".join(f"  {p.path}: {p.message}" for p in problems.items)
            )
        self.secrets = [str(self.options[k]) for k in schema.secret_keys() if self.options.get(k)]
        short = [k for k in schema.secret_keys() if len(str(self.options.get(k) or "")) < 8]
        if short:
            # "k" is in every message: leaks can only be found for distinctive values
            raise AssertionError(
                f"give the secret keys {', '.join(short)} distinctive values of 8 or more "
                'characters in the check\'s config (e.g. "conformance-key-1")'
            )
        #: the normalizer state after the first replay, as the core would have stored it
        self.stored: dict[str, Any] = {}

    # ------------------------------------------------------------------ set-up

    def make(self, name: str | None = None, **overrides: Any) -> Venue:
        try:
            return self.cls(name or self.name, {**self.options, **overrides})
        except Exception as exc:
            raise AssertionError(f"{self.cls.__name__}(...) failed on the config: {exc!r}") from exc

    def recorded(self, frames: Iterable[Any] | Mapping[str, Iterable[Any]]) -> list[_Frame]:
        streams = self.make().streams()
        if isinstance(frames, Mapping):
            for stream in frames:
                if stream not in streams:
                    raise AssertionError(
                        f'frames: "{stream}" is not a stream of {self.cls.__name__} '
                        f"(streams: {', '.join(streams)})"
                    )
            groups = [(str(s), list(f)) for s, f in frames.items()]
            return [
                _Frame(f"{stream} frame {i}: {_preview(frame)}", stream, frame)
                for stream, group in groups
                for i, frame in enumerate(group, start=1)
            ]
        return [
            _Frame(f"frame {i}: {_preview(frame)}", streams[0], frame)
            for i, frame in enumerate(frames, start=1)
        ]

    def open_streams(self, venue: Venue, streams: Iterable[str]) -> None:
        """What the core does before every connection, for venues with no REST step."""
        if self.cls.default_rest_url is not None:
            return  # their open() needs the venue's REST server: test it against your fake

        async def opened() -> None:
            async with httpx.AsyncClient(transport=_NoNetwork()) as http:
                for stream in dict.fromkeys(streams):
                    await venue.open(stream, http)

        try:
            _run(opened, 10.0)
        except Exception as exc:
            self.breach(f"open() failed with no REST step to call: {exc!r}")

    # ------------------------------------------------------------------ feeding frames

    def feed(
        self,
        venue: Venue,
        state: StateMap,
        item: _Frame,
        received_at: int,
        stored: dict[str, Any] | None,
        label: str,
        *,
        strict: bool = True,
    ) -> _Outcome | None:
        """Classify and normalize one frame as the core does; None if it broke the rules."""
        try:
            classification = venue.classify(item.stream, item.frame)
        except Exception as exc:
            self.breach(f"{label}: classify() raised {exc!r}; it must accept any JSON value")
            return None
        if classification.signal is not Signal.DATA:
            self.check_secrets(label, "the classification detail", classification.detail)
            return _Outcome([], data=False)
        ctx = NormalizeContext(venue.name, self.plugin, item.stream, state, received_at)
        started = time.perf_counter()
        error = ""
        try:
            events = venue.normalize(item.stream, item.frame, ctx)
        except FrameError as exc:
            events, error = [], f"FrameError: {exc}"
        except Exception as exc:
            self.breach(f"{label}: normalize() raised {exc!r}; only FrameError may escape it")
            return None
        took = time.perf_counter() - started
        if took > self.time_limit:
            self.breach(f"{label}: normalize() took {took:.2f}s (limit {self.time_limit}s)")
        if ctx.problems:
            error = (error + "; " if error else "") + "skipped " + "; ".join(ctx.problems)
        self.check_secrets(label, "the error", error)
        if not isinstance(events, list):
            self.breach(f"{label}: normalize() returned {type(events).__name__}, not a list")
            return None
        changes = state.drain_changes()
        if stored is not None:
            self.store(label, changes, stored)
        for index, event in enumerate(events):
            where = f"{label}: event {index + 1}"
            self.check_event(where, event, venue.name, received_at, strict=strict)
        return _Outcome(events, data=True, error=error)

    def store(self, label: str, changes: dict[str, Any], stored: dict[str, Any]) -> None:
        """Persist state changes as the core does: JSON, Decimals as text, None deletes."""
        for key, value in changes.items():
            if value is None:
                stored.pop(key, None)
                continue
            try:
                stored[key] = orjson.loads(dumps(value))
            except (TypeError, orjson.JSONDecodeError) as exc:
                self.breach(f"{label}: state[{key!r}] cannot be stored as JSON: {exc}")

    def replay(
        self,
        venue: Venue,
        state: StateMap,
        recorded: Sequence[_Frame],
        received_at: int,
        stored: dict[str, Any] | None = None,
        *,
        clean: bool = False,
    ) -> list[_Outcome]:
        """Each recorded frame's outcome (no events where it broke the rules)."""
        outcomes: list[_Outcome] = []
        for item in recorded:
            outcome = self.feed(venue, state, item, received_at, stored, item.label)
            if clean and outcome is not None and outcome.error:
                self.breach(
                    f"{item.label}: a recorded frame must normalize cleanly: {outcome.error}"
                )
            outcomes.append(outcome or _Outcome([], data=True))
        return outcomes

    # ------------------------------------------------------------------ the checks

    def replays(self, recorded: list[_Frame]) -> ConformanceReport:
        """A first replay, a fresh one later, a reconnect, a restart, another account."""
        streams = [f.stream for f in recorded]
        first, state = self.make(), StateMap()
        self.open_streams(first, streams)
        outcomes = self.replay(first, state, recorded, RECEIVED_AT, self.stored, clean=True)
        events = [o.events for o in outcomes]
        flat = [e for group in events for e in group]
        if not flat:
            raise AssertionError(
                "no recorded frame yielded an event, so nothing could be checked: pass "
                "frames your venue turns into events" + "".join(f"\n- {b}" for b in self.breaches)
            )
        self.collisions(recorded, events)
        seen = {e.id for e in flat}
        again = self.make()
        self.open_streams(again, streams)
        later = self.replay(again, StateMap(), recorded, RECEIVED_AT + LATER)
        for item, one, two in zip(recorded, events, later, strict=True):
            if [e.id for e in one] != [e.id for e in two.events]:
                self.breach(
                    f"{item.label}: a fresh replay a day later gave other ids "
                    f"({_ids(one)}, then {_ids(two.events)}); ids must come from the frame"
                )
        self.open_streams(first, streams)  # a reconnect: same instance, same state
        repushed = self.replay(first, state, recorded, RECEIVED_AT + 1000)
        self.no_new_ids(recorded, repushed, seen, "re-pushed after a reconnect")
        restarted = self.make()
        self.open_streams(restarted, streams)
        restored = StateMap(copy.deepcopy(self.stored))
        after = self.replay(restarted, restored, recorded, RECEIVED_AT + 2000)
        self.no_new_ids(recorded, after, seen, "re-pushed after a restart (state from JSON)")
        other = self.make(f"{self.name}-2")
        self.open_streams(other, streams)
        outcomes_2 = self.replay(other, StateMap(), recorded, RECEIVED_AT)
        shared = sorted({e.id for o in outcomes_2 for e in o.events} & seen)
        if shared:
            self.breach(
                f"another venue instance gave the same ids {_ids(shared)}: ids must "
                "include the instance name (event_id(ctx.venue, ...))"
            )
        return ConformanceReport(flat, sum(o.data for o in outcomes), 0)

    def collisions(self, recorded: list[_Frame], events: list[list[Event]]) -> None:
        """Two facts in one frame never share an id: the core would drop the second."""
        for item, group in zip(recorded, events, strict=True):
            by_id: dict[str, Event] = {}
            for event in group:
                if by_id.setdefault(event.id, event) != event:
                    self.breach(
                        f"{item.label}: two different {event.kind} events share the id "
                        f"{event.id}; the core would drop the second"
                    )

    def no_new_ids(
        self, recorded: list[_Frame], outcomes: list[_Outcome], seen: set[str], how: str
    ) -> None:
        for item, outcome in zip(recorded, outcomes, strict=True):
            new = [e for e in outcome.events if e.id not in seen]
            if new:
                self.breach(
                    f"{item.label}: {how}, it gave new {new[0].kind} ids {_ids(new)}: "
                    "each would be alerted again"
                )

    def check_event(
        self, label: str, event: Any, venue_name: str, received_at: int, *, strict: bool
    ) -> None:
        """Identity and field types; with ``strict`` (recorded frames) also completeness."""
        if not isinstance(event, Event) or type(event).kind not in EVENT_CLASSES:
            self.breach(f"{label}: {event!r} is not an event of a known kind")
            return
        kind = event.kind
        if kind not in self.cls.kinds or kind == "connection":
            self.breach(
                f"{label}: kind {kind!r} is not in {self.cls.__name__}.kinds "
                f"{self.cls.kinds!r} (connection events are the core's)"
            )
        if not isinstance(event.id, str) or not event.id:
            self.breach(f"{label}: {kind}.id must be non-empty text, got {event.id!r}")
        if event.venue != venue_name:
            self.breach(f"{label}: {kind}.venue is {event.venue!r}, not the instance name")
        if event.plugin != self.plugin:
            self.breach(f"{label}: {kind}.plugin is {event.plugin!r}, not {self.plugin!r}")
        if event.received_at != received_at:
            self.breach(f"{label}: {kind}.received_at is not ctx.received_at")
        for spec in fields(event):
            problem = _type_problem(FIELD_TYPES[kind][spec.name], getattr(event, spec.name))
            if problem:
                self.breach(f"{label}: {kind}.{spec.name} {problem}")
        try:
            dumps(event.raw)
        except TypeError as exc:
            self.breach(f"{label}: {kind}.raw cannot be encoded as JSON: {exc}")
        if not strict:
            return  # a mangled frame may give odd values, as long as they are typed
        if not isinstance(event.ts, int) or not MIN_MS <= event.ts < MAX_MS:
            self.breach(f"{label}: {kind}.ts must be milliseconds since 1970, got {event.ts!r}")
        if event.raw is None:
            self.breach(f"{label}: {kind}.raw must hold the venue item the event came from")
        for name in REQUIRED_FIELDS.get(kind, ()):
            if getattr(event, name) is None:
                self.breach(f"{label}: {kind}.{name} is required, got None")
        for problem in _value_problems(event):
            self.breach(f"{label}: {kind}.{problem}")

    def malformed(self, recorded: list[_Frame]) -> int:
        """Mangled copies of every data frame: only FrameError (or valid events) may come."""
        venue = self.make()
        streams = list(dict.fromkeys(f.stream for f in recorded))
        self.open_streams(venue, streams)
        cases = [_Frame(f"junk frame {v!r:.40}", s, v) for s in streams for v in JUNK]
        cases += [m for f in recorded if self._is_data(venue, f) for m in _mutations(f)]
        for item in cases:
            # each from the state the recorded frames left, as the core would have stored it
            state = StateMap(copy.deepcopy(self.stored))
            self.feed(venue, state, item, RECEIVED_AT, None, item.label, strict=False)
        return len(cases)

    def _is_data(self, venue: Venue, item: _Frame) -> bool:
        try:
            return venue.classify(item.stream, item.frame).signal is Signal.DATA
        except Exception:
            return False  # reported by the replays

    def auth_frame(self, frame: Any) -> None:
        venue = self.make()
        for stream in venue.streams():
            try:
                classification = venue.classify(stream, frame)
            except Exception as exc:
                self.breach(f"auth_frame: classify() raised {exc!r}")
                continue
            if classification.signal is not Signal.AUTH_FAILED:
                self.breach(
                    f"auth_frame {_preview(frame)} on stream {stream!r} is classified "
                    f"{classification.signal.name}, not AUTH_FAILED"
                )
            self.check_secrets("auth_frame", "the classification detail", classification.detail)

    def auth_at(self, step: str) -> None:
        """Rejected credentials at the upgrade (HTTP 401/403) or at the REST step."""
        venue = self.make()
        if step == "rest":
            self.rest_refusals(venue.streams()[0])
            return
        for stream in venue.streams():
            for status in (401, 403):
                if not venue.refusal_is_auth_failure(stream, status):
                    self.breach(f"an HTTP {status} refusing the {stream!r} upgrade is not AUTH")

    def server_errors(self) -> None:
        """A venue's server error is never a credentials problem (it is retried sooner)."""
        venue = self.make()
        for stream in venue.streams():
            for status in (500, 502, 503):
                if venue.refusal_is_auth_failure(stream, status):
                    self.breach(f"an HTTP {status} refusing the upgrade counts as an auth failure")

    def rest_refusals(self, stream: str) -> None:
        """open() against a REST server refusing everything: 401 is AuthFailed, 503 not."""
        if self.cls.default_rest_url is None:
            raise AssertionError(f'auth_at="rest", but {self.cls.__name__} has no rest_url')
        for status in (401, 503):

            async def refused(status: int = status) -> BaseException | None:
                return await _open_refused(self, stream, status)

            outcome = _run(refused, 15.0)
            if status == 401 and not isinstance(outcome, AuthFailed):
                self.breach(
                    f"open() with its REST step refused with 401: got {outcome!r}, "
                    "expected AuthFailed"
                )
            if status == 503 and not isinstance(outcome, VenueUnavailable):
                self.breach(
                    f"open() with its REST step refused with 503: got {outcome!r}, "
                    "expected VenueUnavailable (the core retries it soon)"
                )
            self.check_secrets(f"open() refused with {status}", "the error", str(outcome or ""))

    # ------------------------------------------------------------------ reporting

    def check_secrets(self, label: str, what: str, text: str) -> None:
        for secret in self.secrets:
            if secret and secret in text:
                self.breach(f"{label}: {what} contains a configured secret (it would be logged)")

    def breach(self, message: str) -> None:
        if message not in self.breaches:
            self.breaches.append(message)

    def raise_breaches(self) -> None:
        if not self.breaches:
            return
        shown = "\n".join(f"- {b}" for b in self.breaches[:SHOWN])
        more = len(self.breaches) - SHOWN
        raise ConformanceError(
            f"{self.cls.__name__} ({self.plugin}) breaks the venue contract "
            f"({len(self.breaches)} problems):\n{shown}"
            + (f"\n... and {more} more" if more > 0 else ""),
            list(self.breaches),
        )


async def _open_refused(checker: _Checker, stream: str, status: int) -> BaseException | None:
    """What open() raises when every REST call is refused with ``status``."""
    reply = (
        f"HTTP/1.1 {status} Refused\r\ncontent-type: application/json\r\n"
        "content-length: 22\r\nconnection: close\r\n\r\n"
        '{"error":"refused"}   '
    ).encode()

    async def refuse(client: anyio.abc.SocketStream) -> None:
        async with client:
            received = b""
            with anyio.move_on_after(5):
                while b"\r\n\r\n" not in received:
                    received += await client.receive()
            await client.send(reply)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - not Django
    outcome: BaseException | None = None
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, refuse)
        venue = checker.make(rest_url=f"http://127.0.0.1:{port}")
        async with httpx.AsyncClient(timeout=5.0) as http:
            try:
                await venue.open(stream, http)
            except Exception as exc:
                outcome = exc
        tg.cancel_scope.cancel()
    return outcome


class _NoNetwork(httpx.AsyncBaseTransport):
    """A venue without a REST step has no business calling out while opening."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("the conformance check has no network", request=request)


def _run(job: Callable[[], Awaitable[T]], limit: float) -> T:
    """Run ``job`` on its own event loop in a thread, so that async tests may call us."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(anyio.run(job))
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True, name="check_venue")
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise AssertionError(f"open() did not return within {limit:g}s")
    if errors:
        raise errors[0]
    return results[0]


def _mutations(item: _Frame) -> Iterator[_Frame]:
    """The frame with each place (up to MAX_PATHS) removed or replaced by each junk value."""
    for path in list(_paths(item.frame, ()))[:MAX_PATHS]:
        where = _path_text(path)
        if isinstance(path[-1], str):
            yield _Frame(
                f"{item.label} with {where} removed",
                item.stream,
                _replaced(item.frame, path, _DELETE),
            )
        for junk in JUNK:
            label = f"{item.label} with {where} = {junk!r:.40}"
            yield _Frame(label, item.stream, _replaced(item.frame, path, junk))


def _paths(value: Any, prefix: tuple[Key, ...], depth: int = 0) -> Iterator[tuple[Key, ...]]:
    if depth >= MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key in value:
            yield (*prefix, key)
            yield from _paths(value[key], (*prefix, key), depth + 1)
    elif isinstance(value, list) and value:
        yield (*prefix, 0)
        yield from _paths(value[0], (*prefix, 0), depth + 1)


def _replaced(value: Any, path: Sequence[Key], new: Any) -> Any:
    """A copy of ``value`` (copied along ``path`` only) with ``new`` at ``path``."""
    head, rest = path[0], path[1:]
    result = dict(value) if isinstance(value, dict) else list(value)
    if rest:
        result[head] = _replaced(value[head], rest, new)  # type: ignore[index]
    elif new is _DELETE:
        del result[head]  # type: ignore[arg-type]
    else:
        result[head] = new  # type: ignore[index]
    return result


def _path_text(path: Sequence[Key]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _type_problem(kind: FieldType, value: Any) -> str:
    """Why ``value`` does not fit a field of type ``kind`` ("" if it does)."""
    if value is None or kind is FieldType.JSON:
        return ""
    fits = {
        FieldType.TEXT: isinstance(value, str),
        FieldType.DECIMAL: isinstance(value, Decimal) and value.is_finite(),
        FieldType.INTEGER: isinstance(value, int) and not isinstance(value, bool),
        FieldType.BOOLEAN: isinstance(value, bool),
    }[kind]
    wanted = {FieldType.DECIMAL: "a finite Decimal"}.get(kind, kind.value)
    return "" if fits else f"must be {wanted}, got {type(value).__name__} {value!r:.40}"


def _value_problems(event: Any) -> Iterator[str]:
    """The documented vocabularies and relations of docs/events.md."""
    side = getattr(event, "side", None)
    if side is not None and side not in ("buy", "sell"):
        yield f"side must be buy or sell, got {side!r}"
    if event.kind == "order" and event.status is not None and event.status not in ORDER_STATUSES:
        yield f"status must be one of {', '.join(ORDER_STATUSES)}, got {event.status!r}"
    if event.kind == "fill":
        if event.role not in (None, "maker", "taker"):
            yield f"role must be maker, taker or None, got {event.role!r}"
        price, amount, notional = event.price, event.amount, event.notional
        numbers = all(isinstance(v, Decimal) for v in (price, amount, notional))
        if numbers and notional != price * amount:
            yield f"notional {notional} is not price × amount ({price} × {amount})"
    symbol, base, quote = (getattr(event, f, None) for f in ("symbol", "base", "quote"))
    if None not in (symbol, base, quote) and symbol != f"{base}/{quote}":
        yield f'symbol {symbol!r} is not "{base}/{quote}" (BASE/QUOTE)'


def _ids(events: Iterable[Any]) -> str:
    ids = [e.id if isinstance(e, Event) else str(e) for e in events]
    shown = ", ".join(i[:12] for i in ids[:3])
    return f"[{shown}{', ...' if len(ids) > 3 else ''}]"


def _preview(frame: Any, limit: int = 70) -> str:
    try:
        text = dumps(frame).decode()
    except TypeError:
        text = repr(frame)
    return text if len(text) <= limit else text[: limit - 3] + "..."
