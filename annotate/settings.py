"""Settings read at the edge (env vars ANNOTATE_*, a .env file, CLI flags) and passed down."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_URL = "sqlite:///annotate.db"
DEFAULT_MODEL = "local/smollm2"


class Settings(BaseSettings):
    """Process-wide settings; CLI flags override these."""

    model_config = SettingsConfigDict(env_prefix="ANNOTATE_", env_file=".env", extra="ignore")

    db: str = DEFAULT_DB_URL
    model: str = DEFAULT_MODEL
    lease_seconds: int = 300
    threads: int = 1
