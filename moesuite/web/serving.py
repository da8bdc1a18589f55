"""The app factory uvicorn imports when `moesuite serve --workers N` starts several processes."""

from __future__ import annotations

from fastapi import FastAPI

from moesuite.settings import load_settings
from moesuite.web.app import create_app


def app_from_environment() -> FastAPI:
    """The service on the settings the environment names (set by `moesuite serve`)."""
    return create_app(load_settings())
