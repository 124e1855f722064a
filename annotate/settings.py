"""The one settings object: read at the edges (the CLI, the UI, the Label Studio ML backend)
and passed down as typed values; nothing below the edges reads the environment
(``tests/test_settings.py`` holds the few exceptions, each with its reason).

Sources, strongest first: CLI flags (the edge passes them over the settings), environment
variables, a ``.env`` file in the working directory, the defaults. Environment names are
``ANNOTATE_<FIELD>`` (``ANNOTATE_DB``, ``ANNOTATE_MODEL``...), except Label Studio's own
``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY``. An empty variable counts as unset.

Importing this module imports pydantic-settings (about 100 ms with the pydantic it needs,
``python -X importtime``), so the default values live in :mod:`annotate.defaults` (re-exported
here) and the CLI imports this module only when a command runs, not for ``--help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from annotate.defaults import (
    DEFAULT_BACKEND_USER,
    DEFAULT_DB_URL,
    DEFAULT_MODEL,
    DEFAULT_MODELS_DIR,
    DEFAULT_RESERVATION_TTL_S,
    ENV_FILE,
    ENV_PREFIX,
    THREADS_ENV,
)
from annotate.errors import SetupError

__all__ = ["DEFAULT_BACKEND_USER", "DEFAULT_DB_URL", "DEFAULT_MODEL", "DEFAULT_MODELS_DIR",
           "DEFAULT_RESERVATION_TTL_S", "THREADS_ENV", "Settings", "load_settings",
           "threads_from_env"]


class Settings(BaseSettings):
    """Process settings. Build one at the edge (:func:`load_settings`) and pass values down."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=ENV_FILE, extra="ignore",
                                      env_ignore_empty=True, populate_by_name=True,
                                      frozen=True)

    db: str = DEFAULT_DB_URL  # ANNOTATE_DB: database URL (sqlite:///... or postgresql+psycopg://...)
    model: str = DEFAULT_MODEL  # ANNOTATE_MODEL: model of the LLM roles
    # ANNOTATE_THREADS: CPU threads of the in-process models (embedded LLM, distilled
    # classifier); None: 1. Lenient like before: not a number is None, below 1 is 1.
    threads: int | None = None
    # ANNOTATE_RESERVATION_TTL_S: a killed run's budget reservations are freed after this
    reservation_ttl_s: float = Field(default=DEFAULT_RESERVATION_TTL_S, gt=0)
    # ANNOTATE_MODELS_DIR: where distilled models live. roles/distilled.py still reads the
    # variable itself when a run resolves `distilled:NAME` (an exception in tests/test_settings).
    models_dir: Path = DEFAULT_MODELS_DIR
    backend_user: str = DEFAULT_BACKEND_USER  # ANNOTATE_BACKEND_USER: the ML backend's user
    backend_password: SecretStr | None = None  # ANNOTATE_BACKEND_PASSWORD (16+ characters)
    label_studio_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LABEL_STUDIO_URL", "label_studio_url"))
    label_studio_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("LABEL_STUDIO_API_KEY", "label_studio_api_key"))

    @field_validator("threads", mode="before")
    @classmethod
    def _lenient_threads(cls, value: Any) -> int | None:
        if value is None or isinstance(value, int):
            return None if value is None else max(1, value)
        try:
            return max(1, int(str(value).strip()))
        except ValueError:
            return None


def load_settings(**overrides: Any) -> Settings:
    """The settings as the environment and ``.env`` give them now, with ``overrides`` (CLI
    flags; ``None`` means "not given") on top. Call it at an edge, once per command or page
    run; below the edges take the values as arguments. A bad value is a :class:`SetupError`
    naming the variable."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        where = name if name in given or name.isupper() else f"ANNOTATE_{name.upper()}"
        raise SetupError(f"setting {where}: {first['msg']}") from None


def threads_from_env(default: int = 1) -> int:
    """``ANNOTATE_THREADS`` (or ``.env``) as a positive int, else ``default``."""
    return load_settings().threads or default
