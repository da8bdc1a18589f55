"""Which optional install (``pip install 'moesuite[EXTRA]'``) provides a missing module.

The base install is light (the code tools: ``refactor`` and ``detect-defects`` without
``--learned``); the model core, fraud scoring and the Celery workers are extras. A command
whose extra is missing says which one to install instead of showing an ImportError.
"""

from __future__ import annotations

# Top-level module -> the smallest extra that installs it (pyproject.toml's optional deps).
MODULE_EXTRAS = {
    "torch": "model",
    "transformers": "model",
    "tokenizers": "model",
    "safetensors": "model",
    "bitsandbytes": "model",
    "numpy": "model",
    "sklearn": "model",
    "skops": "model",
    "threadpoolctl": "model",
    "pandas": "fraud",
    "pyarrow": "fraud",
    "matplotlib": "fraud",
    "sqlalchemy": "fraud",
    "alembic": "fraud",
    "psycopg": "fraud",
    "celery": "workers",
    "kombu": "workers",
    "redis": "workers",
    "fastapi": "web",
    "starlette": "web",
    "uvicorn": "web",
    "jinja2": "web",
    "multipart": "web",
    "httpx": "web",
    "argon2": "web",
    "prometheus_client": "web",
}


# The extra a top-level command needs as a whole (each extra includes the ones before it).
COMMAND_EXTRAS = {
    "model": "model",
    "train-code-model": "model",
    "train-defects": "model",
    "calibrate-defects": "model",
    "evaluate-defects": "model",
    "detect-defects": "model",
    "mine-fixes": "model",
    "score-transactions": "fraud",
    "train-fraud": "fraud",
    "evaluate-fraud": "fraud",
    "simulate-transactions": "fraud",
    "review": "fraud",
    "db": "fraud",
    "worker": "workers",
    "jobs": "workers",
    "serve": "web",
    "auth": "web",
}
_ORDER = ("model", "fraud", "workers", "web")


def missing_extra_message(exc: ModuleNotFoundError, command: str | None) -> str | None:
    """A one-line instruction when ``exc`` is a module an extra provides, else None."""
    top = (exc.name or "").partition(".")[0]
    extra = MODULE_EXTRAS.get(top)
    if extra is None:
        return None
    # numpy missing under train-fraud: the fraud extra, which brings numpy and the rest.
    needed = COMMAND_EXTRAS.get(command or "", extra)
    extra = max(extra, needed, key=_ORDER.index)
    what = f"`moesuite {command}`" if command else "this command"
    return (
        f"{what} needs the '{extra}' extra ({top} is not installed): "
        f"pip install -c constraints.txt 'moesuite[{extra}]'"
    )
