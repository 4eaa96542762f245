"""No secret reaches the logs: a DEBUG-level run across venues that hold every kind.

API keys and secrets from config, per-connect signatures (Gate), a listenKey in the
socket path (Bitmusa), a token in the query string (SkinShark), the webhook secret and
an Apprise URL with a password: none may appear in the output, as is or URL-encoded.
The SkinShark sub-user, an identifier from ${VAR} that is also an ordinary word, is no
secret: the venue named after it stays readable.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bridge.testing.bitmusa import BitmusaFake
from bridge.testing.gate import GateSpotFake, usertrade
from bridge.testing.skinshark import SkinSharkFake, gateway_deposit_failed
from tests.receivers import Receiver
from tests.service_helpers import WEBHOOK_SECRET, example_rule, run_service
from tests.test_logs import secret_leaks

pytestmark = pytest.mark.anyio

GATE_KEY, GATE_SECRET = "gate-key-9f8e7d6c", "gate-secret-1a2b3c4d"
MUSA_KEY, MUSA_AUTH = "musa-api-7c6b5a49", "musa-auth-4d3e2f1a"
SHARK_KEY = "sk_live_secret_5e6f7a8b"
APPRISE_PASSWORD = "apprisePass1234"

CONFIG = """
[bridge]
state_dir = "{state}"
http = ""
log_level = "debug"
reconnect_delay = "20ms"

[venues.gate-main]
plugin = "gateio"
api_key = "{gate_key}"
api_secret = "${{GATE_SECRET}}"
url = "{gate_url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[venues.musa]
plugin = "bitmusa"
api_key = "{musa_key}"
auth_key = "{musa_auth}"
url = "{musa_url}"
rest_url = "{musa_rest}"

[venues.shark-alice]
plugin = "skinshark"
api_key = "{shark_key}"
sub_user = "${{SHARK_SUB_USER}}"
token_in = "query"
url = "{shark_url}"
rest_url = "{shark_rest}"

[notifiers.desk]
urls = ["json://alerts:{apprise_password}@127.0.0.1:{sink}/apprise"]

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"
"""


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_secret_in_debug_output(tmp_path: Path, log_format: str) -> None:
    async with (
        GateSpotFake(GATE_KEY, GATE_SECRET) as gate,
        BitmusaFake(MUSA_KEY, MUSA_AUTH) as musa,
        SkinSharkFake(SHARK_KEY) as shark,
        anyio.create_task_group() as tg,
    ):
        hook, sink = Receiver([WEBHOOK_SECRET]), Receiver()
        await tg.start(hook.serve)
        await tg.start(sink.serve)
        config = tmp_path / "config.toml"
        config.write_text(
            CONFIG.format(
                state=tmp_path / "state",
                gate_key=GATE_KEY,
                gate_url=gate.url,
                musa_key=MUSA_KEY,
                musa_auth=MUSA_AUTH,
                musa_url=musa.url,
                musa_rest=musa.rest_url,
                shark_key=SHARK_KEY,
                shark_url=shark.ws_url,
                shark_rest=shark.rest_url,
                apprise_password=APPRISE_PASSWORD,
                sink=sink.port,
                hook=hook.url,
                webhook_secret=WEBHOOK_SECRET,
            )
            + example_rule("large fill")
            + example_rule("deposit failed")
        )
        env = {"GATE_SECRET": GATE_SECRET, "SHARK_SUB_USER": "alice"}
        async with run_service(config, env=env, args=("--log-format", log_format)) as service:
            for venue in ("gate-main", "musa", "shark-alice"):
                await service.wait_for_log(f"{venue}: connected")
            await gate.update("spot.usertrades", [usertrade(1, amount="1")])
            await shark.send("deposit.failed", gateway_deposit_failed("fund_1", "expired"))
            await musa.drop(1011, "cut")  # a reconnect: a fresh listenKey request
            await service.wait_for_log("musa: connected", count=2)
            with anyio.fail_after(20):
                await hook.wait_until(lambda r: len(r.requests) >= 2)
                await sink.wait_until(lambda r: len(r.requests) >= 2)
        tg.cancel_scope.cancel()
    signatures = [
        frame["auth"]["SIGN"]
        for frame in gate.received
        if isinstance(frame, dict) and "auth" in frame
    ]
    secrets = [
        GATE_KEY,
        GATE_SECRET,
        MUSA_KEY,
        MUSA_AUTH,
        SHARK_KEY,
        APPRISE_PASSWORD,
        WEBHOOK_SECRET,
        WEBHOOK_SECRET.removeprefix("whsec_"),
        *signatures,
        *musa.issued,
        *shark.tickets,
    ]
    assert signatures and musa.issued and shark.tickets  # the scenario really used them
    assert "DEBUG" in service.log or '"debug"' in service.log.lower()  # it ran at DEBUG
    assert secret_leaks(service.log, secrets) == []
    assert "shark-***" not in service.log
