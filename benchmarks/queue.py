"""Queue throughput: claim + submit with 1 and 8 worker processes, SQLite and PostgreSQL.

Beside each figure, a raw-SQL loop doing the same work (lease one task with one atomic
statement, insert the annotation, mark the task done) measured in the same run, so the
ratio tells what the platform's queue costs over the bare minimum. Goal: >= 0.7x raw.

Batched (#17 item 1): the platform's batch worker (``run_batch_worker``: claim N tasks in one
statement, submit their answers in one transaction) beside a raw batched loop (one statement
leases N tasks, one transaction inserts N annotations and completes the N tasks), same data.

    .venv/bin/python benchmarks/queue.py [--tasks 2000] [--backends sqlite,postgres] [--batch 32]

``--distilled N``: the distilled annotator (a model trained on the 40 toy items of
tests/distill) labels N items through the queue (`run_project(batch_size=--batch)`, the path
of `annotate run --model distilled:NAME --batch B`) beside the same model labelling the same
texts in batches of the same size with no queue at all (`model.predict`). Goal: >= 0.7x.
Both phases also print items per CPU second of this process (steadier than wall time on
a shared machine; the PostgreSQL server's own CPU is not in it) and the load average.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file's name shadows the standard library's `queue` when run as a script: drop its
# folder from the import path before anything imports `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse
import json
import os
import subprocess
import tempfile
import time
import uuid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

def _seed(url: str, n: int) -> None:
    from annotate.store.engine import open_store
    from tests.factories import make_project

    store = open_store(url)
    make_project(store, n)
    store.dispose()


def _run_workers(url: str, workers: int, mode: str, folder: Path, batch: int) -> float:
    """Start the workers, wait until all have imported everything, then time the work."""
    go = folder / f"go-{uuid.uuid4().hex[:6]}"
    procs = [
        subprocess.Popen([sys.executable, __file__, "--worker", mode, "--url", url,
                          "--id", f"w{i}", "--go", str(go), "--batch", str(batch)], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
        for i in range(workers)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    go.touch()
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"worker failed with {p.returncode}")
    return time.perf_counter() - start


def _platform_worker(url: str, worker_id: str) -> None:
    from annotate.queue.leases import ClaimedTask, Provenance
    from annotate.queue.worker import Answer, run_worker
    from annotate.store.engine import open_store

    store = open_store(url, migrate=False)

    def answer(task: ClaimedTask) -> Answer:
        return Answer(value={"label": "a"}, provenance=Provenance(worker_id, "llm"))

    run_worker(store, worker_id, answer, worker_kind="llm")
    store.dispose()


def _batch_worker(url: str, worker_id: str, batch: int) -> None:
    from annotate.queue.leases import ClaimedTask, Provenance
    from annotate.queue.worker import Answer, run_batch_worker
    from annotate.store.engine import open_store

    store = open_store(url, migrate=False)

    def answer(tasks: list[ClaimedTask]) -> list[Answer]:
        return [Answer(value={"label": "a"}, provenance=Provenance(worker_id, "llm"))
                for _ in tasks]

    run_batch_worker(store, worker_id, answer, batch_size=batch, worker_kind="llm")
    store.dispose()


RAW_CLAIM = (
    "UPDATE tasks SET status='leased', lease_owner=%(w)s, attempts=attempts+1 "
    "WHERE id = (SELECT id FROM tasks WHERE status='pending' AND worker_kind='llm' "
    "ORDER BY priority DESC, id LIMIT 1 {lock}) RETURNING id, project_id, item_id"
)
RAW_INSERT = (
    "INSERT INTO annotations (project_id, item_id, task_id, idempotency_key, annotator_id, "
    "annotator_kind, role, value, params, cost_usd, suggestion_visible, phase, source, meta, "
    "created_at) VALUES (%(p)s, %(i)s, %(t)s, %(k)s, %(w)s, 'llm', 'annotator', "
    "'{{\"label\": \"a\"}}', '{{}}', 0, false, 'final', 'raw', '{{}}', CURRENT_TIMESTAMP)"
)
RAW_DONE = "UPDATE tasks SET status='done' WHERE id=%(t)s"
RAW_CLAIM_BATCH = (
    "UPDATE tasks SET status='leased', lease_owner=%(w)s, attempts=attempts+1 "
    "WHERE id IN (SELECT id FROM tasks WHERE status='pending' AND worker_kind='llm' "
    "ORDER BY priority DESC, id LIMIT %(n)s {lock}) RETURNING id, project_id, item_id"
)


def _raw_batch_worker(url: str, worker_id: str, batch: int) -> None:
    """The bare minimum, batched: one statement leases N tasks, one transaction inserts the
    N annotations and completes the N tasks (executemany)."""
    if url.startswith("sqlite"):
        _raw_batch_sqlite(url.removeprefix("sqlite:///"), worker_id, batch)
        return
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        while True:
            with conn.transaction():
                rows = conn.execute(RAW_CLAIM_BATCH.format(lock="FOR UPDATE SKIP LOCKED"),
                                    {"w": worker_id, "n": batch}).fetchall()
            if not rows:
                return
            params = [{"p": r[1], "i": r[2], "t": r[0], "k": f"task:{r[0]}", "w": worker_id}
                      for r in rows]
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(RAW_INSERT.format(), params)
                cur.executemany(RAW_DONE, params)


def _raw_batch_sqlite(path: str, worker_id: str, batch: int) -> None:
    import sqlite3

    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    claim = RAW_CLAIM_BATCH.format(lock="").replace("%(w)s", ":w").replace("%(n)s", ":n")
    insert = RAW_INSERT.format().replace("%(", ":").replace(")s", "")
    done = RAW_DONE.replace("%(t)s", ":t")
    while True:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(claim, {"w": worker_id, "n": batch}).fetchall()
        conn.execute("COMMIT")
        if not rows:
            return
        params = [{"p": r[1], "i": r[2], "t": r[0], "k": f"task:{r[0]}", "w": worker_id}
                  for r in rows]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, params)
        conn.executemany(done, params)
        conn.execute("COMMIT")


def _raw_worker(url: str, worker_id: str) -> None:
    """The bare minimum: one atomic lease statement, one insert, one update, per task."""
    if url.startswith("sqlite"):
        _raw_sqlite(url.removeprefix("sqlite:///"), worker_id)
        return
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        while True:
            with conn.transaction():
                row = conn.execute(RAW_CLAIM.format(lock="FOR UPDATE SKIP LOCKED"),
                                   {"w": worker_id}).fetchone()
            if row is None:
                return
            with conn.transaction():
                params = {"p": row[1], "i": row[2], "t": row[0], "k": f"task:{row[0]}",
                          "w": worker_id}
                conn.execute(RAW_INSERT.format(), params)
                conn.execute(RAW_DONE, params)


def _raw_sqlite(path: str, worker_id: str) -> None:
    import sqlite3

    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    claim = RAW_CLAIM.format(lock="").replace("%(w)s", ":w")
    insert = RAW_INSERT.format().replace("%(", ":").replace(")s", "")
    done = RAW_DONE.replace("%(t)s", ":t")
    while True:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(claim, {"w": worker_id}).fetchone()
        conn.execute("COMMIT")
        if row is None:
            return
        conn.execute("BEGIN IMMEDIATE")
        params = {"p": row[1], "i": row[2], "t": row[0], "k": f"task:{row[0]}", "w": worker_id}
        conn.execute(insert, params)
        conn.execute(done, params)
        conn.execute("COMMIT")


def _wait_for_go(go: Path) -> None:
    import psycopg  # noqa: F401  (both kinds of worker start with their imports done)

    import annotate.queue.leases
    import annotate.queue.worker  # noqa: F401

    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)


MODES = ("raw", "platform", "raw-batch", "batch")


def measure(backend: str, workers: int, tasks: int, folder: Path, batch: int,
            modes: tuple[str, ...] = MODES) -> dict[str, float]:
    result: dict[str, float] = {}
    from tests.dbs import scratch_database

    for mode in modes:
        with scratch_database(backend, folder, "annotate_bench") as url:
            if url is None:
                raise SystemExit(f"{backend}: no server on 127.0.0.1:5432")
            _seed(url, tasks)
            seconds = _run_workers(url, workers, mode, folder, batch)
            result[mode] = tasks / seconds
    if "raw" in result and "platform" in result:
        result["ratio"] = result["platform"] / result["raw"]
    if "raw-batch" in result and "batch" in result:
        result["batch_ratio"] = result["batch"] / result["raw-batch"]
    return result


def measure_distilled(backend: str, items: int, batch: int, folder: Path) -> dict[str, float]:
    """Items/s of the distilled annotator on the queue and of its bare batched predict."""
    from annotate.distill.train import distill_project
    from annotate.io.importing.importer import import_file
    from annotate.kinds.schema import LabelSchema
    from annotate.llm.client import make_client
    from annotate.projects.catalog import create_project
    from annotate.projects.policy import RoutingPolicy
    from annotate.queue.routing import PlannedItem, plan_initial_tasks
    from annotate.store.engine import open_store
    from annotate.store.models import Item
    from roles.distilled import load_distilled
    from roles.runner import run_project
    from tests.dbs import scratch_database
    from tests.distill.conftest import TOY, write_labels

    os.environ["ANNOTATE_MODELS_DIR"] = str(folder / "models")
    schema = LabelSchema(kind="classification", labels=["sports", "cooking"])
    policy = RoutingPolicy(human_annotations=0, llm_annotations=1)
    texts = [f"{TOY[i % len(TOY)][1]} ({i})" for i in range(items)]
    with scratch_database(backend, folder, "annotate_bench") as url:
        if url is None:
            raise SystemExit(f"{backend}: no server on 127.0.0.1:5432")
        store = open_store(url)
        with store.session() as session:
            create_project(session, "toy", schema, policy=policy)
        import_file(store, "toy", write_labels(folder / "toy.csv", TOY))
        distill_project(store, "toy")
        model = load_distilled("distilled:toy")
        model.predict(texts[:batch])  # warm: the embedding model is loaded and run once
        load = [os.getloadavg()[0]]
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, items, batch):
            model.predict(texts[i:i + batch])
        bare = items / (time.perf_counter() - start)
        bare_cpu = items / (time.process_time() - cpu)
        load.append(os.getloadavg()[0])
        with store.session() as session:
            project = create_project(session, "bench", schema, policy=policy)
            rows = [Item(project_id=project.id, external_id=f"b{i}", text=t)
                    for i, t in enumerate(texts)]
            session.add_all(rows)
            session.flush()
            plan_initial_tasks(session, project, policy,
                               [PlannedItem(it.id, it.external_id) for it in rows])
            pid = project.id
        start, cpu = time.perf_counter(), time.process_time()
        stats = run_project(store, "bench", make_client(store, pid, "distilled:toy"),
                            model="distilled:toy", roles=("annotator",), batch_size=batch)
        queued = stats.done / (time.perf_counter() - start)
        queued_cpu = stats.done / (time.process_time() - cpu)
        load.append(os.getloadavg()[0])
        store.dispose()
    return {"queue": queued, "bare": bare, "ratio": queued / bare, "done": stats.done,
            "queue_cpu": queued_cpu, "bare_cpu": bare_cpu, "cpu_ratio": queued_cpu / bare_cpu,
            "load_start": load[0], "load_mid": load[1], "load_end": load[2]}


def _print(backend: str, workers: int, batch: int, r: dict[str, float]) -> None:
    if "ratio" in r:
        print(f"{backend:9s} {workers} worker(s): platform {r['platform']:7.0f} tasks/s, "
              f"raw SQL {r['raw']:7.0f} tasks/s, ratio {r['ratio']:.2f}x", flush=True)
    if "batch_ratio" in r:
        print(f"{backend:9s} {workers} worker(s), batches of {batch}: platform "
              f"{r['batch']:7.0f} tasks/s, raw SQL {r['raw-batch']:7.0f} tasks/s, ratio "
              f"{r['batch_ratio']:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,8")
    parser.add_argument("--batch", type=int, default=32, help="tasks per batch (batch modes)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="which of raw,platform,raw-batch,batch to run")
    parser.add_argument("--distilled", type=int, metavar="ITEMS",
                        help="measure the distilled annotator on ITEMS items instead")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--id", help=argparse.SUPPRESS)
    parser.add_argument("--go", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _wait_for_go(Path(args.go))
        if args.worker in ("raw", "platform"):
            (_raw_worker if args.worker == "raw" else _platform_worker)(args.url, args.id)
        else:
            run = _raw_batch_worker if args.worker == "raw-batch" else _batch_worker
            run(args.url, args.id, args.batch)
        return
    rows = []
    if args.distilled:
        with tempfile.TemporaryDirectory() as tmp:
            for backend in args.backends.split(","):
                r = measure_distilled(backend, args.distilled, args.batch, Path(tmp))
                print(f"{backend:9s} distilled annotator, {args.distilled} items, batches of "
                      f"{args.batch}: queue {r['queue']:6.0f} items/s, bare predict "
                      f"{r['bare']:6.0f} items/s, ratio {r['ratio']:.2f}x; per CPU second of "
                      f"this process: queue {r['queue_cpu']:6.0f}, bare {r['bare_cpu']:6.0f}, "
                      f"ratio {r['cpu_ratio']:.2f}x; load average {r['load_start']:.1f} -> "
                      f"{r['load_mid']:.1f} -> {r['load_end']:.1f}", flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                r = measure(backend, workers, args.tasks, Path(tmp), args.batch,
                            tuple(args.modes.split(",")))
                rows.append({"backend": backend, "workers": workers, "batch": args.batch, **r})
                _print(backend, workers, args.batch, r)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
