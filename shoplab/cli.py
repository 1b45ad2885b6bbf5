"""The ``shoplab`` command line: one entry point for the stack, faults, load and gates."""

from __future__ import annotations

import importlib

import click

# Each module below defines one click command or group named ``command``.
# Add yours here (one line); keep the list sorted.
COMMAND_MODULES: list[str] = [
    "shoplab.commands.audit",
    "shoplab.commands.console",
    "shoplab.commands.explore",
    "shoplab.commands.fault",
    "shoplab.commands.gate",
    "shoplab.commands.lab",
    "shoplab.commands.load",
    "shoplab.commands.profile",
    "shoplab.commands.run",
    "shoplab.commands.stack",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """shoplab: measure what resilience patterns do to a Flask shop under faults."""


def _register() -> None:
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        for command in getattr(module, "COMMANDS", [getattr(module, "command", None)]):
            if command is not None:
                cli.add_command(command)


def main() -> None:
    """Run the command line."""
    _register()
    cli()
