"""Rendering a page: the templates with our filters, and a strict Content-Security-Policy
(no inline script, nothing from another origin) on every page we serve."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from app.ui import formats, labels, timeline

TEMPLATES = Path(__file__).parent / "templates"
# Stricter than the API's default (which lets /docs load Swagger UI from a CDN).
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


@cache
def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=TEMPLATES)
    t.env.filters.update(formats.FILTERS)
    t.env.filters.update(labels.FILTERS)
    t.env.globals["SHAPES"] = timeline.SHAPES
    return t


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates().TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response
