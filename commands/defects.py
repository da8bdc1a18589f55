"""CLI commands (see cli.py, which registers everything in COMMANDS)."""

import click

COMMANDS: list[click.Command] = []
