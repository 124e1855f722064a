"""The settings' default values, importable without pydantic.

:mod:`annotate.settings` builds the settings object from these and re-exports them. They live
apart because the CLI shows them in its help (``--db``, ``--model``) and importing
pydantic-settings costs about 100 ms, which ``annotate --help`` should not pay
(``benchmarks/cli_start.py``).
"""

from __future__ import annotations

from pathlib import Path

ENV_PREFIX = "ANNOTATE_"  # the settings' environment names: ANNOTATE_DB, ANNOTATE_MODEL...
ENV_FILE = ".env"  # read from the working directory, below the environment
DEFAULT_DB_URL = "sqlite:///annotate.db"
DEFAULT_MODEL = "local/smollm2"
"""The embedded model (the only definition; :mod:`annotate.settings` and
:mod:`annotate.llm.types` re-export it)."""
DEFAULT_MODELS_DIR = Path(".annotate") / "models"
DEFAULT_RESERVATION_TTL_S = 120.0
DEFAULT_BACKEND_USER = "annotate"
THREADS_ENV = "ANNOTATE_THREADS"
