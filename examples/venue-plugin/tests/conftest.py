"""Fixtures for the plugin's tests: ``alert-bridge run`` for real, on the example config."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from feed_support import BRIDGE, EXAMPLE, EXE, RunService, Service


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def run_service(tmp_path: Path) -> RunService:
    """Start ``alert-bridge run`` on example.toml with ``environ``; SIGTERM it at the end."""

    @asynccontextmanager
    async def run(environ: dict[str, str]) -> AsyncIterator[Service]:
        config = tmp_path / "config.toml"
        config.write_text(BRIDGE.format(state=tmp_path / "state") + EXAMPLE.read_text())
        log = tmp_path / "service.log"
        with log.open("wb") as sink:
            process = await anyio.open_process(
                [EXE, "run", "-c", str(config)],
                stdout=sink,
                stderr=sink,
                env={**os.environ, **environ},
            )
            service = Service(process, log)
            try:
                yield service
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                with anyio.fail_after(20):
                    code = await process.wait()
                await process.aclose()
        assert code == 0, f"alert-bridge run exited with {code}:\n{service.output()}"

    return run
