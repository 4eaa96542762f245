"""A flooded connection shares the event loop: parsing and reading go a slice at a time.

Other tasks here only count how much of the flood went by between two of their turns
(frames, not seconds): before the fix, a whole network read (thousands of frames) was
parsed in one go, and the reader drained every buffered frame without yielding.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
import websockets
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bridge.events import Event
from bridge.runtime.fair_connection import FairConnection
from bridge.runtime.supervisor import Supervisor
from bridge.testing.flood import Flood, not_json, text_frames
from bridge.testing.gate import GateSpotFake
from bridge.venue import StateMap
from plugins.gateio import GateSpot

pytestmark = pytest.mark.anyio

FLOOD = 60_000  # tiny frames, written at once: megabytes waiting to be read
FRAMES, ITEMS = 1_000, 200  # frames with many bad items each
MOST_PER_TURN = 2_000  # frames one loop turn may take (a slice is ~1 ms; a read was ~10,000)


class Turns:
    """A task that takes every loop turn it can get and notes a counter at each."""

    def __init__(self) -> None:
        self.most = 0

    async def watch(self, counter: Any, done: Any) -> None:
        last = counter()
        while not done():
            await anyio.lowlevel.checkpoint()
            now = counter()
            self.most = max(self.most, now - last)
            last = now


class CountingConnection(FairConnection):
    """Counts the frames websockets has parsed (each becomes an event)."""

    parsed = 0

    def process_event(self, event: Any) -> None:
        CountingConnection.parsed += 1
        super().process_event(event)


async def test_a_flood_is_parsed_a_slice_at_a_time_and_nothing_is_lost() -> None:
    payloads = not_json(FLOOD)
    big = b"x" * 3_000_000  # one message larger than many slices' worth of bytes

    async def handler(connection: ServerConnection) -> None:
        connection.transport.write(text_frames(payloads))
        await connection.send(big)
        await connection.close(4000, "flood over")  # behind megabytes: must still be seen

    received: list[bytes] = []
    turns = Turns()
    CountingConnection.parsed = 0
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with websockets.connect(
            f"ws://127.0.0.1:{port}",
            create_connection=CountingConnection,
            compression=None,
            max_size=None,
        ) as ws:
            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(
                        turns.watch,
                        lambda: CountingConnection.parsed,
                        lambda: len(received) > FLOOD,
                    )
                    with pytest.raises(ConnectionClosed) as closed:
                        while True:
                            received.append(await ws.recv(decode=False))
    assert received[:FLOOD] == payloads and received[FLOOD:] == [big]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
    assert turns.most <= MOST_PER_TURN


async def test_the_reader_yields_while_frames_are_buffered() -> None:
    # Frames cheap to parse but dear to read: each holds 200 items, all malformed. The
    # parser hands over a slice's worth of them at a time; reading that many takes longer.
    update = {"channel": "spot.usertrades", "event": "update", "time": 1}
    items = [{"id": i} for i in range(ITEMS)]
    payload = json.dumps({**update, "result": items}).encode()
    async with GateSpotFake() as fake, httpx.AsyncClient() as http:
        venue = GateSpot(
            "gate-flood",
            {
                "api_key": "gate-key",
                "api_secret": "gate-secret",
                "url": fake.url + "/ws/v4/",
                "channels": ["spot.usertrades"],
                "symbols": ["!all"],
            },
        )

        async def sink(venue: str, events: list[Event], changes: dict[str, Any]) -> None:
            pass

        supervisor = Supervisor(venue, "main", sink=sink, http=http, state=StateMap())
        turns = Turns()
        status = supervisor.status
        async with anyio.create_task_group() as tg:
            await tg.start(supervisor.run)
            connection = await fake.wait_for_connections(1)
            await fake.changes.wait_for(lambda: fake.subscribed("spot.usertrades", connection))
            flood = Flood(connection, FRAMES, payloads=[payload] * FRAMES)  # all in one write
            await flood.run(limit=FRAMES)
            errors = FRAMES * ITEMS
            with anyio.fail_after(60):
                await turns.watch(
                    lambda: status.frame_errors, lambda: status.frame_errors >= errors
                )
            tg.cancel_scope.cancel()
    assert status.frames == FRAMES + 1  # and the subscribe's ack
    assert status.frame_errors == errors
    assert turns.most <= MOST_PER_TURN
