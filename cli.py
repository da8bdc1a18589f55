"""`python cli.py …` from a checkout: the same CLI as the `moesuite` console script.

The commands live in the moesuite package (moesuite/cli.py, moesuite/commands/); this file is
only the repository-root entry point and is not installed.
"""

import sys

from moesuite.cli import cli, main

__all__ = ["cli", "main"]

if __name__ == "__main__":
    sys.exit(main())
