"""Opening a store: a database at the head revision skips alembic (#17 item 5); any other
database goes through the full checks and migrations as before."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from annotate.errors import StoreUnavailable
from annotate.store.engine import (
    Store,
    _alembic_config,
    current_revision,
    head_revision,
    open_store,
    table_names,
)
from annotate.store.head import head_revision_of_files


def test_the_head_read_from_the_files_is_alembics(sqlite_store: Store) -> None:
    scripts = ScriptDirectory.from_config(_alembic_config(sqlite_store))
    assert head_revision_of_files() is not None
    assert head_revision_of_files() == scripts.get_current_head() == head_revision(sqlite_store)


def _script(folder: Path, name: str, revision: str, down: str) -> None:
    (folder / f"{name}.py").write_text(
        f'"""{name}"""\nrevision = "{revision}"\ndown_revision = {down}\n'
        "branch_labels = None\n", encoding="utf-8")


def test_the_head_of_a_chain_and_no_head_for_what_needs_alembic(tmp_path: Path) -> None:
    chain = tmp_path / "chain"
    chain.mkdir()
    _script(chain, "0001_a", "a1", "None")
    _script(chain, "0002_b", "b2", '"a1"')
    _script(chain, "0003_c", "c3", "'b2'")
    assert head_revision_of_files(chain) == "c3"
    forked = tmp_path / "forked"
    forked.mkdir()
    _script(forked, "0001_a", "a1", "None")
    _script(forked, "0002_b", "b2", '"a1"')
    _script(forked, "0002_x", "x2", '"a1"')
    assert head_revision_of_files(forked) is None  # two heads
    _script(forked, "0003_m", "m3", '("b2", "x2")')
    assert head_revision_of_files(forked) is None  # a merge: alembic decides


PROBE = """
import json, sys
from annotate.store.engine import open_store
store = open_store(sys.argv[1])
store.dispose()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "mako"))))
"""


def _alembic_modules_after_open(url: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, url], check=True, capture_output=True,
                          text=True, timeout=120)
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def test_a_database_at_head_opens_without_alembic(db_url: str) -> None:
    assert _alembic_modules_after_open(db_url) == []


def test_a_database_at_an_older_revision_is_upgraded(store: Store, db_url: str) -> None:
    from alembic import command

    cfg = _alembic_config(store)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    assert current_revision(store) == "0009"
    assert "annotation_revisions" not in table_names(store)
    store.dispose()
    assert _alembic_modules_after_open(db_url) != []  # the slow path ran
    again = open_store(db_url)
    try:
        assert current_revision(again) == head_revision_of_files()
        assert "annotation_revisions" in table_names(again)
    finally:
        again.dispose()


def test_a_new_database_is_migrated(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert current_revision(store) == head_revision_of_files()
    finally:
        store.dispose()


def test_a_foreign_database_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(StoreUnavailable, match="belongs to another program"):
        open_store(f"sqlite:///{path}")


def test_a_database_from_a_newer_annotate_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    open_store(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreUnavailable, match="newer than this annotate knows"):
        open_store(f"sqlite:///{path}")

