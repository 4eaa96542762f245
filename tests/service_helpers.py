"""Running ``alert-bridge run`` for real: a subprocess with its output collected."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from anyio.abc import Process

from bridge.testing.waiting import Changes

EXE = str(Path(sys.executable).parent / "alert-bridge")
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class ServiceProcess:
    """A running ``alert-bridge run`` whose log lines tests can wait for."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.changes = Changes()

    async def _collect(self) -> None:
        assert self.process.stderr is not None
        buffer = b""
        async for chunk in self.process.stderr:
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            self.lines.extend(line.decode(errors="replace") for line in complete)
            if complete:
                self.changes.notify()
        self.changes.notify()

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def wait_for_log(self, text: str, count: int = 1, within: float = 15) -> None:
        await self.changes.wait_for(lambda: self.count(text) >= count, within)

    async def stop(self) -> int:
        """SIGTERM, then the exit code (a service that does not stop fails the test)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        with anyio.fail_after(20):
            return await self.process.wait()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


@asynccontextmanager
async def run_service(
    config: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> AsyncIterator[ServiceProcess]:
    """Start ``alert-bridge run -c CONFIG [ARGS]``; SIGTERM it on the way out."""
    environment = {**os.environ, **env} if env else None
    process = await anyio.open_process(
        [EXE, "run", "-c", str(config), *args], stdout=None, env=environment
    )
    service = ServiceProcess(process)
    async with anyio.create_task_group() as tg:
        tg.start_soon(service._collect)
        try:
            yield service
        finally:
            code = await service.stop()
            tg.cancel_scope.cancel()
        assert code == 0, f"alert-bridge run exited with {code}:\n{service.log}"


def write_config(path: Path, text: str, **values: object) -> Path:
    """Write a config file; ``values`` are substituted into ``text`` with str.format."""
    path.write_text(text.format(**values))
    return path


def example_rule(name: str) -> str:
    """The ``[[rules]]`` table named ``name`` from rules.example.toml, as TOML text.

    End-to-end tests use the example's own rules, so the example is tested as shipped.
    """
    from bridge.config import tomllib  # tomli on Python 3.10
    from tests.delivery_helpers import toml_value

    example = Path(__file__).resolve().parent.parent / "rules.example.toml"
    rules = tomllib.loads(example.read_text())["rules"]
    [rule] = [r for r in rules if r["name"] == name]
    lines = ["[[rules]]"] + [f"{key} = {toml_value(value)}" for key, value in rule.items()]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    """A loopback port nothing listens on right now (for a service's own endpoint)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sample(metrics: str, name: str) -> float:
    """The value of one exposition line (exact name and labels)."""
    [line] = [line for line in metrics.splitlines() if line.startswith(name + " ")]
    return float(line.rsplit(" ", 1)[1])
