"""Many worker processes on one queue: no task claimed twice, none lost, kills lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from annotate.store.engine import Store
from annotate.store.models import Annotation, Task
from tests.factories import make_project

ROOT = Path(__file__).resolve().parents[1]
N_ITEMS = 240


def _spawn(url: str, worker: str, pause: float = 0.0, lease: int = 300) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.queue_worker", url, worker, str(pause), str(lease)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _counts(store: Store) -> tuple[int, int, int, int]:
    with store.session() as s:
        annotations = s.scalar(select(func.count()).select_from(Annotation)) or 0
        distinct_tasks = s.scalar(select(func.count(func.distinct(Annotation.task_id)))) or 0
        done = s.scalar(select(func.count()).select_from(Task).where(Task.status == "done")) or 0
        total = s.scalar(select(func.count()).select_from(Task)) or 0
    return annotations, distinct_tasks, done, total


def test_eight_processes_no_duplicates_no_losses(store: Store, db_url: str) -> None:
    make_project(store, N_ITEMS)
    procs = [_spawn(db_url, f"w{i}") for i in range(8)]
    claimed: list[int] = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=240)
        assert p.returncode == 0, stderr[-2000:]
        claimed += json.loads(stdout.strip().splitlines()[-1])["task_ids"]
    assert len(claimed) == len(set(claimed)) == N_ITEMS  # each task submitted by exactly one
    annotations, distinct_tasks, done, total = _counts(store)
    assert annotations == distinct_tasks == done == total == N_ITEMS


def test_sigkilled_workers_lose_nothing(store: Store, db_url: str) -> None:
    n = 60
    make_project(store, n)
    deadline = time.monotonic() + 120
    kills = 0
    # Slow workers with a short lease; kill one mid-lease again and again while others work.
    workers = [_spawn(db_url, f"k{i}", pause=0.05, lease=2) for i in range(3)]
    while time.monotonic() < deadline and kills < 4:
        time.sleep(0.4)
        victim = workers[kills % len(workers)]
        if victim.poll() is None:
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            kills += 1
            workers[workers.index(victim)] = _spawn(db_url, f"k-restart{kills}", 0.05, 2)
    assert kills >= 1
    for p in workers:
        p.wait(timeout=180)
    # A last worker sweeps up whatever a killed worker held once its lease expires.
    time.sleep(2.2)
    sweeper = _spawn(db_url, "sweeper", 0.0, 2)
    sweeper.communicate(timeout=120)
    annotations, distinct_tasks, done, total = _counts(store)
    assert total == n
    assert done == n, "a task was lost"
    assert annotations == distinct_tasks == n, "a task was annotated twice"
