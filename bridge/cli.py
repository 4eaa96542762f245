"""The ``alert-bridge`` command line (DESIGN §3).

User errors print one line (what, where, how to fix) and exit non-zero without a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bridge import __version__
from bridge.codec import read_events
from bridge.config import find_config, load_config
from bridge.dryrun import dry_run
from bridge.errors import ConfigError, UserError

REPO_ROOT = Path(__file__).resolve().parent.parent


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="CONFIG",
        help="config file (default: $ALERT_BRIDGE_CONFIG, else "
        "/etc/alert-bridge/config.toml, else ./config.toml)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alert-bridge",
        description="Alerts and signed webhooks from trading venues' account streams.",
    )
    parser.add_argument("--version", action="version", version=f"alert-bridge {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser("check", help="validate the config; exit 0 ok, 2 invalid")
    _add_config(check)

    test = commands.add_parser("test", help="dry-run events through the rules; sends nothing")
    _add_config(test)
    test.add_argument(
        "events",
        metavar="EVENT.json",
        help="one event as JSON, or JSON Lines of many events ('-' for stdin)",
    )

    demo = commands.add_parser("demo", help="self-contained demo")
    demo.add_argument("--forever", action="store_true", help="keep running after the script")
    return parser


def cmd_check(args: argparse.Namespace) -> int:
    path = find_config(args.config)
    config = load_config(path)
    print(f"{path}: ok: {config.summary()}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    config = load_config(find_config(args.config))
    if args.events == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.events).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{args.events}: cannot read events file: {exc.strerror}") from None
    events = list(read_events(text))  # decode all first: a bad line aborts before any output
    dry_run(config, events, sys.stdout)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    # Until the runtime exists (#4) the demo validates the example config and dry-runs the
    # sample events through it; it says so, rather than pretending to connect anywhere.
    example = REPO_ROOT / "rules.example.toml"
    events = REPO_ROOT / "examples" / "events.jsonl"
    if not example.exists() or not events.exists():
        raise UserError(f"the demo needs {example} and {events} from a source checkout")
    for name in DEMO_VARIABLES:
        os.environ.setdefault(name, DEMO_VARIABLES[name])
    print(
        "alert-bridge demo: the live demo (simulated venue, local sinks) arrives with the "
        "runtime;\nfor now: `alert-bridge check` and `alert-bridge test` on the example "
        "config.\n"
    )
    print(f"$ alert-bridge check -c {example.name}")
    cmd_check(argparse.Namespace(config=str(example)))
    print(f"\n$ alert-bridge test -c {example.name} examples/{events.name}")
    return cmd_test(argparse.Namespace(config=str(example), events=str(events)))


# Placeholder credentials for the demo: the example config names these variables.
DEMO_VARIABLES = {
    "GATE_KEY": "demo-gate-key",
    "GATE_SECRET": "demo-gate-secret",
    "GATE_UNIFIED_KEY": "demo-unified-key",
    "GATE_UNIFIED_SECRET": "demo-unified-secret",
    "BITMUSA_API_KEY": "demo-bitmusa-key",
    "BITMUSA_AUTH_KEY": "demo-bitmusa-auth",
    "BITOPRO_KEY": "demo-bitopro-key",
    "BITOPRO_SECRET": "demo-bitopro-secret",
    "BITOPRO_IDENTITY": "demo@example.com",
    "SKINSHARK_API_KEY": "sk_live_demo",
    "SKINSHARK_SUB_USER": "demo-sub-user",
    "DESK_APPRISE_URL": "json://127.0.0.1:8999/alerts",
    "OPS_WEBHOOK_SECRET": "whsec_ZGVtby1zZWNyZXQtZm9yLXRoZS1kZW1vLW9ubHk=",
}

COMMANDS = {"check": cmd_check, "test": cmd_test, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        count = len(exc.problems)
        print(
            f"alert-bridge {args.command}: {exc.source} is invalid "
            f"({count} problem{'s' if count != 1 else ''}):",
            file=sys.stderr,
        )
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except UserError as exc:
        print(f"alert-bridge {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
