"""Helpers for import/export tests; the databases come from the shared ``store`` fixture
(SQLite always, PostgreSQL when it answers), each test on a fresh database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store

MakeProject = Callable[..., str]
WriteFile = Callable[[str, str | bytes], Path]


@pytest.fixture
def make_project(store: Store) -> MakeProject:
    """``make_project(name, schema, policy=None)`` creates a project and returns its name."""

    def make(name: str, schema: LabelSchema, policy: RoutingPolicy | None = None) -> str:
        with store.session() as session:
            create_project(session, name, schema, policy=policy)
        return name

    return make


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """``write_file(name, content)`` writes text (UTF-8, newlines as given) or bytes."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write
