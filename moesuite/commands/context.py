"""What every command shares: the resolved Settings, handed down through click's context."""

import click

from moesuite.settings import Settings

pass_settings = click.make_pass_decorator(Settings)
