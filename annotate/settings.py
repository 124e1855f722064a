"""Settings read at the edge (env vars ANNOTATE_*, a .env file, CLI flags) and passed down.

The defaults are plain constants so that importing them costs nothing; the pydantic-settings
model (which reads the environment and ``.env``) is built only by :func:`load_settings`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from annotate.settings_model import Settings

DEFAULT_DB_URL = "sqlite:///annotate.db"
DEFAULT_MODEL = "local/smollm2"


@functools.cache
def load_settings() -> Settings:
    """Process-wide settings (read once); CLI flags override these."""
    from annotate.settings_model import Settings

    return Settings()
