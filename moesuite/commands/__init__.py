"""Click commands of cli.py, one module per area; each lists its commands in COMMANDS."""
