"""Benchmark: 1,000 SkinShark venue instances (one sub-user each) held open in one process.

Each instance is a real ``SkinShark`` venue under its own ``Supervisor`` (as the service
runs them: one shared httpx client, one reconnect policy), minting its ticket over REST
and holding its read-only socket against the loopback fake. Once every stream is up, it
measures resident memory (VmRSS) and idle CPU (process CPU time / wall time) over a quiet
window, during which only WebSocket pings flow. The default window is 20 s, one ping
interval, so every socket's ping round trip is inside it (a 10 s window right after
connecting would see none and read 0%).

The fake runs in a child process by default, so the numbers are the bridge's alone;
``--fake-in-process`` puts it in the same process (numbers then include the fake).

Run: .venv/bin/python bench/skinshark_instances.py [--instances N] [--idle SECONDS]
Targets (issue #5): at most 300 MB resident, at most 5% of one core while idle.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import anyio
import httpx

from bridge.events import ConnectionEvent, Event
from bridge.runtime.backoff import ReconnectPolicy
from bridge.runtime.supervisor import Supervisor
from bridge.testing.skinshark import SkinSharkFake
from bridge.venue import StateMap
from plugins.skinshark import SkinShark

KEY = "sk_live_bench"
REST_TIMEOUT = 10.0  # as the service's shared client


def _status(field: str) -> int:
    """A /proc/self/status figure in kB (VmRSS, VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve_fake() -> None:
    """Child mode: run the fake, print its URLs, stop when stdin closes."""
    async with SkinSharkFake(KEY) as fake:
        print(fake.ws_url, fake.rest_url, flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)


def venues(count: int, ws_url: str, rest_url: str) -> list[SkinShark]:
    SkinShark.registered_name = "skinshark"  # type: ignore[attr-defined]  # as the host does
    return [
        SkinShark(
            f"shark-{i:04d}",
            {
                "api_key": KEY,
                "sub_user": f"sub-user-{i:04d}",
                "token_in": "subprotocol",
                "url": ws_url,
                "rest_url": rest_url,
                "idle_timeout": None,
            },
        )
        for i in range(count)
    ]


async def run(count: int, idle: float, fake_in_process: bool) -> dict[str, Any]:
    _raise_file_limit()
    async with AsyncExitStack() as stack:
        if fake_in_process:
            fake = await stack.enter_async_context(SkinSharkFake(KEY))
            ws_url, rest_url = fake.ws_url, fake.rest_url
        else:
            child = await stack.enter_async_context(
                await anyio.open_process([sys.executable, __file__, "--serve"])
            )
            assert child.stdin is not None and child.stdout is not None
            stack.push_async_callback(child.stdin.aclose)  # the child stops on EOF
            line = b""
            while not line.endswith(b"\n"):
                line += await child.stdout.receive()
            ws_url, rest_url = line.decode().split()
        baseline_kb = _status("VmRSS")
        states: Counter[str] = Counter()
        all_up = anyio.Event()

        async def sink(venue: str, events: list[Event], changes: dict[str, Any]) -> None:
            for event in events:
                if isinstance(event, ConnectionEvent) and event.state:
                    states[event.state] += 1
            if states["connected"] >= count:
                all_up.set()

        http = await stack.enter_async_context(httpx.AsyncClient(timeout=REST_TIMEOUT))
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            supervisors = [
                Supervisor(
                    venue, "main", sink=sink, http=http, state=StateMap(), policy=ReconnectPolicy()
                )
                for venue in venues(count, ws_url, rest_url)
            ]
            for supervisor in supervisors:
                await tg.start(supervisor.run)
            with anyio.fail_after(120):
                await all_up.wait()
            connect_seconds = time.monotonic() - started
            gc.collect()
            rss_kb = _status("VmRSS")
            cpu_before, wall_before = time.process_time(), time.monotonic()
            await anyio.sleep(idle)  # the quiet window being measured
            cpu = time.process_time() - cpu_before  # every thread of the process
            wall = time.monotonic() - wall_before
            rss_after_kb = _status("VmRSS")
            connected = sum(s.status.connected for s in supervisors)
            tg.cancel_scope.cancel()
    return {
        "instances": count,
        "connected": connected,
        "disconnects": states["disconnected"] + states["auth_failed"],
        "connect_seconds": round(connect_seconds, 2),
        "baseline_rss_mb": round(baseline_kb / 1024, 1),
        "rss_mb": round(rss_kb / 1024, 1),
        "rss_after_idle_mb": round(rss_after_kb / 1024, 1),
        "peak_rss_mb": round(_status("VmHWM") / 1024, 1),
        "idle_window_s": round(wall, 2),
        "idle_cpu_percent_of_a_core": round(100 * cpu / wall, 3),
        "fake": "in this process" if fake_in_process else "child process",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    # 20 s is one WebSocket ping interval: every socket pings and is pinged once in it
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    parser.add_argument("--fake-in-process", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _raise_file_limit()
        anyio.run(serve_fake)
        return
    result = anyio.run(run, args.instances, args.idle, args.fake_in_process)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    ok = result["rss_mb"] <= 300 and result["idle_cpu_percent_of_a_core"] <= 5
    print(f"{'targets (<=300 MB, <=5% CPU)':<{width}}  {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
