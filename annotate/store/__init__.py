"""Storage: the ORM model, the engine/session factory and the migrations."""

from annotate.store.engine import Store, open_store

__all__ = ["Store", "open_store"]
