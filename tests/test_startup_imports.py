"""`alert-bridge check` loads no HTTP client, no websocket library and no Apprise plugin.

Start-up time is measured in bench/startup.py; what keeps it low is which modules load,
which a test can pin without a clock: each run is a fresh interpreter that runs `check`
the way the console script does and lists what it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bridge.interpolation import PLACEHOLDER_APPRISE_URL

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "rules.example.toml"

# What `check` has no use for: the clients that send (httpx, aiohttp under it), venue
# streams (websockets), the delivery workers, and Apprise, whose first use imports its
# 100+ service plugins (the largest part of the time `check` used to take).
HEAVY = ("httpx", "httpx_aiohttp", "aiohttp", "websockets", "apprise", "bridge.delivery.deliverer")

_RUN_AND_LIST = """
import json, sys
from bridge.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def check_imports(*args: str) -> tuple[int, set[str]]:
    """Run `check ARGS` in a fresh interpreter: its exit code and every module it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return result["code"], set(result["modules"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_check_of_the_example_loads_no_client_and_no_apprise() -> None:
    code, modules = check_imports("-c", str(EXAMPLE), "--placeholders")
    assert code == 0
    assert "plugins.bitmusa" in modules  # the venues' plugins were loaded and checked
    assert heavy(modules) == []


def test_a_real_apprise_url_is_still_checked_by_apprise(tmp_path: Path) -> None:
    # Only the placeholder URL is spared Apprise; one written out in full is checked.
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bridge]\nstate_dir = "{tmp_path / "state"}"\n\n'
        f'[notifiers.desk]\nurls = ["{PLACEHOLDER_APPRISE_URL}", "nosuchservice://x/y"]\n\n'
        '[[rules]]\nname = "fills"\non = "fill"\nnotify = ["desk"]\n'
    )
    code, modules = check_imports("-c", str(config), "--placeholders")
    assert code == 2
    assert "apprise" in modules
    assert "httpx" not in modules
