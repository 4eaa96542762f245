"""Files and places the service cannot use, through the real ``check`` and ``run``.

Each is one line on stderr naming what is wrong, where, and the fix; never a traceback.
``check`` exits 2 (an invalid config), ``run`` exits 1 (the CLI's user-error code)
when what is wrong lies outside the file: the HTTP port, the state directory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE_CONFIG

EXE = str(Path(sys.executable).parent / "alert-bridge")

RULE = """
[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
"""


def cli(*args: str, wrapper: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it (``wrapper`` goes in front)."""
    return subprocess.run(
        [*wrapper, EXE, *args], capture_output=True, text=True, timeout=30, check=False
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The only line on stderr: nothing else was printed, and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.rstrip("\n")


def config(tmp_path: Path, *, state_dir: Path, http: str = "", rules: str = RULE) -> Path:
    path = tmp_path / "config.toml"
    text = BASE_CONFIG.format(state_dir=state_dir).replace('http = ""', f'http = "{http}"')
    path.write_text(text + rules)
    path.chmod(0o600)  # it holds (fake) secrets: `run` would warn about a readable file
    return path


def _can_mount_privately() -> bool:
    """Whether ``unshare`` can give a command a mount namespace of its own (see below)."""
    try:
        probe = subprocess.run(
            ["unshare", "--mount", "--map-root-user", "true"], capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def read_only(directory: Path) -> tuple[str, ...]:
    """A prefix that runs a command with ``directory`` as an empty read-only file system.

    The tests run as root, and root writes wherever permissions say it may not, so a
    chmod cannot make a directory unwritable; a read-only mount stops root too. It lives
    in a private mount namespace (``unshare``), so the host never sees it.
    """
    script = 'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"'
    return ("unshare", "--mount", "--map-root-user", "sh", "-c", script, "sh", str(directory))


needs_mounts = pytest.mark.skipif(
    not _can_mount_privately(), reason="unshare cannot create a mount namespace here"
)


# -- check: the file itself ---------------------------------------------------------


def test_check_on_a_binary_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")  # a picture, passed by mistake
    result = cli("check", "-c", str(path))
    assert result.returncode == 2
    assert one_line(result) == (
        f"alert-bridge check: error: {path}: a binary file (it contains NUL bytes), not "
        "TOML text; point -c at the config file, saved as UTF-8 text"
    )


def test_check_on_a_latin1_file_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = BASE_CONFIG.format(state_dir=tmp_path / "state") + RULE + 'title = "Dépôt"\n'
    path.write_bytes(text.encode("latin-1"))
    line = text.count("\n", 0, text.index("Dépôt")) + 1
    result = cli("check", "-c", str(path))
    assert result.returncode == 2
    assert one_line(result) == (
        f"alert-bridge check: error: {path}: line {line}: byte 0xe9 is not UTF-8, which "
        "TOML requires; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
    )


def test_check_on_an_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# nothing here yet\n")
    result = cli("check", "-c", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[1] == (
        f"{path}: no settings at all (an empty or truncated file?); the service needs at "
        "least one [venues.NAME] table and one [[rules]] (rules.example.toml shows both)"
    )


def test_check_on_a_config_without_rules_says_so(tmp_path: Path) -> None:
    path = config(tmp_path, state_dir=tmp_path / "state", rules="")
    result = cli("check", "-c", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"alert-bridge check: {path} is invalid (1 problem):",
        f"{path}: rules: none configured, so no event would ever alert anyone; add a "
        "[[rules]] table (see rules.example.toml)",
    ]


# -- check: the state directory --------------------------------------------------------


def test_check_accepts_a_state_dir_it_could_create_and_creates_nothing(tmp_path: Path) -> None:
    state = tmp_path / "not" / "yet" / "state"
    result = cli("check", "-c", str(config(tmp_path, state_dir=state)))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "not").exists()


def test_check_refuses_a_state_dir_under_a_file(tmp_path: Path) -> None:
    # A regular file where a parent directory should be: nobody, root included, can
    # create the state directory there.
    (tmp_path / "data").write_text("not a directory\n")
    state = tmp_path / "data" / "state"
    path = config(tmp_path, state_dir=state)
    result = cli("check", "-c", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines()[1].startswith(
        f'{path}: bridge.state_dir: "{state}" cannot be created: {tmp_path / "data"} is a '
        "file, not a directory; choose a directory this user can write"
    )


@needs_mounts
def test_check_refuses_a_read_only_state_dir(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    path = config(tmp_path, state_dir=mount)
    result = cli("check", "-c", str(path), wrapper=read_only(mount))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[1].startswith(
        f'{path}: bridge.state_dir: "{mount}" is on a read-only file system; choose'
    )
    path = config(tmp_path, state_dir=mount / "state")  # and one to create in there
    result = cli("check", "-c", str(path), wrapper=read_only(mount))
    assert result.returncode == 2, result.stderr
    assert f'"{mount / "state"}" cannot be created: {mount} is on a read-only' in result.stderr


# -- run: what lies outside the file --------------------------------------------------


def test_run_with_the_http_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as other:  # the "other process" holding the port
        other.bind(("127.0.0.1", 0))
        other.listen()
        address = f"127.0.0.1:{other.getsockname()[1]}"
        path = config(tmp_path, state_dir=tmp_path / "state", http=address)
        result = cli("run", "-c", str(path))
    assert result.returncode == 1
    assert one_line(result) == (
        f'alert-bridge run: error: [bridge] http = "{address}": address in use; choose '
        'another port or stop the other process, or set http = "" to turn the endpoint off'
    )


def test_run_with_a_state_dir_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory\n")
    state = tmp_path / "data" / "state"
    result = cli("run", "-c", str(config(tmp_path, state_dir=state)))
    assert result.returncode == 1
    assert one_line(result).startswith(
        f'alert-bridge run: error: [bridge] state_dir = "{state}" cannot be created: '
        f"{tmp_path / 'data'} is a file, not a directory; choose a directory this user can "
        "write, or make this one so (under systemd, StateDirectory= creates one"
    )


@needs_mounts
def test_run_with_a_read_only_state_dir_is_one_line(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    result = cli("run", "-c", str(config(tmp_path, state_dir=mount)), wrapper=read_only(mount))
    assert result.returncode == 1
    assert one_line(result).startswith(
        f'alert-bridge run: error: [bridge] state_dir = "{mount}" is on a read-only file '
        "system; choose a directory this user can write"
    )


def test_run_with_a_damaged_state_database_is_one_line(tmp_path: Path) -> None:
    # The directory is fine, so only opening the database (inside the running service's
    # task groups) finds out: that error too must come out as one line.
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.sqlite3").write_bytes(os.urandom(4096))
    result = cli("run", "-c", str(config(tmp_path, state_dir=state)))
    assert result.returncode == 1
    assert one_line(result) == (
        f"alert-bridge run: error: {state / 'state.sqlite3'}: cannot open the state "
        "database: file is not a database; move the damaged file aside (the service "
        "starts with an empty state) or restore it from a backup"
    )
