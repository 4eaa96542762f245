"""How one delivery attempt went, as a destination reports it to the workers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """The result of one send; ``error`` is short and free of secrets (it is logged)."""

    ok: bool
    error: str | None = None
    #: retrying cannot help (a 4xx other than 408/429, an unusable destination)
    permanent: bool = False
    #: the destination said 410 Gone: stop sending to it until the config is reloaded
    gone: bool = False
    #: seconds the destination asked us to wait (Retry-After on 429/503)
    retry_after: float | None = None
    status: int | None = None

    @classmethod
    def success(cls, status: int | None = None) -> AttemptResult:
        """A delivered message."""
        return cls(ok=True, status=status)

    @classmethod
    def failure(cls, error: str, **details: object) -> AttemptResult:
        """A failed attempt (retried unless ``permanent`` or ``gone`` is given)."""
        return cls(ok=False, error=error, **details)  # type: ignore[arg-type]
