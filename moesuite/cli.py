"""moesuite command line: one click group; the commands live in moesuite/commands/<area>.py.

Start-up is lazy: the group knows each command's module and one-line help from the table below,
so ``moesuite --help``, shell completion and ``moesuite review next`` import only what they use
(pandas, torch, Celery and scikit-learn cost seconds on a busy machine). A new command needs a
line in ``COMMANDS``; tests/test_cli.py checks the table against the modules.

Exit codes follow ruff: 0 done, 1 findings or nothing to do, 2 a usage or input error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import click

from codeassist.errors import CodeassistError
from core_model.errors import CoreModelError
from fraud.errors import FraudError
from moesuite.extras import missing_extra_message
from moesuite.progress import quiet_option, set_quiet
from moesuite.settings import SettingsError, load_settings
from moesuite.third_party import silence_third_party
from workers.errors import WorkersError

_DOMAIN_ERRORS = (CoreModelError, FraudError, CodeassistError, WorkersError, SettingsError)


@dataclass(frozen=True)
class CommandEntry:
    """Where a top-level command lives and the help line `moesuite --help` shows for it."""

    module: str
    attr: str
    short_help: str


_M = "moesuite.commands."
# name -> (module, attribute, the command's own short help); kept equal to the modules by a test.
# fmt: off
COMMANDS: Mapping[str, CommandEntry] = {
    name: CommandEntry(_M + module, attr, short_help)
    for name, module, attr, short_help in [
        ("calibrate-defects", "defects", "calibrate_defects",
         "Set the learned detector's default threshold on packages it was not trained on."),
        ("completion", "meta", "completion",
         "Print the shell completion script for bash, zsh or fish."),
        ("db", "review", "db", "The review database's schema."),
        ("detect-defects", "defects", "detect_defects",
         "Find likely bugs in PATHS (files, directories, - for stdin)."),
        ("doctor", "meta", "doctor",
         "Settings in force and where each came from, servers, models, threads and GPU."),
        ("evaluate-defects", "defects", "evaluate_defects",
         "Precision, recall, ROC-AUC per bug kind and false alarms on held-out packages; with "
         "--fixes, hits and flagged fixed files on real bug fixes of held-out repositories."),
        ("evaluate-fraud", "fraud", "evaluate_fraud_command",
         "Measure a bundle on the labelled rows of FILE in [--from, --to]."),
        ("jobs", "jobs", "jobs", "Submit distributed jobs to the workers and follow them."),
        ("mine-fixes", "defects", "mine_fixes",
         "Extract small bug fixes (one function, a few statements) from git repositories REPOS "
         "into a JSONL data set, split by repository into train / validation / test."),
        ("model", "model", "model",
         "Build, inspect, run and train MoE models (any local Hugging Face MoE checkpoint)."),
        ("refactor", "code", "refactor",
         "Refactor Python PATHS (files, directories, or - for stdin) to PEP 8 without changing "
         "behaviour: every result must parse, keep its syntax tree (up to named safe rewrites), "
         "be stable on a second run and, under pep8, pass pycodestyle; else the file is left "
         "untouched."),
        ("auth", "web", "auth", "API tokens and console users of `moesuite serve`."),
        ("review", "review", "review",
         "The manual-review queue: list, claim, decide and export labels."),
        ("score-transactions", "fraud", "score_transactions",
         "Score FILE into OUTPUT; review-band rows become review cases."),
        ("serve", "web", "serve",
         "Serve the JSON API (/v1, docs at /docs) and the analyst console (/console)."),
        ("simulate-transactions", "fraud", "simulate_transactions",
         "Write a seeded, labelled synthetic transaction file (fraud scenarios by --regime)."),
        ("train-code-model", "defects", "train_code_model_command",
         "Train the default code model (BPE + small MoE) on the installed packages."),
        ("train-defects", "defects", "train_defects",
         "Train the learned defect detector on seeded bugs in the training packages (and, with "
         "--fixes, on real bug fixes of training repositories)."),
        ("train-fraud", "fraud", "train_fraud_command",
         "Train a fraud bundle on labelled transactions in FILE."),
        ("worker", "jobs", "worker",
         "Start a Celery worker consuming the suite's queues (runs until stopped)."),
    ]
}
# fmt: on


class UserError(click.ClickException):
    """A domain error shown as one line; exit code 2 (click's default would be 1)."""

    exit_code = 2


def _add_quiet(command: click.Command) -> None:
    """Give ``command`` and its subcommands a ``--quiet`` flag (progress off), once."""
    if not any(p.name == "quiet" for p in command.params):
        command.params.append(quiet_option())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_quiet(sub)


class SuiteGroup(click.Group):
    """The top-level group: commands come from ``COMMANDS`` and are imported when used."""

    def __init__(self, *args, lazy: Mapping[str, CommandEntry], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            entry = self.lazy[cmd_name]
            try:
                module = importlib.import_module(entry.module)
            except ModuleNotFoundError as exc:
                message = missing_extra_message(exc, cmd_name)
                if message is None:
                    raise
                raise UserError(message) from exc
            command = getattr(module, entry.attr)
            _add_quiet(command)
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)

    def _short_help(self, name: str, limit: int = 45) -> str:
        # The table's line for a command not imported yet: --help and completion import nothing.
        if name in self.lazy and name not in self.commands:
            return click.Command(name, help=self.lazy[name].short_help).get_short_help_str(limit)
        return self.commands[name].get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, self._short_help(name, limit)) for name in names])

    def shell_complete(self, ctx: click.Context, incomplete: str):
        from click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=self._short_help(name))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _DOMAIN_ERRORS as exc:
            raise UserError(str(exc)) from exc
        except ModuleNotFoundError as exc:
            message = missing_extra_message(exc, ctx.invoked_subcommand)
            if message is None:
                raise
            raise UserError(message) from exc


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moesuite")
    except PackageNotFoundError:
        return "0.1.0+local"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # Looked up only when asked: importlib.metadata scans site-packages.
    if value and not ctx.resilient_parsing:
        click.echo(f"moesuite, version {_version()}")
        ctx.exit()


@click.group(
    cls=SuiteGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (TOML). Default: $MOESUITE_CONFIG, $MOESUITE_HOME/moesuite.toml "
    "or [tool.moesuite] in ./pyproject.toml.",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where models, bundles and SQLite files live [env MOESUITE_HOME; ~/.moesuite].",
)
@click.option("--database-url", help="Review-queue database [env MOESUITE_DATABASE_URL].")
@click.option("--broker-url", help="Celery broker [env MOESUITE_BROKER_URL].")
@click.option("--result-backend", help="Celery result backend [env MOESUITE_RESULT_BACKEND].")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    envvar="MOESUITE_QUIET",
    help="No progress on stderr (every command also takes --quiet) [env MOESUITE_QUIET].",
)
@click.pass_context
def cli(
    ctx: click.Context, config_file, home, database_url, broker_url, result_backend, quiet
) -> None:
    """moesuite: an MoE model core serving fraud scoring and Python code assistance."""
    silence_third_party()
    set_quiet(ctx, quiet)
    try:
        ctx.obj = load_settings(
            config_file,
            {
                "home": home,
                "database_url": database_url,
                "broker_url": broker_url,
                "result_backend": result_backend,
            },
        )
    except SettingsError as exc:
        raise UserError(str(exc)) from exc


def main() -> None:
    silence_third_party()  # before any command module is imported: their imports warn too
    cli(prog_name="moesuite")


if __name__ == "__main__":
    sys.exit(main())
