"""The ``alert-bridge`` command line (DESIGN §3).

User errors print one line (what, where, how to fix) and exit non-zero without a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bridge import __version__
from bridge.codec import read_events
from bridge.config import LOG_LEVELS, Config, find_config, load_bridge_settings, load_config
from bridge.dryrun import dry_run
from bridge.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, ConfigError, UsageError, UserError
from bridge.interpolation import Placeholders
from bridge.units import quote_list


class _Parser(argparse.ArgumentParser):
    """argparse, with a wrong command line exiting EXIT_USAGE (64), not 2: 2 means an
    invalid config (DESIGN §3), and scripts must be able to tell the two apart."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="CONFIG",
        help="config file (default: $ALERT_BRIDGE_CONFIG, else "
        "/etc/alert-bridge/config.toml, else ./config.toml)",
    )


def _add_placeholders(parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup) -> None:
    # Offered only where nothing is sent: never for `run` or `notify-test`.
    parser.add_argument(
        "--placeholders",
        action="store_true",
        help="fill every ${VAR} and ${file:...} with a harmless placeholder that passes "
        "validation, set or not (try a config without its secrets; nothing real is read)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="alert-bridge",
        description="Alerts and signed webhooks from trading venues' account streams.",
    )
    parser.add_argument("--version", action="version", version=f"alert-bridge {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser("check", help="validate the config; exit 0 ok, 2 invalid")
    _add_config(check)
    _add_placeholders(check)
    _add_json(check)

    test = commands.add_parser("test", help="dry-run events through the rules; sends nothing")
    _add_config(test)
    _add_placeholders(test)
    test.add_argument(
        "events",
        metavar="EVENT.json",
        help="one event as JSON, or JSON Lines of many events ('-' for stdin)",
    )
    _add_json(test)
    test.add_argument(
        "--expect",
        nargs="+",
        metavar="RULE",
        default=[],
        help="exit 1 unless each named rule fires for at least one of the events "
        "(test your rules in your own CI)",
    )

    _add_outbox_commands(commands)
    notify_test = commands.add_parser(
        "notify-test", help="send a sample alert to one destination and report the outcome"
    )
    _add_config(notify_test)
    notify_test.add_argument(
        "destination", metavar="DEST", help="a [notifiers.*] or [webhooks.*] name"
    )

    run = commands.add_parser("run", help="run the service (foreground; systemd runs this)")
    _add_config(run)
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as readable text (default) or one JSON object each",
    )
    run.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        help="overrides [bridge] log_level (and $ALERT_BRIDGE_LOG_LEVEL), reloads included",
    )

    replay = commands.add_parser(
        "replay", help="feed recorded raw venue frames through normalize and rules"
    )
    _add_config(replay)
    replay.add_argument(
        "--venue",
        required=True,
        metavar="NAME",
        help="the [venues.NAME] whose plugin decodes the frames",
    )
    replay.add_argument("frames", metavar="FRAMES.jsonl", help="one raw frame per line")
    mode = replay.add_mutually_exclusive_group()
    mode.add_argument(
        "--send",
        action="store_true",
        help="commit matches to the outbox and deliver them (default: dry run)",
    )
    _add_placeholders(mode)  # a dry run only: nothing is ever sent with placeholder secrets

    plugins = commands.add_parser("plugins", help="installed plugins, venues and capabilities")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")

    completion = commands.add_parser(
        "completion", help="print a shell completion script (bash, zsh or fish)"
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))

    demo = commands.add_parser("demo", help="self-contained demo")
    demo.add_argument("--forever", action="store_true", help="keep running after the script")
    return parser


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="machine-readable output (docs/running.md)"
    )


def _add_outbox_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    outbox = commands.add_parser("outbox", help="inspect the delivery queue and dead letters")
    actions = outbox.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="pending jobs (or dead letters with --dead)")
    _add_config(listing)
    listing.add_argument("--dead", action="store_true", help="list the dead letters")
    _add_json(listing)
    retry = actions.add_parser("retry", help="make a job due now; revive dead letters")
    _add_config(retry)
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", metavar="ID", help="a job id from `outbox list`")
    which.add_argument("--all-dead", action="store_true", help="revive every dead letter")
    drop = actions.add_parser("drop", help="delete a job or dead letter for good")
    _add_config(drop)
    drop.add_argument("id", metavar="ID", help="a job id from `outbox list`")


