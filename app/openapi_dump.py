"""Print the app's OpenAPI document: `make openapi` writes it to openapi/openapi.json."""

from __future__ import annotations

import json
from typing import Any

from app.main import create_app
from app.settings import Settings


def openapi_document() -> dict[str, Any]:
    # The engine is never connected and no token is signed: building the routes needs no
    # database and no secret (a throwaway one keeps a secret file from being written).
    settings = Settings(database_url="sqlite:///openapi-unused.db", secret_key="x" * 32)
    return create_app(settings).openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
