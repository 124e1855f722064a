"""The database connection dropped mid-run (PostgreSQL backends killed): workers reconnect
and finish, nothing lost, nothing annotated twice."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from annotate.store.engine import Store
from annotate.store.models import Annotation, Task
from tests.dbs import PG_ADMIN_URL
from tests.factories import make_project

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
def test_workers_survive_killed_backend_connections(store: Store, db_url: str) -> None:
    if store.dialect != "postgresql":
        pytest.skip("kills PostgreSQL backend connections")
    n = 120
    make_project(store, n)
    workers = [subprocess.Popen(
        [sys.executable, "-m", "tests.queue_worker", db_url, f"w{i}", "0.02", "5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    database = db_url.rsplit("/", 1)[1]
    killed = 0
    deadline = time.monotonic() + 60
    try:
        while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
            time.sleep(0.5)
            with admin.connect() as conn:
                killed += conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid() "
                    "AND application_name NOT LIKE 'pytest%'"), {"db": database}).scalar() or 0
            if killed >= 6:
                break
        results = []
        for w in workers:
            out, err = w.communicate(timeout=120)
            assert w.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        admin.dispose()
    assert killed >= 1, "no backend connection was killed: the test proved nothing"
    store.engine.dispose()  # the test's own pooled connections may have been killed too
    # a sweeper picks up whatever lease was in flight at a kill, once it expires
    time.sleep(5.5)
    sweep = subprocess.run([sys.executable, "-m", "tests.queue_worker", db_url, "sweeper"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert sweep.returncode == 0
    with store.session() as s:
        done = s.scalar(select(func.count()).select_from(Task).where(Task.status == "done"))
        annotations = s.scalar(select(func.count()).select_from(Annotation))
        distinct = s.scalar(select(func.count(func.distinct(Annotation.task_id))))
    assert done == n and annotations == distinct == n
