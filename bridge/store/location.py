"""Whether the service can use a ``state_dir``, found out without changing anything.

``check`` asks before the service ever runs, and ``run`` asks before it starts anything,
so that an unusable directory is one line naming the setting instead of an SQLite error
from deep inside the start-up.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from bridge.store.db import FILENAME

#: how to fix any of the problems below; systemd's StateDirectory= makes a fitting one
STATE_DIR_FIX = (
    "choose a directory this user can write, or make this one so (under systemd, "
    "StateDirectory= creates one and ReadWritePaths= opens another)"
)


def state_dir_problem(state_dir: Path) -> str | None:
    """Why the service could not keep its database in ``state_dir``, or None if it can.

    The directory must be writable, or creatable: its nearest existing ancestor is a
    writable directory. Nothing is created. ``os.access`` asks the kernel as the process
    would use it, so a read-only file system counts as not writable even for root.
    """
    path = Path(state_dir)
    try:
        if path.exists():
            return _existing_problem(path)
        for ancestor in path.absolute().parents:
            if ancestor.exists():
                if not ancestor.is_dir():
                    return f"cannot be created: {ancestor} is a file, not a directory"
                why = _not_writable(ancestor)
                return f"cannot be created: {ancestor} {why}" if why else None
    except OSError as exc:  # e.g. a parent this user may not enter
        return f"cannot be examined: {exc.strerror}"
    return None  # unreachable: the root directory always exists


def _existing_problem(path: Path) -> str | None:
    if not path.is_dir():
        return "exists and is not a directory"
    why = _not_writable(path)
    if why:
        return why
    database = path / FILENAME
    if database.exists() and not os.access(database, os.R_OK | os.W_OK):
        return f"holds {FILENAME}, which {_user()} cannot write"
    return None


def _not_writable(directory: Path) -> str | None:
    # Creating a file in a directory takes write and search (execute) permission on it.
    if os.access(directory, os.W_OK | os.X_OK):
        return None
    if os.statvfs(directory).f_flag & os.ST_RDONLY:
        return "is on a read-only file system"
    return f"is not writable by {_user()}"


def _user() -> str:
    uid = os.geteuid()
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:  # a uid without a name (a container, systemd's DynamicUser= offline)
        return f"uid {uid}"
