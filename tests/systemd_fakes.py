"""The far ends of the systemd test, run inside the booted machine's network namespace.

``python -m tests.systemd_fakes GATE_KEY GATE_SECRET WEBHOOK_SECRET`` starts a fake Gate.io
spot venue that accepts only that key pair and a webhook receiver that verifies with that
secret (with ``standardwebhooks``), prints one JSON line ``{"venue": URL, "hook": URL}``,
then answers each JSON command read from stdin with one JSON line:

- ``{"get": URL}`` → ``{"status": 200, "body": "..."}``: an HTTP GET from inside the network;
- ``{"fill": TRADE_ID}`` → ``{"ok": true}`` once the newest connection holds an accepted
  ``spot.usertrades`` subscription and a large fill has been pushed on it;
- ``{"webhooks": N}`` → ``{"payloads": [...]}`` once N requests verified.

Every command is bounded; a timeout answers ``{"error": "..."}`` instead of hanging.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import httpx

from bridge.testing.gate import GateSpotFake, usertrade
from tests.receivers import Receiver

WITHIN = 20


async def answer(command: dict[str, Any], fake: GateSpotFake, hook: Receiver) -> dict[str, Any]:
    with anyio.fail_after(WITHIN):
        if "get" in command:
            async with httpx.AsyncClient(timeout=WITHIN) as client:
                response = await client.get(command["get"])
            return {"status": response.status_code, "body": response.text}
        if "fill" in command:
            await fake.wait_for_connections(1, timeout=WITHIN)
            await fake.changes.wait_for(lambda: fake.subscribed("spot.usertrades"), WITHIN)
            trade = usertrade(int(command["fill"]), amount="1", price="30000")
            await fake.update("spot.usertrades", [trade])
            return {"ok": True}
        if "webhooks" in command:
            count = int(command["webhooks"])
            await hook.changes.wait_for(
                lambda: sum(all(r.verified) for r in hook.accepted) >= count, WITHIN
            )
            return {"payloads": [r.payload for r in hook.accepted if all(r.verified)]}
    return {"error": f"unknown command {command!r}"}


async def main(key: str, secret: str, webhook_secret: str) -> None:
    hook = Receiver([webhook_secret])
    async with GateSpotFake(key, secret) as fake, anyio.create_task_group() as tg:
        await tg.start(hook.serve)
        print(json.dumps({"venue": fake.url, "hook": hook.url}), flush=True)
        while line := await anyio.to_thread.run_sync(sys.stdin.readline):
            try:
                reply = await answer(json.loads(line), fake, hook)
            except Exception as error:  # the test reads the reason instead of a dead pipe
                reply = {"error": f"{type(error).__name__}: {error}"}
            print(json.dumps(reply), flush=True)
        tg.cancel_scope.cancel()


if __name__ == "__main__":
    key, secret, webhook_secret = sys.argv[1:4]
    anyio.run(main, key, secret, webhook_secret)
