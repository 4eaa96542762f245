"""A venue's normalizer state, with per-order entries bounded by count and by age.

Normalizers that derive fills from cumulative totals keep one entry per open order, and
drop it when the order closes. An order whose close never arrives (missed while a
stream was down, or never pushed) would keep its entry for ever, so the keys a venue
declares per-order (:attr:`bridge.venue.Venue.order_state_prefixes`) are bounded:

- **by age**: an entry untouched (neither read nor written by the normalizer) for
  ``order_state_max_age`` is dropped;
- **by count**: past ``order_state_max`` entries, the least recently touched go first.

An order that is still live is read on each of its updates, so it stays at the young
end and keeps its cumulative figures; only an order quiet for longer than the age, or
crowded out by more than ``order_state_max`` busier ones, loses them (its next fill would
then be derived from zero). Evictions are counted (``alert_bridge_state_evictions_total``)
and logged at most once per :data:`LOG_EVERY`.

The last-touch times are persisted with the state, under reserved keys
(:data:`TOUCHED` + key), so a restart keeps both the order of eviction and the ages. A
read alone re-persists its touch only once the persisted one is :data:`TOUCH_PERSIST`
old; on load a persisted touch counts as that much younger, so a restart never ages an
entry early.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("alert_bridge.state")

#: default bound on per-order entries of one venue instance (``order_state_max``)
ORDER_STATE_MAX = 10_000
#: default age after which an untouched per-order entry goes (``order_state_max_age``)
ORDER_STATE_MAX_AGE = 30 * 86400.0
#: reserved key prefix: the persisted last-touch time of a per-order entry
TOUCHED = "bridge.touched:"
#: a read re-persists an entry's touch only when the persisted one is this old (seconds)
TOUCH_PERSIST = 60.0
#: at most one log line about evictions per this many seconds (per venue)
LOG_EVERY = 300.0


@dataclass(frozen=True)
class StateBound:
    """Which keys are per-order entries, and how many and how old they may be."""

    #: key prefixes of per-order entries (none: nothing is bounded)
    prefixes: tuple[str, ...] = ()
    max_entries: int = ORDER_STATE_MAX
    #: seconds; 0 turns the age bound off
    max_age: float = ORDER_STATE_MAX_AGE
    #: the venue instance, for log lines
    venue: str = ""

    @property
    def persist_every(self) -> float:
        """How stale a persisted touch may get before a read re-persists it."""
        return min(TOUCH_PERSIST, self.max_age / 4) if self.max_age > 0 else TOUCH_PERSIST


class StateMap(MutableMapping[str, Any]):
    """A venue's normalizer state: a JSON-able mapping that remembers what changed.

    Keys under the bound's prefixes are per-order entries: reading or writing one
    touches it, and the least recently touched are evicted (see the module docstring)
    when a new one is added, when the bound is set, and when changes are drained —
    never on a read. Membership tests (``in``) and iterating over keys do not touch.
    """

    def __init__(
        self,
        initial: Mapping[str, Any] | None = None,
        *,
        bound: StateBound | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._data: dict[str, Any] = {}
        self._changed: set[str] = set()
        #: per-order keys -> last touch (unix seconds), least recently touched first
        self._touched: OrderedDict[str, float] = OrderedDict()
        #: per-order keys -> the touch time as persisted
        self._saved: dict[str, float] = {}
        #: keys whose persisted touch must be written (or deleted, once the key is gone)
        self._touch_dirty: set[str] = set()
        self.clock = clock
        self.bound = StateBound()
        #: entries evicted by the bound since this map was made (the metric)
        self.evictions = 0
        self._latest = 0.0  # the latest touch: touches never go back with the wall clock
        self._unlogged = {"age": 0, "size": 0, "young": 0}
        self._logged_at: float | None = None
        for key, value in (initial or {}).items():
            if key.startswith(TOUCHED):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._saved[key[len(TOUCHED) :]] = float(value)
            else:
                self._data[key] = value
        for orphan in self._saved.keys() - self._data.keys():
            self._touch_dirty.add(orphan)  # its entry is gone: delete its touch too
        self.set_bound(bound or StateBound())

    # -- the mapping ---------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        if key in self._touched:
            self._touch(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if key.startswith(TOUCHED):
            raise KeyError(f"{key!r}: keys starting with {TOUCHED!r} belong to the core")
        new = key not in self._data
        self._data[key] = value
        self._changed.add(key)
        if key.startswith(self.bound.prefixes):
            now = self._touch(key)
            if new:  # state grows only here, so here is where it is held to the bound
                self._sweep(now)
                self._enforce_size()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._changed.add(key)
        self._forget(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data  # no touch: a membership test is no sign of life

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    # -- changes for the store -----------------------------------------------------

    @property
    def changed(self) -> bool:
        """Whether anything changed since the last drain (checked on every frame)."""
        return bool(self._changed or self._touch_dirty)

    def drain_changes(self) -> dict[str, Any]:
        """Changes since the last call: key -> new value, or None where deleted.

        Per-order entries bring their touch time along, under :data:`TOUCHED` + key.
        Entries past the age bound are evicted first, so their deletion is among them.
        """
        self.sweep()
        changes = {k: self._data.get(k) for k in self._changed}
        self._changed.clear()
        for key in self._touch_dirty:
            touched = self._touched.get(key)
            if touched is None:
                if self._saved.pop(key, None) is not None:
                    changes[TOUCHED + key] = None
            else:
                self._saved[key] = changes[TOUCHED + key] = round(touched, 3)
        self._touch_dirty.clear()
        return changes

    # -- the bound -----------------------------------------------------------------

    @property
    def tracked(self) -> int:
        """How many per-order entries are held."""
        return len(self._touched)

    def set_bound(self, bound: StateBound) -> None:
        """Apply ``bound`` (at start and on a reload): evicts what it no longer allows.

        Entries already tracked keep their touch; others take their persisted one (made
        younger by the persistence grain), or now when none was persisted.
        """
        self.bound = bound
        now = self._now()
        grain = bound.persist_every
        touches: dict[str, float] = {}
        for key in self._data:
            if not key.startswith(bound.prefixes):
                continue
            if key in self._touched:
                touches[key] = self._touched[key]
            elif key in self._saved:
                touches[key] = min(self._saved[key] + grain, now)
            else:
                touches[key] = now
                self._touch_dirty.add(key)  # no persisted touch yet: write one
        for key in self._touched.keys() - touches.keys():
            self._touch_dirty.add(key)  # no longer per-order: its touch row goes
        self._touched = OrderedDict(sorted(touches.items(), key=lambda item: item[1]))
        self._sweep(now)
        self._enforce_size()

    def sweep(self) -> None:
        """Evict the entries untouched for longer than the age bound."""
        self._sweep(self._now())

    def _now(self) -> float:
        self._latest = max(self._latest, self.clock())
        return self._latest

    def _touch(self, key: str) -> float:
        # No eviction here: a read may come from a plugin iterating over the state.
        now = self._now()
        self._touched[key] = now
        self._touched.move_to_end(key)
        if now - self._saved.get(key, -1e300) >= self.bound.persist_every:
            self._touch_dirty.add(key)
        return now

    def _forget(self, key: str) -> None:
        if self._touched.pop(key, None) is not None or key in self._saved:
            self._touch_dirty.add(key)

    def _sweep(self, now: float) -> None:
        if self.bound.max_age <= 0:
            return
        cutoff = now - self.bound.max_age
        while self._touched:
            key, touched = next(iter(self._touched.items()))
            if touched >= cutoff:
                break
            self._evict(key, "age", now)

    def _enforce_size(self) -> None:
        if len(self._touched) <= self.bound.max_entries:
            return
        now = self._now()
        cutoff = now - self.bound.max_age if self.bound.max_age > 0 else -1e300
        while len(self._touched) > self.bound.max_entries:
            key, touched = next(iter(self._touched.items()))
            # A least recently touched entry that is still young: the count forced it out.
            self._evict(key, "young" if touched >= cutoff else "size", now)

    def _evict(self, key: str, reason: str, now: float) -> None:
        del self._data[key]
        self._changed.add(key)
        self._forget(key)
        self.evictions += 1
        self._unlogged[reason] += 1
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY:
            self._report(now)

    def _report(self, now: float) -> None:
        """One line for the evictions since the last one (the first comes at once)."""
        aged, size, young = (self._unlogged[k] for k in ("age", "size", "young"))
        self._unlogged = dict.fromkeys(self._unlogged, 0)
        self._logged_at = now
        bound, venue = self.bound, self.bound.venue or "venue"
        age = _duration(bound.max_age)
        parts = []
        if aged or size:
            parts.append(f"{aged + size} untouched for over order_state_max_age = {age}")
        if young:
            within = f" though touched within {age}" if bound.max_age > 0 else ""
            parts.append(
                f"{young} crowded out by order_state_max = {bound.max_entries}{within}: a live "
                "order among them gets its next fill derived from zero; raise order_state_max"
            )
        level = logging.WARNING if young else logging.INFO
        log.log(
            level,
            "%s: dropped %d per-order state entries (%s); %d kept, %d dropped in all",
            venue,
            aged + size + young,
            "; ".join(parts),
            len(self._touched),
            self.evictions,
        )


def _duration(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{seconds / 86400:g}d"
    return f"{seconds:g}s"
