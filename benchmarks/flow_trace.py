"""How far one label travels: the project's modules it crosses and the database round trips it
takes, for one LLM label (`annotate run`) and one human label (the workspace).

Counts, on a SQLite file with a fake model at litellm's boundary (no network):

- **modules**: distinct modules of this project (``annotate``, ``roles``, ``guidelines``)
  whose functions run while the label is made (a profiler hook on every thread);
- **round trips**: SQL statements sent to the database (SQLAlchemy's
  ``before_cursor_execute``), and among them the transactions (SQLite's ``BEGIN IMMEDIATE``;
  COMMIT is not a statement there).

The LLM figures are the marginal cost of one more item in a run (a run of 1 + N items minus a
run of 1 item, divided by N), so the run's start (loading the project, the roles) is not
charged to every label; the start is printed on its own. docs/architecture.md quotes the
output.

    .venv/bin/python benchmarks/flow_trace.py [--items 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# benchmarks/queue.py shadows the standard library's `queue`: drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OWN = ("annotate", "roles", "guidelines", "ui")


@dataclass
class Trace:
    modules: set[str] = field(default_factory=set)
    statements: list[str] = field(default_factory=list)


@contextmanager
def traced(store: Any) -> Iterator[Trace]:
    """Record the project's modules that run and the SQL statements sent, on every thread."""
    from sqlalchemy import event

    trace = Trace()
    lock = threading.Lock()

    def profile(frame: Any, what: str, _arg: Any) -> None:
        if what == "call":
            name = frame.f_globals.get("__name__", "")
            if name.split(".")[0] in OWN and name != "annotate.llm.testing":  # the fake model
                with lock:
                    trace.modules.add(name)

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        with lock:
            trace.statements.append(" ".join(statement.split())[:90])

    event.listen(store.engine, "before_cursor_execute", on_execute)
    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        yield trace
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
        event.remove(store.engine, "before_cursor_execute", on_execute)


def make_project(store: Any, name: str, texts: list[str], human: int, llm: int) -> int:
    from annotate.io.importing.importer import import_file
    from annotate.kinds.schema import LabelSchema
    from annotate.projects.catalog import create_project
    from annotate.projects.policy import RoutingPolicy

    with store.session() as session:
        pid = create_project(session, name, LabelSchema(kind="classification",
                                                        labels=["pos", "neg"]),
                             policy=RoutingPolicy(human_annotations=human,
                                                  llm_annotations=llm)).id
    path = Path(tempfile.mkdtemp()) / "items.jsonl"
    path.write_text("".join(json.dumps({"id": f"i{i}", "text": t}) + "\n"
                            for i, t in enumerate(texts)))
    import_file(store, name, path)
    return int(pid)


def llm_run(store: Any, name: str, n: int) -> Trace:
    from annotate.llm.client import make_client
    from roles.runner import run_project

    with traced(store) as trace:
        run_project(store, name, make_client(store, None, "fake/m"), model="fake/m",
                    roles=["annotator"], limit=n)
    return trace


def human_label(store: Any, pid: int, person: str) -> Trace:
    from annotate.services.workspace import open_next_task, submit_answer

    with traced(store) as trace:
        view = open_next_task(store, person, pid)
        assert view is not None, "no human task to open"
        submit_answer(store, view, person, {"label": "pos"}, seconds=3.0)
    return trace


def transactions(statements: list[str]) -> int:
    return sum(s.startswith("BEGIN") for s in statements)


def report(title: str, trace: Trace) -> None:
    print(f"{title}: {len(trace.modules)} modules, {len(trace.statements)} statements in "
          f"{transactions(trace.statements)} transactions")
    for statement in trace.statements:
        print(f"    {statement}")
    print("  modules: " + ", ".join(sorted(trace.modules)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10, help="extra items in the LLM run")
    args = parser.parse_args(argv)

    from annotate.llm.testing import install_fake, reply
    from annotate.store.engine import open_store

    install_fake(default=reply('{"reason": "r", "label": "pos", "confidence": 80}'))
    folder = Path(tempfile.mkdtemp())
    store = open_store(f"sqlite:///{folder / 'flow.db'}")
    texts = [f"message {i}: the parcel came on day {i % 7}" for i in range(1 + args.items)]
    make_project(store, "one", texts[:1], human=0, llm=1)
    make_project(store, "many", texts, human=0, llm=1)
    one = llm_run(store, "one", 1)
    many = llm_run(store, "many", 1 + args.items)
    extra = (len(many.statements) - len(one.statements)) / args.items
    extra_tx = (transactions(many.statements) - transactions(one.statements)) / args.items
    report("LLM run of 1 item (start included)", one)
    print(f"LLM label, each further item in the run: {extra:.1f} statements in {extra_tx:.1f} "
          "transactions")

    pid = make_project(store, "people", texts[:3], human=1, llm=0)
    from annotate.services.people import add_person, grant

    with store.session() as session:
        add_person(session, "ann", role="annotator")
        grant(session, "ann", "people")
    human_label(store, pid, "ann")  # warm: the first call loads lazily imported modules
    trace = human_label(store, pid, "ann")
    report("human label (open the next task, submit)", trace)
    store.engine.dispose()


if __name__ == "__main__":
    main()
