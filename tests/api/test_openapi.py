"""The committed OpenAPI document must match the app: `make openapi` refreshes it."""

from app.openapi_dump import render
from app.settings import PROJECT_ROOT


def test_committed_openapi_matches_the_app() -> None:
    committed = (PROJECT_ROOT / "openapi" / "openapi.json").read_text()
    assert committed == render(), "openapi/openapi.json is stale: run `make openapi`"
