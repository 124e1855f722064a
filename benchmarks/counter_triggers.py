"""What the status counters' triggers (migration 0013) cost the queue: the same code on fresh
databases with the triggers kept or dropped, alternated (on, off, off, on, ...) in one run.

    .venv/bin/python benchmarks/counter_triggers.py [--tasks 600] [--rounds 2]
        [--backends sqlite,postgres] [--modes 1x1,1x32,8x1,8x32]

A mode WxB is W worker processes claiming B tasks at a time (B = 1: ``claim_next_task`` and
``submit_annotation``; else ``claim_tasks`` and ``submit_annotations``) until none is left.
Prints tasks per second for each run and, per mode, the geometric mean of on / off.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COUNTED = ("items", "tasks", "annotations")


def drop_triggers(url: str) -> None:
    from sqlalchemy import text

    from annotate.store.engine import open_store

    store = open_store(url, migrate=False)
    with store.engine.begin() as conn:
        for table in COUNTED:
            for event in ("insert", "delete", "update"):
                on = "" if store.dialect == "sqlite" else f" ON {table}"
                conn.execute(text(f"DROP TRIGGER {table}_counts_{event}{on}"))
    store.dispose()


def _work(url: str, worker: str, batch: int, go: Any) -> None:
    from annotate.queue.batch import claim_tasks, submit_annotations
    from annotate.queue.leases import Provenance, claim_next_task, submit_annotation
    from annotate.store.engine import open_store

    store = open_store(url, migrate=False)
    go.wait()
    while True:
        if batch == 1:
            task = claim_next_task(store, worker, worker_kind="llm")
            if task is None:
                break
            submit_annotation(store, task.id, {"label": "a"}, Provenance(worker, "llm"))
            continue
        tasks = claim_tasks(store, worker, batch)
        if not tasks:
            break
        submit_annotations(store, [(t.id, {"label": "a"}, Provenance(worker, "llm"))
                                   for t in tasks], worker_id=worker)
    store.dispose()


def throughput(url: str, tasks: int, workers: int, batch: int) -> float:
    """Tasks per second of ``workers`` processes working off ``tasks`` fresh tasks."""
    from annotate.store.engine import open_store
    from tests.factories import make_project

    store = open_store(url, migrate=False)
    make_project(store, tasks)
    store.dispose()
    go = mp.Event()
    procs = [mp.Process(target=_work, args=(url, f"w{i}", batch, go)) for i in range(workers)]
    for p in procs:
        p.start()
    time.sleep(3)  # the workers import everything first
    started = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
    return tasks / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--modes", default="1x1,1x32,8x1,8x32")
    args = parser.parse_args()
    from annotate.store.engine import open_store
    from tests.dbs import scratch_database

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for mode in args.modes.split(","):
                workers, batch = (int(x) for x in mode.split("x"))
                for r in range(args.rounds):
                    for triggers in (("on", "off") if r % 2 == 0 else ("off", "on")):
                        with scratch_database(backend, Path(tmp), "annotate_bench") as url:
                            if url is None:
                                continue
                            open_store(url).dispose()
                            if triggers == "off":
                                drop_triggers(url)
                            rate = throughput(url, args.tasks, workers, batch)
                        runs.append({"backend": backend, "mode": mode, "triggers": triggers,
                                     "tasks_per_s": round(rate, 1),
                                     "load": round(os.getloadavg()[0], 1)})
                        print(json.dumps(runs[-1]), flush=True)
                rates = {t: [x["tasks_per_s"] for x in runs if x["backend"] == backend
                             and x["mode"] == mode and x["triggers"] == t] for t in ("on", "off")}
                if rates["on"] and rates["off"]:
                    ratio = math.exp(sum(map(math.log, rates["on"])) / len(rates["on"])
                                     - sum(map(math.log, rates["off"])) / len(rates["off"]))
                    print(f"{backend} {mode}: on / off {ratio:.2f}x", flush=True)


if __name__ == "__main__":
    main()
