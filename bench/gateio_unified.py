"""Benchmark: the Gate Unified normalizer on asset_detail pushes (decode + classify + state).

Run: .venv/bin/python bench/gateio_unified.py [--frames N] [--currencies N]
No target is set for this venue; it shows the cost of comparing every push with state,
both when ``dts`` carries every currency (most unchanged) and only the changed one.
"""

from __future__ import annotations

import argparse
import time

import orjson

from bridge.plugin import NormalizeContext, Signal, StateMap
from plugins.gateio_unified import GateUnified


def frames(count: int, currencies: int, *, full: bool) -> list[bytes]:
    """``count`` encoded pushes; each changes one currency, ``full`` sends them all."""
    names = [f"C{i}" for i in range(currencies)]
    book = {name: "100" for name in names}
    out = []
    for step in range(count):
        name = names[step % currencies]
        book[name] = str(100 + step)
        shown = names if full else [name]
        dts = {n: {"a": book[n], "f": "0", "e": book[n], "tl": "0", "b": book[n]} for n in shown}
        push = {
            "time": 1716796362 + step // 10,
            "channel": "unified.asset_detail",
            "event": "update",
            "result": {"u": 1, "t": 1716796362 + step // 10, "dts": dts},
        }
        out.append(orjson.dumps(push))
    return out


def run(encoded: list[bytes]) -> tuple[float, int]:
    """Seconds to process every frame, and the number of events produced."""
    venue = GateUnified("uni", {"api_key": "k", "api_secret": "s", "currencies": ["!all"]})
    state = StateMap()
    events = 0
    start = time.perf_counter()
    for message in encoded:
        frame = orjson.loads(message)
        if venue.classify("main", frame).signal is not Signal.DATA:
            continue
        ctx = NormalizeContext("uni", "gateio_unified", "main", state, 0)
        events += len(venue.normalize("main", frame, ctx))
        state.drain_changes()
    return time.perf_counter() - start, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--currencies", type=int, default=20)
    args = parser.parse_args()
    for full in (False, True):
        elapsed, events = run(frames(args.frames, args.currencies, full=full))
        shape = f"all {args.currencies} currencies" if full else "changed currency only"
        print(
            f"dts with {shape}: {args.frames / elapsed:,.0f} frames/s, "
            f"{events:,} events ({elapsed:.2f}s)"
        )


if __name__ == "__main__":
    main()