def _load_config(
    args: argparse.Namespace,
    path: Path | None = None,
    *,
    runnable: bool = False,
    probe_state_dir: bool = False,
) -> Config:
    """The config; with ``--placeholders``, says on stderr which references were filled.

    ``runnable`` and ``probe_state_dir``: what :func:`load_config` should require besides.
    """
    path = find_config(args.config) if path is None else path
    if not getattr(args, "placeholders", False):
        return load_config(path, runnable=runnable, probe_state_dir=probe_state_dir)
    placeholders = Placeholders()
    try:
        config = load_config(
            path, placeholders=placeholders, runnable=runnable, probe_state_dir=probe_state_dir
        )
    except ConfigError:  # printed first: a problem may come from a placeholder
        print(f"alert-bridge {args.command}: {placeholders.report()}", file=sys.stderr)
        raise
    print(f"alert-bridge {args.command}: {placeholders.report()}", file=sys.stderr)
    return config


def cmd_check(args: argparse.Namespace) -> int:
    path = find_config(args.config)
    try:
        # What `run` needs: the same venues and rules, and a state_dir it can use.
        config = _load_config(args, path, runnable=True, probe_state_dir=True)
    except ConfigError as exc:
        if not args.json:
            raise
        problems = [{"path": p.path, "message": p.message} for p in exc.problems]
        _print_json({"config": str(path), "ok": False, "problems": problems})
        return exc.exit_code
    if args.json:
        _print_json({"config": str(path), "ok": True, "summary": config.counts()})
    else:
        print(f"{path}: ok: {config.summary()}")
    return EXIT_OK


def _print_json(document: object) -> None:
    from bridge.codec import dumps

    print(dumps(document).decode())


def cmd_test(args: argparse.Namespace) -> int:
    config = _load_config(args)
    if args.events == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.events).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.events}: cannot read events file: {exc.strerror}") from None
    unknown = [name for name in args.expect if name not in {r.name for r in config.rules}]
    if unknown:
        raise UsageError(f"--expect: no rule named {quote_list(unknown)} in the config")
    events = list(read_events(text))  # decode all first: a bad line aborts before any output
    summary = dry_run(config, events, sys.stdout, as_json=args.json)
    missing = [name for name in args.expect if name not in summary.matched_rules]
    for name in missing:
        print(f'alert-bridge test: expected rule "{name}" did not fire', file=sys.stderr)
    return EXIT_FAILURE if missing else EXIT_OK


def cmd_outbox(args: argparse.Namespace) -> int:
    from bridge.delivery import commands  # deferred: keeps `check` and `test` quick to start

    # Only [bridge] is read: the outbox stays reachable without the venues' secrets, and
    # while the rest of the config is broken (when it is most likely to be needed).
    store = commands.open_store(load_bridge_settings(find_config(args.config)).state_dir)
    try:
        if args.outbox_command == "list":
            return commands.list_jobs(store, sys.stdout, dead=args.dead, as_json=args.json)
        if args.outbox_command == "retry":
            return commands.retry(store, sys.stdout, None if args.all_dead else args.id)
        return commands.drop(store, sys.stdout, args.id)
    finally:
        store.close()


def cmd_notify_test(args: argparse.Namespace) -> int:
    from bridge.delivery import commands  # deferred: keeps `check` and `test` quick to start

    config = load_config(find_config(args.config))
    return commands.notify_test(config, args.destination, sys.stdout)


def cmd_run(args: argparse.Namespace) -> int:
    from bridge.runtime.runner import run

    return run(find_config(args.config), args.log_format, args.log_level)


def cmd_replay(args: argparse.Namespace) -> int:
    from bridge.replay import replay

    config = _load_config(args)
    return replay(config, args.venue, Path(args.frames), send=args.send, out=sys.stdout)


def cmd_plugins(args: argparse.Namespace) -> int:
    from bridge.plugin_list import print_plugins

    return print_plugins(sys.stdout, as_json=args.json)


def cmd_completion(args: argparse.Namespace) -> int:
    from bridge.completion import script

    print(script(build_parser(), args.shell), end="")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from bridge.demo import run_demo

    return run_demo(sys.stdout, forever=args.forever)


# Placeholders for the variables rules.example.toml names (used to check the example).
EXAMPLE_VARIABLES = {
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

COMMANDS = {
    "run": cmd_run,
    "replay": cmd_replay,
    "plugins": cmd_plugins,
    "check": cmd_check,
    "test": cmd_test,
    "demo": cmd_demo,
    "outbox": cmd_outbox,
    "notify-test": cmd_notify_test,
    "completion": cmd_completion,
}


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
