"""Storage: the ORM model, the engine/session factory and the migrations.

The engine module (SQLAlchemy) is imported when ``Store`` or ``open_store`` is first asked
for, so :mod:`annotate.store.head` can be read without it (``annotate status NAME --json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from annotate.store.engine import Store, open_store

__all__ = ["Store", "open_store"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from annotate.store import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
