"""The machine's own systemd as PID 1 of private namespaces, for tests of the shipped unit.

``Machine`` boots ``/lib/systemd/systemd`` in fresh mount, PID, UTS, IPC, network and
cgroup namespaces, on a throw-away overlay of the host's root. The overlay's upper layer
is a tmpfs inside the namespace (an upper layer cannot sit on an overlayfs, as a
container's root often is), seeded with the files the test placed before boot (the unit,
credentials, the service's venv); every mount vanishes with the namespace. The
network namespace has only its own loopback, so fixed ports never collide with the host's
and processes that must talk to the service run inside it (``Machine.popen_in_network``).

It needs root (CAP_SYS_ADMIN) and a cgroup2 hierarchy; ``unavailable()`` says why not.

Things learnt the hard way, each handled below:
- systemd leaves mount propagation to its container manager; without ``/`` made shared,
  ``LoadCredential=`` hands the service an EMPTY credentials directory, without an error
  from systemd.
- ``ProtectHome=yes`` hides /root, /home and /run/user from the service, so its Python
  must live elsewhere (a pyenv or a checkout under /root cannot serve).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TypeVar

SYSTEMD = Path("/lib/systemd/systemd")
REPO = Path(__file__).resolve().parent.parent
# Where the unit's ExecStart= looks (systemd/alert-bridge.service).
VENV = Path("/opt/alert-bridge/venv")
T = TypeVar("T")
# Paths ProtectHome=yes makes inaccessible to the service.
HIDDEN = (Path("/root"), Path("/home"), Path("/run/user"))
# Paths PrivateTmp=yes replaces with the service's own empty ones.
PRIVATE = (Path("/tmp"), Path("/var/tmp"))
# The boot pulls in only what the unit needs (sysinit, journald, sockets), not the host's
# multi-user services; `systemctl start` brings the unit's own dependencies.
BOOT_TARGET = "basic.target"
# Every namespace but the user's (systemd runs as the real root); --fork: the child is PID 1.
UNSHARE = ["--mount", "--propagation", "private", "--uts", "--ipc", "--net", "--pid"]
UNSHARE += ["--cgroup", "--fork", "--"]
# Services that wait for a routable network: the machine has loopback only, so they would
# hold up network-online.target (which the unit wants) until they time out.
WAIT_ONLINE = (
    "systemd-networkd-wait-online.service",
    "NetworkManager-wait-online.service",
    "ifupdown-wait-online.service",
)


def _hidden(path: Path) -> bool:
    return any(path == h or h in path.parents for h in HIDDEN)


def _private(path: Path) -> bool:
    path = path.resolve()
    return any(path == p or p in path.parents for p in PRIVATE)


def _unreadable(path: Path) -> bool:
    """Whether another user (the service's dynamic one) cannot reach and read ``path``."""
    if path.stat().st_mode & 0o005 != 0o005:
        return True
    return any(parent.stat().st_mode & 0o001 == 0 for parent in path.parents)


def _site_packages() -> Path:
    """The running venv's site-packages: the project is installed there (editable)."""
    return Path(sysconfig.get_paths()["purelib"])


def service_python() -> Path | None:
    """An interpreter of the running Python's version the service can see and execute."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        Path(sys.base_prefix) / "bin" / f"python{version}",
        Path("/usr/local/bin") / f"python{version}",
        Path("/usr/bin") / f"python{version}",
    ]
    for candidate in candidates:
        # A pyenv build under /root also links its libpython from there: the real path
        # of the file is what decides.
        if candidate.exists() and not _hidden(candidate.resolve()):
            return candidate.resolve()
    return None


def _cgroup2_root() -> Path | None:
    """The host's cgroup2 mount: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid)."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == "cgroup2":
            return Path(fields[1])
    return None


def unavailable() -> str | None:
    """Why a systemd cannot be booted here (one line), or None if it can."""
    if sys.platform != "linux":
        return "booting systemd in namespaces needs Linux"
    if os.geteuid() != 0:
        return "booting systemd in private namespaces needs root (CAP_SYS_ADMIN); CI runs as root"
    if not SYSTEMD.exists():
        return f"{SYSTEMD} is not installed (Debian package systemd)"
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package util-linux)"
    if _cgroup2_root() is None:
        return "no cgroup2 hierarchy is mounted, and systemd needs one"
    for path in (REPO, _site_packages()):
        if _hidden(path):
            return f"{path} is under a directory ProtectHome=yes hides from the service"
        if _private(path):
            return f"{path} is under /tmp, which PrivateTmp=yes replaces for the service"
        if _unreadable(path):
            return f"{path} is not readable by other users, as the service's user is"
    if service_python() is None:
        return f"no Python {sys.version_info.major}.{sys.version_info.minor} outside /root, /home"
    # Namespaces, and an overlay of / with a tmpfs upper layer, as boot() makes them.
    overlay = (
        "mount -t tmpfs tmpfs /mnt && mkdir /mnt/u /mnt/w /mnt/m && "
        "mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/u,workdir=/mnt/w /mnt/m"
    )
    probe = subprocess.run(
        ["unshare", *UNSHARE, "/bin/sh", "-c", overlay],
        capture_output=True,
        timeout=20,
        check=False,
    )
    if probe.returncode != 0:
        return "cannot create namespaces here: " + probe.stderr.decode(errors="replace").strip()
    return None


