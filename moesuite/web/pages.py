"""Template rendering for the console: one autoescaping Jinja2 environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,  # every value is escaped unless a template says otherwise (none does)
    undefined=jinja2.StrictUndefined,
)
templates = Jinja2Templates(env=_env)


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "—"


_env.filters["when"] = _when


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``name`` with the signed-in user (if any) available as ``me``."""
    values = {
        "me": getattr(request.state, "principal", None),
        "message": "",
        "alert": "",
        **context,
    }
    return templates.TemplateResponse(request, name, values, status_code=status, headers=headers)
