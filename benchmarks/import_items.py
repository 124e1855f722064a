"""Import of 100k items from CSV, beside pandas and a bare pyarrow + bulk insert, in the same run.

    .venv/bin/python -m benchmarks.import_items [--items 100000] [--repeat 2] [--profile]

Writes a CSV (id, text, two metadata columns) to a temporary folder, then times
``pandas.read_csv`` and :func:`annotate.io.importing.import_file` into a fresh SQLite file and,
when it answers on 127.0.0.1:5432, a fresh PostgreSQL database (created and dropped here).
Prints each time, the best of ``--repeat`` runs, and its ratio to pandas, for the items alone
(the fast path, and the row path with ``fast=False``) and for the whole import with the
tasks the default policy creates (about 2.1 per item). The items alone are also compared
with the bare job in the same database (#17 item 3, goal <= 2x): ``pyarrow.csv.read_csv``,
the same rows built in a list comprehension (meta as JSON), multi-row ``INSERT``s of 500
rows on SQLite (as ``annotate/store/bulk.py``: a statement per row fires migration 0013's
count triggers with a statement journal each) or one ``COPY`` on PostgreSQL, committed.
``--profile`` prints where the SQLite import spends its time.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo (tests.dbs)

from annotate.io.importing import import_file
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.store.engine import Store, open_store
from annotate.store.models import Project, utcnow

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


def time_import(store: Store, path: Path, plan_tasks: bool = True, fast: bool = True) -> float:
    """Seconds to import ``path`` into a new project of ``store`` (set-up not counted)."""
    name = new_project(store)
    start = time.perf_counter()
    result = import_file(store, name, path, plan_tasks=plan_tasks, fast=fast)
    took = time.perf_counter() - start
    assert result.items > 0
    return took


def time_bare(store: Store, path: Path) -> float:
    """Seconds to read ``path`` with pyarrow and insert the same item rows the import stores
    (meta as JSON, no checks, no ids read back) in one transaction of ``store``."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    name = new_project(store)
    with store.session() as session:
        pid = session.query(Project.id).filter(Project.name == name).scalar()
    start = time.perf_counter()
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in ("id", "text", "source", "lang")}))
    ids, texts, sources, langs = (table[c].to_pylist() for c in ("id", "text", "source", "lang"))
    now = utcnow()
    rows = [(pid, i, t, "{}", json.dumps({"source": s, "lang": lang}), False, now)
            for i, t, s, lang in zip(ids, texts, sources, langs, strict=True)]
    columns = "project_id, external_id, text, data, meta, synthetic, created_at"
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":  # 500 rows a statement, as the store's bulk insert
            one = "(?, ?, ?, ?, ?, ?, ?)"
            for start in range(0, len(rows), 500):
                chunk = rows[start:start + 500]
                conn.exec_driver_sql(
                    f"INSERT INTO items ({columns}) VALUES {', '.join([one] * len(chunk))}",
                    tuple(chain.from_iterable(chunk)))
        else:
            driver = conn.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor, cursor.copy(
                    f"COPY items ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    return time.perf_counter() - start


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
        print(f"  pandas.read_csv {'':<47} {base:7.3f} s")
        runs = [sqlite_run(folder, path) for _ in range(args.repeat)]
        report("SQLite", {k: min(r[k] for r in runs) for k in runs[0]}, base)
        with postgres_store() as pg:
            if pg is None:
                print("  PostgreSQL skipped: no server on 127.0.0.1:5432")
            else:
                runs = [backend_run(pg, path) for _ in range(args.repeat)]
                report("PostgreSQL", {k: min(r[k] for r in runs) for k in runs[0]}, base)
        if args.profile:
            profile_sqlite(folder, path)


def backend_run(store: Store, path: Path) -> dict[str, float]:
    """One of each: bare, fast path and row path (items only), fast path with tasks."""
    return {"bare": time_bare(store, path),
            "items only (fast path)": time_import(store, path, plan_tasks=False),
            "items only (row path)": time_import(store, path, plan_tasks=False, fast=False),
            "items + policy tasks": time_import(store, path, plan_tasks=True)}


def report(backend: str, took: dict[str, float], base: float) -> None:
    bare = took.pop("bare")
    insert = "INSERT x500" if backend == "SQLite" else "COPY"
    print(f"  bare pyarrow + {insert:<11} {backend:<10} {'':<21} {bare:7.3f} s  "
          f"{bare / base:6.1f}x pandas")
    for what, seconds in took.items():
        print(f"  import_file {backend:<10} {what:<24} {seconds:7.3f} s  "
              f"{seconds / base:6.1f}x pandas  {seconds / bare:5.2f}x bare")


def sqlite_run(folder: Path, path: Path) -> dict[str, float]:
    """One :func:`backend_run` into a fresh SQLite file."""
    with sqlite_store(folder) as store:
        return backend_run(store, path)


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