def _boot_script(directory: Path, seed: Path) -> str:
    """The shell that runs as PID 1 of the new namespaces and execs systemd."""
    binds = sorted({REPO, Path(sys.prefix)})
    d = shlex.quote(str(directory))
    lines = [
        "set -e",
        f"R={d}/merged",
        f"mount -t tmpfs -o mode=755,size=256m tmpfs {d}/rw",
        f"mkdir {d}/rw/upper {d}/rw/work",
        f"cp -a {shlex.quote(str(seed))}/. {d}/rw/upper/",
        f"mount -t overlay overlay -o lowerdir=/,upperdir={d}/rw/upper,workdir={d}/rw/work $R",
        # The checkout and its venv at their own paths (the editable install names them),
        # read-only, whatever file system they are on.
        *(
            f'mkdir -p "$R{p}" && mount --bind {shlex.quote(str(p))} "$R{p}" '
            f'&& mount -o remount,bind,ro "$R{p}"'
            for p in binds
        ),
        "mount -t proc proc $R/proc",
        "mount -t sysfs -o ro sysfs $R/sys",
        # A fresh cgroup2, rooted at the cgroup this process was started in.
        "mount -t cgroup2 cgroup2 $R/sys/fs/cgroup",
        # A private /dev with the usual nodes; the console is a file the test can read.
        "mount -t tmpfs -o mode=755,size=16m tmpfs $R/dev",
        "for n in null zero full random urandom tty; do"
        " touch $R/dev/$n; mount --bind /dev/$n $R/dev/$n; done",
        f"touch $R/dev/console; mount --bind {d}/console.log $R/dev/console",
        "mkdir $R/dev/pts $R/dev/shm",
        "mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts $R/dev/pts",
        "ln -s pts/ptmx $R/dev/ptmx; ln -s /proc/self/fd $R/dev/fd",
        "ln -s /proc/self/fd/0 $R/dev/stdin; ln -s /proc/self/fd/1 $R/dev/stdout",
        "ln -s /proc/self/fd/2 $R/dev/stderr",
        "mount -t tmpfs -o mode=1777 tmpfs $R/tmp",
        "mount -t tmpfs -o mode=755 tmpfs $R/run",
        "cd $R; mkdir -p .oldroot; pivot_root . .oldroot; umount -l /.oldroot; rmdir /.oldroot",
        # See the module docstring: without it LoadCredential= silently loads nothing.
        "mount --make-rshared /",
        "hostname alert-bridge-test",
        f"exec env -i container=alert-bridge-test {SYSTEMD} --unit={BOOT_TARGET}"
        " --log-target=journal-or-kmsg",
    ]
    return "\n".join(lines) + "\n"


