"""Commands about the suite itself: `doctor` (is everything in place?) and `completion`."""

from __future__ import annotations

import json
import sys

import click

from moesuite.commands.context import pass_settings
from moesuite.settings import Settings

SHELLS = ("bash", "zsh", "fish")


@click.command("doctor")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 30),
    default=1.5,
    show_default=True,
    help="Seconds to wait for each server.",
)
@pass_settings
def doctor(settings: Settings, fmt: str, timeout: float) -> None:
    """Settings in force and where each came from, servers, models, threads and GPU.

    Exit 0 when every configured server answers and every shipped model is present, else 1.
    """
    from moesuite.doctor import format_report, run_doctor

    report = run_doctor(settings, timeout=timeout)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(format_report(report))
    sys.exit(0 if report.ok else 1)


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    \b
    bash:  eval "$(moesuite completion bash)"        (in ~/.bashrc)
    zsh:   eval "$(moesuite completion zsh)"         (in ~/.zshrc)
    fish:  moesuite completion fish > ~/.config/fish/completions/moesuite.fish
    """
    from click.shell_completion import get_completion_class

    from moesuite.cli import cli

    completer = get_completion_class(shell)
    assert completer is not None  # click ships all three
    click.echo(completer(cli, {}, "moesuite", "_MOESUITE_COMPLETE").source())


COMMANDS: list[click.Command] = [doctor, completion]
