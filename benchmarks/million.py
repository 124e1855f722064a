"""A million items: export, status, the workspace's next task and the agreement report.

A classification project of ``--items`` items (default 1,000,000), each with two human
answers (two done tasks) and one task still open for a third person, bulk-inserted into a
fresh database. Then, each command in a subprocess of its own (its peak RSS read from the
kernel when it exits):

- ``annotate export --format jsonl`` and ``--format parquet``, beside the same rows read
  with a bare SQL cursor and written by pyarrow (Parquet) or ``json.dumps`` lines (JSONL) in
  the same run: the ratio and the peak memory (goals: within 3x, RSS < 400 MB);
- ``annotate status NAME --json`` (goal < 0.5 s);
- the workspace's next task (claim + everything the page reads), p50/p95 over ``--rounds``
  (goal p95 < 150 ms; benchmarks/ui_latency.py measures the same unit);
- ``annotate report NAME`` (alpha and kappas with a 1,000-resample bootstrap; goal < 30 s).

    .venv/bin/python benchmarks/million.py [--items 1000000] [--backends sqlite,postgres]

To measure again without seeding again, keep the database and name what to measure:

    .venv/bin/python benchmarks/million.py --items 100000 --db sqlite:////tmp/m100k.db \
        --only export,status
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 20_000
LABELS = ["positive", "negative", "neutral"]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _batches(n: int, make: Any) -> Any:
    for start in range(0, n, BATCH):
        yield [make(i) for i in range(start, min(n, start + BATCH))]


def seed(store: Any, n: int) -> str:
    from sqlalchemy import insert, select

    from annotate.kinds.schema import LabelSchema
    from annotate.projects.catalog import create_project
    from annotate.projects.policy import RoutingPolicy
    from annotate.store.models import Annotation, Item, Task, utcnow

    policy = RoutingPolicy(human_annotations=3, llm_annotations=0)
    name = "million"
    with store.session() as session:
        pid = create_project(session, name, LabelSchema(kind="classification", labels=LABELS),
                             policy=policy).id
    now = utcnow()
    started = time.perf_counter()
    with store.session() as session:
        for batch in _batches(n, lambda i: {
                "project_id": pid, "external_id": f"i{i}", "created_at": now, "meta": {},
                "text": f"message {i}: the service was fine, delivery took {i % 9} days",
                "data": {}, "synthetic": False}):
            session.execute(insert(Item), batch)
    with store.session() as session:
        ids = list(session.scalars(select(Item.id).where(Item.project_id == pid)
                                   .order_by(Item.id)))
    for slot, status in ((0, "done"), (1, "done"), (2, "pending")):
        with store.session() as session:
            for batch in _batches(len(ids), lambda i, slot=slot, status=status: {
                    "project_id": pid, "item_id": ids[i], "role": "annotator",
                    "worker_kind": "human", "slot": slot, "status": status, "priority": 0,
                    "attempts": 0, "max_attempts": 3, "created_at": now, "updated_at": now,
                    "lease_owner": f"p{slot}" if status == "done" else None}):
                session.execute(insert(Task), batch)
    for slot in (0, 1):
        with store.session() as session:
            for batch in _batches(len(ids), lambda i, slot=slot: {
                    "project_id": pid, "item_id": ids[i], "annotator_id": f"p{slot}",
                    "annotator_kind": "human", "role": "annotator", "phase": "final",
                    "value": {"label": LABELS[(i + (i % 7 == 0) * slot) % 3]},
                    "params": {}, "meta": {}, "cost_usd": 0.0, "human_seconds": 4.0,
                    "suggestion_visible": False, "source": "ui", "created_at": now}):
                session.execute(insert(Annotation), batch)
    print(f"seeded {n:,} items, {3 * n:,} tasks, {2 * n:,} answers in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return name


def run(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of a command in a subprocess of its own."""
    seconds, _, rss, stdout = run_usage(cmd)
    return seconds, rss, stdout


def run_usage(cmd: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) and stdout of a command in a
    subprocess of its own."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed: {err.read().decode()[-2000:]}")
        cpu = usage.ru_utime + usage.ru_stime
        return seconds, cpu, usage.ru_maxrss / 1024, out.read().decode()


def next_task(store: Any, pid: int, person: str) -> Any:
    """Everything the workspace page reads for the next task (as benchmarks/ui_latency.py)."""
    from annotate.services.history import my_answers
    from annotate.services.workspace import open_next_task
    from annotate.store.models import GuidelineVersion

    view = open_next_task(store, person, pid, lease_seconds=30)
    with store.session() as session:
        if view is not None and view.guideline_id is not None:
            session.get(GuidelineVersion, view.guideline_id)
        my_answers(session, person, pid)
    return view


BASELINE = r'''
import json, sys, time
import pyarrow as pa, pyarrow.parquet as pq
from sqlalchemy import create_engine, text
url, fmt, out = sys.argv[1:4]
engine = create_engine(url)
sql = text("SELECT i.external_id, i.text, a.annotator_id, a.annotator_kind, a.value, "
           "a.created_at FROM items i JOIN annotations a ON a.item_id = i.id ORDER BY i.id")
names = ["item_id", "text", "annotator", "annotator_kind", "value", "created_at"]
with engine.connect().execution_options(stream_results=True, yield_per=20000) as conn:
    result = conn.execute(sql)
    if fmt == "parquet":
        writer = None
        for part in result.partitions(20000):
            cols = list(zip(*part))
            table = pa.table({n: [json.dumps(v) if isinstance(v, dict) else v for v in c]
                              if n == "value" else list(c) for n, c in zip(names, cols)})
            writer = writer or pq.ParquetWriter(out, table.schema)
            writer.write_table(table)
        writer.close()
    else:
        with open(out, "w", encoding="utf-8") as f:
            for row in result:
                f.write(json.dumps(dict(zip(names, row)), default=str, ensure_ascii=False))
                f.write("\n")
'''