class Machine:
    """A booted systemd; ``run`` executes commands inside it as root."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Copied into the overlay's upper layer at boot: put() writes here.
        self.upper = directory / "seed"
        self.console = directory / "console.log"
        cgroup2 = _cgroup2_root()
        assert cgroup2 is not None
        self.cgroup = cgroup2 / f"alert-bridge-test-{uuid.uuid4().hex[:8]}"
        self.launcher: subprocess.Popen[bytes] | None = None
        self.pid1 = 0

    # ------------------------------------------------------------------ before boot

    def put(self, path: str, content: str | bytes, mode: int = 0o644) -> Path:
        """Place a file in the machine's root before it boots (seeding the overlay's upper)."""
        target = self.upper / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        target.chmod(mode)
        return target

    def install_service_venv(self) -> None:
        """A venv at the unit's path whose Python finds this checkout's installed project.

        The test's own venv may run a Python the service cannot see (pyenv under /root), so
        this one points at an interpreter of the same version outside the hidden paths and
        adds the test venv's site-packages (with its editable install) through a .pth.
        """
        python = service_python()
        assert python is not None
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        venv = self.upper / str(VENV).lstrip("/")
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "python").symlink_to(python)
        self.put(
            f"{VENV}/pyvenv.cfg",
            f"home = {python.parent}\ninclude-system-site-packages = false\n"
            f"version = {sys.version_info.major}.{sys.version_info.minor}."
            f"{sys.version_info.micro}\n",
        )
        self.put(
            f"{VENV}/lib/python{version}/site-packages/alert_bridge_checkout.pth",
            f"import site; site.addsitedir({str(_site_packages())!r})\n",
        )
        self.put(
            f"{VENV}/bin/alert-bridge",
            f"#!{VENV}/bin/python\nimport sys\n\nfrom bridge.cli import main\n\nsys.exit(main())\n",
            mode=0o755,
        )

    # ------------------------------------------------------------------ life cycle

    def boot(self, within: float = 30) -> None:
        """Start systemd and return once its start-up transaction has finished."""
        for d in (self.upper, self.directory / "rw", self.directory / "merged"):
            d.mkdir(parents=True, exist_ok=True)
        # The machine-id is generated at boot when the file is empty.
        self.put("/etc/machine-id", "")
        self.put("/etc/hostname", "alert-bridge-test\n")
        for unit in WAIT_ONLINE:
            mask = self.upper / "etc/systemd/system" / unit
            mask.parent.mkdir(parents=True, exist_ok=True)
            mask.symlink_to("/dev/null")
        self.console.touch()
        self.cgroup.mkdir()
        script = _boot_script(self.directory, self.upper)
        # Enter the new cgroup before unsharing, so the cgroup namespace is rooted there
        # and poweroff leaves nothing behind but the (then empty) directory.
        # The child keeps its own copy of the descriptor; ours is closed at once.
        with open(self.directory / "boot.out", "wb") as output:
            self.launcher = self._launch(script, output)
        deadline = time.monotonic() + within
        self.pid1 = self._wait(self._systemd_pid, deadline, "systemd to start as PID 1")
        # The bus socket appears a moment after exec; is-system-running --wait then blocks
        # until the boot transaction is done.
        state = self._wait(self._system_state, deadline, "systemd's boot to finish")
        if state not in ("running", "degraded"):
            raise AssertionError(f"systemd booted into state {state!r}:\n{self.diagnostics()}")

    def _launch(self, script: str, output: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                "/bin/sh",
                "-c",
                'echo $$ > "$1/cgroup.procs" && shift && exec "$@"',
                "launcher",
                str(self.cgroup),
                "unshare",
                *UNSHARE,
                "/bin/sh",
                "-c",
                script,
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _systemd_pid(self) -> int | None:
        assert self.launcher is not None
        if self.launcher.poll() is not None:
            raise AssertionError(f"the boot failed:\n{self.diagnostics()}")
        children = Path(f"/proc/{self.launcher.pid}/task/{self.launcher.pid}/children")
        try:
            pids = children.read_text().split()
            if pids and Path(f"/proc/{pids[0]}/comm").read_text().strip() == "systemd":
                return int(pids[0])
        except OSError:
            pass
        return None

    def _system_state(self) -> str | None:
        result = self.run("systemctl", "is-system-running", "--wait", check=False)
        state = result.stdout.strip()
        # "offline" until PID 1 has created /run/systemd/system (systemctl's test of being
        # booted with systemd), then a bus error until its socket listens.
        if not state or state == "offline" or "Failed to connect" in result.stderr:
            return None
        return state

    def _wait(self, probe: Callable[[], T | None], deadline: float, what: str) -> T:
        # Nothing inside the namespaces can signal us before systemd's bus is up: poll.
        while time.monotonic() < deadline:
            value = probe()
            if value is not None:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}:\n{self.diagnostics()}")

    def poweroff(self, within: float = 20) -> None:
        """Shut systemd down (SIGRTMIN+4: poweroff), SIGKILL if it hangs; remove the cgroup."""
        if self.launcher is None:
            return
        if self.pid1 and self.launcher.poll() is None:
            os.kill(self.pid1, signal.SIGRTMIN + 4)
        try:
            self.launcher.wait(timeout=within if self.pid1 else 0)
        except subprocess.TimeoutExpired:
            # Killing PID 1 of a PID namespace kills every process in it; before systemd
            # runs, the launcher's process group holds all there is.
            if self.pid1:
                os.kill(self.pid1, signal.SIGKILL)
            else:
                os.killpg(self.launcher.pid, signal.SIGKILL)
            self.launcher.wait(timeout=10)
        for directory in sorted(self.cgroup.rglob("*"), reverse=True):
            if directory.is_dir():
                directory.rmdir()
        self.cgroup.rmdir()

    # ------------------------------------------------------------------ inside

    def command(self, *argv: str) -> list[str]:
        """``argv`` as run inside every namespace of the machine, as root, in its root."""
        return [
            "nsenter",
            "-t",
            str(self.pid1),
            "--all",
            "--root",
            "--wd",
            "--",
            "env",
            "-i",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "SYSTEMD_PAGER=",
            "SYSTEMD_COLORS=0",
            "LC_ALL=C.UTF-8",
            *argv,
        ]

    def run(
        self, *argv: str, input: str | None = None, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(*argv),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{shlex.join(argv)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result

    def write(self, path: str, content: str, mode: str = "0644") -> None:
        """Write a file inside the running machine (the overlay must not be changed under it)."""
        self.run("install", "-D", "-m", mode, "/dev/stdin", path, input=content)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """``systemctl show`` properties of ``unit``."""
        out = self.run("systemctl", "show", unit, "-p", ",".join(properties)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(
        self, unit: str, condition: Callable[[dict[str, str]], bool], within: float
    ) -> dict[str, str]:
        """Poll the unit's state until ``condition`` holds on it; return that state."""
        properties = ("ActiveState", "SubState", "Result", "MainPID", "NRestarts", "StatusText")
        deadline = time.monotonic() + within
        state = self.show(unit, *properties)
        while not condition(state):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{unit} never reached the state awaited; last: {state}\n"
                    + self.run("journalctl", "-u", unit, "--no-pager", check=False).stdout
                )
            time.sleep(0.1)
            state = self.show(unit, *properties)
        return state

    def popen_in_network(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[str]:
        """Start a host process (host files, host Python) inside the machine's network."""
        return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
            ["nsenter", "-t", str(self.pid1), "--net", "--", *argv], text=True, **kwargs
        )

    def diagnostics(self) -> str:
        parts = []
        for name in ("boot.out", "console.log"):
            path = self.directory / name
            if path.exists():
                parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)
