"""Alembic environment: runs on the connection the store hands over (no ini file needed)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import annotate.store.labelstudio_models
import annotate.store.people_models  # noqa: F401
from annotate.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic revision --autogenerate` from a developer shell
        url = config.get_main_option("sqlalchemy.url") or "sqlite:///alembic-dev.db"
        with create_engine(url).connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata,
                              render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
