"""The one place that reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WNB_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./wnb.db",
        description="SQLAlchemy URL; sqlite:///path for the embedded default, "
        "postgresql+psycopg://user@host/db in production.",
    )
    environment: str = Field(default="development", description="development or production")
    rules_dir: Path = Field(
        default=PROJECT_ROOT / "rules", description="Folder holding terminology and rule files."
    )
    max_body_bytes: int = Field(default=10 * 1024 * 1024, description="Largest request body.")
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Public base URL used in links."
    )
    run_worker: bool = Field(
        default=True, description="Run the scheduler inside `wnb serve` (embedded default)."
    )
    db_pool_size: int = Field(default=20, description="Connections per API process.")
    default_page_size: int = Field(default=50, description="Search page size without _count.")
    max_page_size: int = Field(default=1000, description="Largest _count honoured.")
    log_level: str = Field(default="INFO")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
