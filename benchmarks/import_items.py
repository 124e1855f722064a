"""Import of 100k items from CSV, beside pandas reading the same file, in the same run.

    .venv/bin/python -m benchmarks.import_items [--items 100000] [--repeat 2] [--profile]

Writes a CSV (id, text, two metadata columns) to a temporary folder, then times
``pandas.read_csv`` and :func:`annotate.io.importing.import_file` into a fresh SQLite file and,
when it answers on 127.0.0.1:5432, a fresh PostgreSQL database (created and dropped here).
Prints each time, the best of ``--repeat`` runs, and the ratio import / pandas (goal <= 3x),
for the items alone and for the whole import with the tasks the default policy creates
(about 2.1 per item). ``--profile`` prints where the SQLite import spends its time.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo (tests.dbs)

from annotate.io.importing import import_file
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.store.engine import Store, open_store

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while",
         "annotators", "argue", "about", "labels", "and", "models", "hallucinate",
         "plausible", "answers", "nobody", "asked", "for")


def write_csv(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "source", "lang"])
        for i in range(n):
            words = " ".join(rng.choices(WORDS, k=rng.randint(8, 30)))
            writer.writerow([f"item-{i:06d}", words, rng.choice(["web", "chat", "mail"]), "en"])


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def new_project(store: Store) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    with store.session() as session:
        create_project(session, name, LabelSchema(kind="classification", labels=["a", "b"]))
    return name


def time_import(store: Store, path: Path, plan_tasks: bool = True) -> float:
    """Seconds to import ``path`` into a new project of ``store`` (set-up not counted)."""
    name = new_project(store)
    start = time.perf_counter()
    result = import_file(store, name, path, plan_tasks=plan_tasks)
    took = time.perf_counter() - start
    assert result.items > 0
    return took


@contextmanager
def sqlite_store(folder: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}")
    try:
        yield store
    finally:
        store.dispose()


@contextmanager
def postgres_store() -> Iterator[Store | None]:
    from tests.dbs import scratch_database

    with scratch_database("postgresql", Path("."), "annotate_import_bench") as url:
        if url is None:
            yield None
            return
        store = open_store(url)
        try:
            yield store
        finally:
            store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "items.csv"
        write_csv(path, args.items)
        size = path.stat().st_size / 1e6
        print(f"{args.items} items, {size:.1f} MB CSV; best of {args.repeat}")
        base = best_of(args.repeat, lambda: pd.read_csv(path))
        print(f"  pandas.read_csv {'':<31} {base:7.3f} s")
        for plan_tasks in (False, True):
            took = min(sqlite_run(folder, path, plan_tasks) for _ in range(args.repeat))
            report("SQLite", plan_tasks, took, base)
        with postgres_store() as pg:
            if pg is None:
                print("  PostgreSQL skipped: no server on 127.0.0.1:5432")
            else:
                for plan_tasks in (False, True):
                    took = min(time_import(pg, path, plan_tasks) for _ in range(args.repeat))
                    report("PostgreSQL", plan_tasks, took, base)
        if args.profile:
            profile_sqlite(folder, path)


def report(backend: str, plan_tasks: bool, took: float, base: float) -> None:
    what = "items + policy tasks" if plan_tasks else "items only"
    print(f"  import_file {backend:<10} {what:<20} {took:7.3f} s  {took / base:6.1f}x pandas")


def sqlite_run(folder: Path, path: Path, plan_tasks: bool) -> float:
    """One import into a fresh SQLite file."""
    with sqlite_store(folder) as store:
        return time_import(store, path, plan_tasks)


def profile_sqlite(folder: Path, path: Path) -> None:
    with sqlite_store(folder) as store:
        name = new_project(store)
        profiler = cProfile.Profile()
        profiler.runcall(import_file, store, name, path)
    print("\nwhere the SQLite import spends its time (cProfile, by own time):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    # Run as a script, this folder comes first on sys.path, and benchmarks/queue.py would
    # shadow the standard library's queue (which pandas imports): drop the folder.
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(here)]
    main()
