"""What third-party libraries may say to a user of the CLI: nothing, unless asked.

transformers, bitsandbytes, kernels, Celery and friends report through `warnings` and stdlib
`logging`; an unconfigured logger's warnings reach stderr through logging's last-resort handler.
Their messages are about their own internals (an optional kernel not in the offline cache, a
deprecation inside a dependency), never about the user's input, which the suite checks and reports
itself. The CLI therefore hides them, unless the user asks for them with ``-W``/``PYTHONWARNINGS``
(warnings) or ``MOESUITE_LOG_LEVEL`` (logging).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

# The suite's own loggers keep their warnings; everyone else's go to a null handler.
OWN_LOGGERS = ("moesuite", "core_model", "fraud", "codeassist", "workers")


def silence_third_party(env: dict[str, str] | None = None) -> None:
    """Hide third-party warnings and log records at the CLI edge (idempotent)."""
    env = dict(os.environ) if env is None else env
    if not sys.warnoptions and not env.get("PYTHONWARNINGS"):
        warnings.simplefilter("ignore")
    level = env.get("MOESUITE_LOG_LEVEL", "").upper()
    root = logging.getLogger()
    if level:
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        return
    if not root.handlers:
        # A handler on the root stops logging's last-resort stderr handler; our own
        # loggers' warnings still print, third-party ones do not.
        root.addHandler(logging.NullHandler())
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        for name in OWN_LOGGERS:
            own = logging.getLogger(name)
            if not own.handlers:
                own.addHandler(handler)
                own.setLevel(logging.WARNING)
