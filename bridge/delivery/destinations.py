"""Destinations by name: what the workers send through."""

from __future__ import annotations

from typing import Protocol

import httpx
from httpx_aiohttp import AiohttpTransport

from bridge.config import Config, DeliveryConfig
from bridge.delivery.attempt import AttemptResult
from bridge.delivery.notifier import AppriseDestination, url_target
from bridge.delivery.webhook import WebhookDestination
from bridge.store import Job


class Destination(Protocol):
    """Anything that can attempt one delivery of a job."""

    @property
    def name(self) -> str:
        """The table name, e.g. ``ops`` for ``[webhooks.ops]``."""

    @property
    def kind(self) -> str:
        """``webhook`` or ``apprise`` (or a plugin's kind)."""

    @property
    def settings(self) -> DeliveryConfig:
        """Timeout, retry schedule, attempts, concurrency."""

    async def send(self, job: Job) -> AttemptResult:
        """One attempt; network trouble is a failed result, not an exception."""
        ...


def make_client() -> httpx.AsyncClient:
    """The HTTP client webhooks share (one pool; redirects off; no proxy from the environment)."""
    # The pool is not the bound (each destination's `concurrency` is), so it never
    # makes a delivery wait for a connection slot that another destination holds.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    # httpx's own transport spends ~1 ms of CPU per request; aiohttp's (C parser) about a
    # third of that. Same httpx API on top, so timeouts, redirects and tests are unchanged.
    client = httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=limits,
        transport=AiohttpTransport(trust_env=False, limits=limits),
    )
    # Response bodies are discarded: no need to ask for (and then inflate) compression.
    # Every header costs time in each request, so the defaults nothing reads go too.
    del client.headers["accept-encoding"]
    del client.headers["accept"]
    return client


def build_destination(config: Config, name: str, client: httpx.AsyncClient) -> Destination:
    """The destination ``name`` from ``config`` (KeyError if there is none)."""
    if name in config.webhooks:
        return WebhookDestination(config.webhooks[name], client)
    if name in config.plugin_destinations:
        settings = config.plugin_destinations[name]
        built: Destination = settings.factory(name, settings.options, settings)
        return built
    return AppriseDestination(config.notifiers[name])


def build_destinations(config: Config, client: httpx.AsyncClient) -> dict[str, Destination]:
    """Every destination of ``config``, by name."""
    return {name: build_destination(config, name, client) for name in config.destinations}


def delivery_names(config: Config) -> list[str]:
    """Each destination's name, or for a notifier with several URLs each URL's (``desk[1]``).

    Deliveries are counted, logged and listed under these names; a URL itself never is.
    """
    names: list[str] = []
    for name in config.destinations:
        urls = config.notifiers[name].urls if name in config.notifiers else ()
        names += [url_target(name, i) for i in range(len(urls))] if len(urls) > 1 else [name]
    return names
