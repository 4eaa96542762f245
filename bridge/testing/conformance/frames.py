"""A recorded frame as the checks feed it, what feeding it gave, and its short preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.codec import dumps
from bridge.events import Event


@dataclass(frozen=True)
class Frame:
    label: str
    stream: str
    frame: Any


@dataclass
class Outcome:
    events: list[Event]
    data: bool  # classified as data (and normalized)
    error: str = ""  # the FrameError text, or skipped items


def preview(frame: Any, limit: int = 70) -> str:
    try:
        text = dumps(frame).decode()
    except TypeError:
        text = repr(frame)
    return text if len(text) <= limit else text[: limit - 3] + "..."
