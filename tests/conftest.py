"""Shared fixtures: `store` runs each test on SQLite and, when it answers, on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotate.store.engine import Store, open_store
from tests.dbs import PgTemplate, SqliteTemplate, pg_available

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PgTemplate | None]:
    if not pg_available():
        yield None
        return
    template = PgTemplate()
    yield template
    template.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: SqliteTemplate,
           pg_template: PgTemplate | None) -> Iterator[str]:
    """A fresh, migrated database URL per test: SQLite, then PostgreSQL when it answers."""
    if request.param == "sqlite":
        yield sqlite_template.clone(tmp_path)
        return
    if pg_template is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL does not answer on 127.0.0.1:5432 but CI needs it")
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    with pg_template.clone() as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Store]:
    """SQLite only, for tests that need no second backend."""
    s = open_store(sqlite_template.clone(tmp_path))
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA
