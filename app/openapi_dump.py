"""Print the app's OpenAPI document: `make openapi` writes it to openapi/openapi.json."""

from __future__ import annotations

import json
from typing import Any

from app.main import create_app
from app.settings import Settings


def openapi_document() -> dict[str, Any]:
    # The engine is never connected: building the routes needs no database.
    return create_app(Settings(database_url="sqlite:///openapi-unused.db")).openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
