"""``alert-bridge completion SHELL``: tab completion for bash, zsh and fish.

The scripts are generated from the argument parser itself, so a new command or option
completes as soon as it exists: commands, their subcommands (``outbox list``), their
options and the fixed choices of an option (``--log-format json``). Files complete
wherever an argument is not one of those.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field


@dataclass
class Command:
    """One command (or subcommand) as completion sees it."""

    name: str
    help: str = ""
    options: list[str] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)  # option -> its values
    positional_choices: list[str] = field(default_factory=list)
    subcommands: list[Command] = field(default_factory=list)


def describe(parser: argparse.ArgumentParser, name: str = "alert-bridge") -> Command:
    """The command tree under ``parser``."""
    command = Command(name, parser.description or "")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for sub_name, sub_parser in action.choices.items():
                sub = describe(sub_parser, sub_name)
                sub.help = helps.get(sub_name, "")
                command.subcommands.append(sub)
        elif action.option_strings:
            command.options.extend(o for o in action.option_strings if o.startswith("--"))
            if action.choices:
                for option in action.option_strings:
                    command.choices[option] = [str(c) for c in action.choices]
        elif action.choices:
            command.positional_choices.extend(str(c) for c in action.choices)
    return command


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell`` ("bash", "zsh" or "fish")."""
    tree = describe(parser)
    if shell == "fish":
        return _fish(tree)
    bash = _bash(tree)
    if shell == "zsh":  # zsh runs bash completion functions through bashcompinit
        return "autoload -U +X bashcompinit && bashcompinit\n" + bash
    return bash


def _words(*groups: list[str]) -> str:
    return " ".join(word for group in groups for word in group)


def _bash(tree: Command) -> str:
    lines = [
        "# alert-bridge completion for bash (and zsh through bashcompinit).",
        "# Install: alert-bridge completion bash > /etc/bash_completion.d/alert-bridge",
        "_alert_bridge() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local path="" word i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        case "$path $word" in',
    ]
    for command in tree.subcommands:
        lines.append(f'            " {command.name}") path="{command.name}" ;;')
        for sub in command.subcommands:
            lines.append(
                f'            "{command.name} {sub.name}") path="{command.name} {sub.name}" ;;'
            )
    lines += ["        esac", "    done", '    case "$path" in']
    for path, command in _walk(tree):
        lines.append(f'        "{path}")')
        for option, values in command.choices.items():
            lines.append(
                f'            if [[ "$prev" == "{option}" ]]; then '
                f'COMPREPLY=($(compgen -W "{_words(values)}" -- "$cur")); return; fi'
            )
        words = _words([c.name for c in command.subcommands], command.positional_choices)
        lines.append(
            f'            if [[ "$cur" == -* ]]; then '
            f'COMPREPLY=($(compgen -W "{_words(command.options)}" -- "$cur")); '
            f'else COMPREPLY=($(compgen -W "{words}" -- "$cur") '
            + ("" if words else '$(compgen -f -- "$cur")')
            + "); fi ;;"
        )
    lines += ["    esac", "}", "complete -o filenames -F _alert_bridge alert-bridge", ""]
    return "\n".join(lines)


def _walk(tree: Command) -> list[tuple[str, Command]]:
    """Every command with the words that lead to it ("" for the top)."""
    found = [("", tree)]
    for command in tree.subcommands:
        found.append((command.name, command))
        found.extend((f"{command.name} {sub.name}", sub) for sub in command.subcommands)
    return found


def _fish(tree: Command) -> str:
    lines = [
        "# alert-bridge completion for fish.",
        "# Install: alert-bridge completion fish > ~/.config/fish/completions/alert-bridge.fish",
        "complete -c alert-bridge -f",
    ]
    top = " ".join(c.name for c in tree.subcommands)
    for command in tree.subcommands:
        lines.append(
            f"complete -c alert-bridge -n 'not __fish_seen_subcommand_from {top}' "
            f"-a {command.name} -d {_fish_quote(command.help)}"
        )
        inside = f"__fish_seen_subcommand_from {command.name}"
        for sub in command.subcommands:
            lines.append(
                f"complete -c alert-bridge -n '{inside}' -a {sub.name} -d {_fish_quote(sub.help)}"
            )
        for cmd in [command, *command.subcommands]:
            for option in cmd.options:
                values = cmd.choices.get(option)
                extra = f" -x -a '{_words(values)}'" if values else ""
                lines.append(f"complete -c alert-bridge -n '{inside}' -l {option[2:]}{extra}")
            if cmd.positional_choices:
                lines.append(
                    f"complete -c alert-bridge -n '{inside}' -a '{_words(cmd.positional_choices)}'"
                )
        if not command.subcommands and not command.positional_choices:
            lines.append(f"complete -c alert-bridge -n '{inside}' -F")
    return "\n".join(lines) + "\n"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
