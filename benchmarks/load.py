"""Load test: 8 worker processes plus simulated UI readers on PostgreSQL, bounded in time.

Workers claim and submit (the dry-run of an LLM worker: no model, so the queue is the load);
readers do what an owner's dashboard and a person's page do (project status, an item with
its answers) in a loop. Prints throughput, p50/p95 claim and submit latency, reader
latency, and checks 0 duplicate annotations and 0 lost tasks at the end. Only 127.0.0.1.

    .venv/bin/python benchmarks/load.py [--seconds 60] [--workers 8] [--readers 2]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/queue.py would shadow the standard library's `queue` for scripts run from here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse
import json
import subprocess
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def worker(url: str, worker_id: str, until: float) -> None:
    from annotate.queue.leases import Provenance, claim_next_task, submit_annotation
    from annotate.store.engine import open_store

    store = open_store(url, migrate=False)
    claims: list[float] = []
    submits: list[float] = []
    while time.time() < until:
        t0 = time.perf_counter()
        task = claim_next_task(store, worker_id, worker_kind="llm", lease_seconds=60)
        t1 = time.perf_counter()
        claims.append(t1 - t0)
        if task is None:
            break
        submit_annotation(store, task.id, {"label": "a"}, Provenance(worker_id, "llm"))
        submits.append(time.perf_counter() - t1)
    print(json.dumps({"claims": claims, "submits": submits}), flush=True)
    store.dispose()


def reader(url: str, until: float) -> None:
    from sqlalchemy import func, select

    from annotate.projects.catalog import get_project, project_status
    from annotate.store.engine import open_store
    from annotate.store.models import Annotation, Item

    store = open_store(url, migrate=False)
    reads: list[float] = []
    while time.time() < until:
        t0 = time.perf_counter()
        with store.session() as session:
            project = get_project(session, "p")
            project_status(session, project)
            item_id = session.scalar(select(func.max(Annotation.item_id)))
            if item_id is not None:
                session.get(Item, item_id)
                session.scalars(select(Annotation).where(Annotation.item_id == item_id)).all()
        reads.append(time.perf_counter() - t0)
        time.sleep(0.05)
    print(json.dumps({"reads": reads}), flush=True)
    store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=60_000)
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--until", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "worker":
        worker(args.url, args.id, args.until)
        return
    if args.role == "reader":
        reader(args.url, args.until)
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    from sqlalchemy import func, select

    from annotate.store.engine import open_store
    from annotate.store.models import Annotation, Task
    from tests.dbs import scratch_database
    from tests.factories import make_project

    with scratch_database("postgresql", Path("."), "annotate_load") as url:
        if url is None:
            raise SystemExit("PostgreSQL on 127.0.0.1:5432 does not answer")
        store = open_store(url)
        make_project(store, args.tasks)
        until = time.time() + 5 + args.seconds  # 5 s for the processes to start
        procs = [subprocess.Popen([sys.executable, __file__, "--role", "worker", "--url", url,
                                   "--id", f"w{i}", "--until", str(until)],
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True)
                 for i in range(args.workers)]
        procs += [subprocess.Popen([sys.executable, __file__, "--role", "reader", "--url", url,
                                    "--until", str(until)], cwd=ROOT, stdout=subprocess.PIPE,
                                   text=True) for _ in range(args.readers)]
        outputs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        claims = [x for o in outputs for x in o.get("claims", [])]
        submits = [x for o in outputs for x in o.get("submits", [])]
        reads = [x for o in outputs for x in o.get("reads", [])]
        with store.session() as s:
            annotations = s.scalar(select(func.count()).select_from(Annotation)) or 0
            distinct = s.scalar(select(func.count(func.distinct(Annotation.task_id)))) or 0
            done = s.scalar(select(func.count()).select_from(Task)
                            .where(Task.status == "done")) or 0
            stuck = s.scalar(select(func.count()).select_from(Task)
                             .where(Task.status == "leased")) or 0
        store.dispose()
    print(f"{args.workers} workers + {args.readers} readers, {args.seconds:.0f} s, PostgreSQL")
    print(f"  throughput     {len(submits) / args.seconds:8.1f} tasks/s ({len(submits)} tasks)")
    print(f"  claim latency  p50 {_pct(claims, 0.5):6.1f} ms  p95 {_pct(claims, 0.95):6.1f} ms")
    print(f"  submit latency p50 {_pct(submits, 0.5):6.1f} ms  p95 {_pct(submits, 0.95):6.1f} ms")
    print(f"  reader latency p50 {_pct(reads, 0.5):6.1f} ms  p95 {_pct(reads, 0.95):6.1f} ms "
          f"({len(reads)} page reads)")
    duplicates = annotations - distinct
    lost = done - annotations + stuck
    print(f"  duplicates {duplicates}, lost {lost} (done {done}, annotations {annotations}, "
          f"still leased {stuck})")
    if duplicates or lost:
        raise SystemExit("FAILED: duplicates or lost tasks")


if __name__ == "__main__":
    main()