MEASURES = ("export", "status", "next", "report")


def _seeded(store: Any, n: int) -> str | None:
    """The benchmark project's name if this database already holds it with ``n`` items."""
    from sqlalchemy import func, select

    from annotate.store.models import Item, Project

    with store.session() as session:
        pid = session.scalar(select(Project.id).where(Project.name == "million"))
        if pid is None:
            return None
        count = session.scalar(select(func.count()).select_from(Item)
                               .where(Item.project_id == pid))
    if count != n:
        raise SystemExit(f"the database holds project 'million' with {count:,} items, not "
                         f"{n:,}: pass --items {count} or a fresh --db")
    print(f"reusing the seeded project ({n:,} items)", flush=True)
    return "million"


def measure(url: str, n: int, rounds: int, folder: Path,
            only: tuple[str, ...] = MEASURES) -> dict[str, Any]:
    from annotate.store.engine import open_store

    store = open_store(url)
    name = _seeded(store, n) or seed(store, n)
    with store.session() as session:
        from annotate.projects.catalog import get_project

        pid = get_project(session, name).id
    exe = Path(sys.executable).parent
    annotate = [str(exe / "annotate"), "--db", url]
    out: dict[str, Any] = {}
    base = folder / "baseline.py"
    base.write_text(BASELINE, encoding="utf-8")
    for fmt in ("jsonl", "parquet") if "export" in only else ():
        target = folder / f"export.{fmt}"
        seconds, cpu, rss, _ = run_usage(
            [*annotate, "export", name, "--format", fmt, "-o", str(target)])
        raw, raw_cpu, _, _ = run_usage(
            [sys.executable, str(base), url, fmt, str(folder / f"raw.{fmt}")])
        out[f"export {fmt}"] = {"seconds": seconds, "cpu_s": cpu, "peak_rss_mb": rss,
                                "baseline_s": raw, "baseline_cpu_s": raw_cpu,
                                "ratio": seconds / raw, "cpu_ratio": cpu / raw_cpu}
        print(f"export {fmt}: {seconds:.1f} s, CPU {cpu:.1f} s (peak RSS {rss:.0f} MB) vs "
              f"pyarrow/bare {raw:.1f} s, CPU {raw_cpu:.1f} s: {seconds / raw:.2f}x "
              f"(CPU {cpu / raw_cpu:.2f}x)", flush=True)
        target.unlink()
    if "status" in only:
        status = min(run([*annotate, "status", name, "--json"])[0] for _ in range(3))
        out["status --json"] = {"seconds": status}
        print(f"status --json: {status:.2f} s (best of 3)", flush=True)
    if "next" in only:
        out["next task"] = _next_tasks(store, pid, rounds)
    if "report" in only:
        seconds, rss, _ = run([*annotate, "report", name, "-o", str(folder / "report")])
        out["report"] = {"seconds": seconds, "peak_rss_mb": rss}
        print(f"report (bootstrap 1000): {seconds:.1f} s (peak RSS {rss:.0f} MB)", flush=True)
    store.dispose()
    return out


def _next_tasks(store: Any, pid: int, rounds: int) -> dict[str, float]:
    from annotate.services.workspace import submit_answer

    claims = []
    for i in range(rounds):
        started = time.perf_counter()
        view = next_task(store, pid, "bench")
        claims.append((time.perf_counter() - started) * 1000)
        assert view is not None
        submit_answer(store, view, "bench", {"label": LABELS[i % 3]}, seconds=2.0)
    claims.sort()
    p50, p95 = claims[len(claims) // 2], claims[int(len(claims) * 0.95) - 1]
    print(f"workspace next task: p50 {p50:.0f} ms, p95 {p95:.0f} ms ({rounds} rounds)",
          flush=True)
    return {"p50_ms": p50, "p95_ms": p95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--db", help="a database URL to seed once and reuse (instead of "
                        "--backends' fresh ones)")
    parser.add_argument("--only", default=",".join(MEASURES),
                        help=f"what to measure, comma-separated from {','.join(MEASURES)}")
    args = parser.parse_args()
    only = tuple(args.only.split(","))
    unknown = set(only) - set(MEASURES)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}; "
                     f"choose from {','.join(MEASURES)}")
    results = {}
    if args.db:
        with tempfile.TemporaryDirectory() as tmp:
            results[args.db] = measure(args.db, args.items, args.rounds, Path(tmp), only)
    for backend in () if args.db else args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            url = f"sqlite:///{folder / 'million.db'}" if backend == "sqlite" else _fresh_pg()
            print(f"== {backend}, {args.items:,} items", flush=True)
            results[backend] = measure(url, args.items, args.rounds, folder, only)
    print(json.dumps(results, indent=1))


def _fresh_pg() -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS annotate_million"))
        conn.execute(text("CREATE DATABASE annotate_million"))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/annotate_million"


if __name__ == "__main__":
    main()
