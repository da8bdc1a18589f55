"""moesuite command line: one click group; the commands live in moesuite/commands/<area>.py.

Exit codes follow ruff: 0 clean, 1 findings or needed changes, 2 an error the user can act on.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click

from codeassist.errors import CodeassistError
from core_model.errors import CoreModelError
from fraud.errors import FraudError
from moesuite.commands import code, defects, fraud, jobs, model, review
from moesuite.settings import SettingsError, load_settings
from workers.errors import WorkersError

_DOMAIN_ERRORS = (CoreModelError, FraudError, CodeassistError, WorkersError, SettingsError)


class UserError(click.ClickException):
    """A domain error shown as one line; exit code 2 (click's default would be 1)."""

    exit_code = 2


class SuiteGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _DOMAIN_ERRORS as exc:
            raise UserError(str(exc)) from exc


def _version() -> str:
    try:
        return version("moesuite")
    except PackageNotFoundError:
        return "0.1.0+local"


@click.group(cls=SuiteGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), prog_name="moesuite")
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
@click.pass_context
def cli(ctx: click.Context, config_file, home, database_url, broker_url, result_backend) -> None:
    """moesuite: an MoE model core serving fraud scoring and Python code assistance."""
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


for _module in (model, fraud, review, code, defects, jobs):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    cli(prog_name="moesuite")


if __name__ == "__main__":
    sys.exit(main())
