"""The settings model behind :func:`annotate.settings.load_settings` (imports pydantic-settings,
so it is loaded only when settings are read)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from annotate.settings import DEFAULT_DB_URL, DEFAULT_MODEL


class Settings(BaseSettings):
    """Process-wide settings; CLI flags override these."""

    model_config = SettingsConfigDict(env_prefix="ANNOTATE_", env_file=".env", extra="ignore")

    db: str = DEFAULT_DB_URL
    model: str = DEFAULT_MODEL
    lease_seconds: int = 300
    threads: int = 1
    reservation_ttl_s: float = 120.0  # a killed run's budget reservations are freed after this
