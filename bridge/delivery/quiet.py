"""Keep libraries that log URLs at low levels from writing secrets into our logs.

Apprise (debug) and urllib3 (debug) log request URLs, which for Telegram, Slack and
most services contain the token; httpx logs every request URL at info, and a webhook
URL can carry a token too. Their low levels are switched off; warnings still show.
"""

from __future__ import annotations

import logging

QUIETER = {"httpx": logging.WARNING, "httpcore": logging.INFO, "apprise": logging.INFO}
QUIETER["urllib3"] = logging.INFO


def quiet_libraries() -> None:
    """Raise the level of the loggers in QUIETER (never lowers a stricter level)."""
    for name, level in QUIETER.items():
        logger = logging.getLogger(name)
        if logger.level < level:
            logger.setLevel(level)
