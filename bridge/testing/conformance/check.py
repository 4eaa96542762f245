"""``check_venue`` itself: validate its arguments, then run every check family in turn."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from bridge.testing.conformance.auth import AuthChecks
from bridge.testing.conformance.malformed import MalformedChecks
from bridge.testing.conformance.replays import ReplayChecks
from bridge.testing.conformance.report import ConformanceReport
from bridge.testing.conformance.rest import RestChecks
from bridge.venue import Venue


class _Checks(ReplayChecks, MalformedChecks, AuthChecks, RestChecks):
    """One check run with every check family."""


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
    rest: Mapping[str, Any] | None = None,
) -> ConformanceReport:
    """Check ``venue`` against the plugin contract; one AssertionError lists every breach.

    ``config`` is the ``[venues.NAME]`` table (without ``plugin``); ``frames`` are recorded
    frames (decoded JSON) of the main stream, or ``{stream: frames}``; acks, pongs and
    errors among them are skipped as the core skips them. ``auth_frame`` is a frame that
    means "credentials rejected"; ``auth_at`` says the venue refuses them at the WebSocket
    handshake (HTTP 401/403) or at its REST step instead. ``plugin`` is the registered
    name (default: looked up among the installed plugins). ``rest`` holds recorded REST
    answers by path (``{"/api/v4/spot/my_trades": [...]}``) of facts the frames also
    carry: their reconciled events must get the stream's ids.
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
    checker = _Checks(venue, config, _plugin_name(venue, plugin), name, time_limit)
    recorded = checker.recorded(frames)
    report = checker.replays(recorded)
    report.malformed = checker.malformed(recorded)
    if rest is not None:
        report.reconciled = checker.reconciliation(rest, report.events)
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
