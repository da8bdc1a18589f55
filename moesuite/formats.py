"""`--format text|json` for every command that reports something, and its JSON encoding.

JSON goes to stdout as one document (indented), with datetimes as ISO 8601 and paths as
strings; progress and messages go to stderr, so ``cmd --format json | jq`` always parses.
Exit codes: 0 done, 1 findings or nothing to do, 2 a usage or input error (message on stderr).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import click


def format_option(*choices: str) -> Any:
    """The ``--format`` option (default: the first choice)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices or ("text", "json")),
        default=(choices or ("text",))[0],
        show_default=True,
        help="Output format; json is one document on stdout.",
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def echo_json(data: Any) -> None:
    """Write ``data`` to stdout as one indented JSON document."""
    click.echo(json.dumps(data, indent=2, default=_default))
