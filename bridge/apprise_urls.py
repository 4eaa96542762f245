"""Building an Apprise object from configured URLs, quietly (used at load and delivery)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any


def load_apprise(urls: Sequence[str]) -> tuple[Any, list[int]]:
    """An Apprise object with every usable URL added, and the indexes of those it rejected.

    Apprise URLs embed tokens, and Apprise logs what it rejects, URL included: its logger
    is muted meanwhile, and callers name rejected URLs by index only.
    """
    import apprise  # deferred: loading its plugins takes a while

    notifier = apprise.Apprise()
    library = logging.getLogger("apprise")
    was_disabled, library.disabled = library.disabled, True
    try:
        with warnings.catch_warnings():
            # Adding the first URL loads Apprise's plugins, one of which imports the
            # deprecated `imghdr`: Apprise's to fix, and nothing an operator can act on.
            warnings.simplefilter("ignore", DeprecationWarning)
            unusable = [i for i, url in enumerate(urls) if not notifier.add(url)]
    finally:
        library.disabled = was_disabled
    return notifier, unusable
