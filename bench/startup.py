"""Benchmark: how long `alert-bridge check` takes from exec to exit (mostly imports).

Run: .venv/bin/python bench/startup.py [--runs N] [-- COMMAND ARGS...]
Default command: alert-bridge check -c rules.example.toml --placeholders (from the
repository's root). Each run is a fresh process; one warm-up run first (it writes the
byte-code caches). Prints the median, min and max wall time.
Target (issue #15): median of 10 at most 250 ms.

`python -X importtime -m bridge.cli check ...` shows which imports the time goes to.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = str(Path(sys.executable).parent / "alert-bridge")
DEFAULT = [EXE, "check", "-c", str(ROOT / "rules.example.toml"), "--placeholders"]
TARGET_MS = 250.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``; a failing command stops the bench.

    CPU time (user + system) is reported too: on a busy machine the wall time mostly
    measures the other processes, the CPU time much less so.
    """
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr.decode()}")
    return elapsed, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("command", nargs="*", help="the command to time (default: check)")
    args = parser.parse_args()
    command = args.command or DEFAULT
    time_once(command)  # warm-up: byte-code caches, page cache
    runs = [time_once(command) for _ in range(args.runs)]
    wall = sorted(w * 1000 for w, _ in runs)
    cpu = sorted(c * 1000 for _, c in runs)
    median = statistics.median(wall)
    print(f"startup: {' '.join([Path(command[0]).name, *command[1:]])}")
    print(
        f"startup: wall median {median:.0f} ms over {args.runs} runs "
        f"(min {wall[0]:.0f}, max {wall[-1]:.0f}); CPU median {statistics.median(cpu):.0f} ms; "
        f"target <= {TARGET_MS:.0f} ms: {'ok' if median <= TARGET_MS else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
