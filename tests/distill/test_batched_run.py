"""`run_project(..., batch_size=N)`: workers claim, answer and store N tasks at a time; the
annotator with a distilled model labels each batch in one call, an LLM one task at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annotate.cli.main import main
from annotate.distill.train import distill_project
from annotate.llm.client import make_client
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Project, Task
from roles.runner import run_project
from tests.distill.conftest import TOY
from tests.factories import make_project


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("ANNOTATE_MODELS_DIR", str(folder))
    return folder


def test_a_distilled_model_labels_the_queue_in_batches(
        store: Store, toy_project: Callable[..., str], models: Path) -> None:
    toy_project(store)
    distill_project(store, "toy")
    with store.session() as session:
        pid = session.scalars(select(Project.id)).one()
    stats = run_project(store, "toy", make_client(store, pid, "distilled:toy"),
                        model="distilled:toy", roles=("annotator",), batch_size=16)
    assert stats.done == 40 and stats.failed == 0 and stats.by_role == {"annotator": 40}
    with store.session() as session:
        rows = session.execute(select(Annotation, Item.external_id).join(Item).where(
            Annotation.annotator_kind == "llm")).all()
        open_tasks = session.scalar(select(func.count()).select_from(Task).where(
            Task.worker_kind == "llm", Task.status.in_(("pending", "leased"))))
    assert len(rows) == 40 and open_tasks == 0
    truth = {ext: label for ext, _, label in TOY}
    assert sum(a.value["label"] == truth[ext] for a, ext in rows) >= 38
    assert all(a.model == "distilled:toy" and a.confidence is not None for a, _ in rows)


def test_an_llm_answers_a_batch_task_by_task_and_the_limit_holds(store: Store) -> None:
    pid = make_project(store, 10)
    stats = run_project(store, "p", make_client(store, pid, "dry-run"), model="dry-run",
                        roles=("annotator",), batch_size=4, limit=6)
    assert stats.done + stats.failed == 6
    stats = run_project(store, "p", make_client(store, pid, "dry-run"), model="dry-run",
                        roles=("annotator",), batch_size=4, workers=2)
    with store.session() as session:
        done = session.scalar(select(func.count()).select_from(Task).where(
            Task.status == "done"))
        annotations = session.scalar(select(func.count()).select_from(Annotation))
    assert done == annotations == 10


def test_annotate_run_batch(store: Store, db_url: str, capsys: pytest.CaptureFixture[str]
                            ) -> None:
    make_project(store, 9)
    assert main(["--db", db_url, "run", "p", "--model", "dry-run", "--role", "annotator",
                 "--batch", "4", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tasks"]["pending"] == summary["tasks"]["leased"] == 0
    assert summary["tasks"]["done"] + summary["tasks"]["failed"] == 9


def test_a_batch_reads_its_items_in_one_statement_in_the_tasks_order(
        store: Store, toy_project: Callable[..., str]) -> None:
    """The distilled annotator's batch reads its items once (one read per item cost two thirds
    of the model's time), each task still gets its own item's text."""
    from sqlalchemy import event

    from roles.base import ProjectContext, RoleContext

    toy_project(store)
    with store.session() as session:
        pid = session.scalars(select(Project.id)).one()
        ids = session.scalars(select(Item.id).order_by(Item.id.desc()).limit(5)).all()
        texts = {i: t for i, t in session.execute(select(Item.id, Item.text))}
    ctx = RoleContext(store=store, llm=make_client(store, pid, "dry-run"),
                      project=ProjectContext.load(store, "toy"), model="dry-run")
    statements: list[str] = []

    def seen(conn: object, cursor: object, sql: str, *args: object) -> None:
        statements.append(sql)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        wanted = [*ids, ids[0]]  # newest first, and one item twice
        items = ctx.items(wanted)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert [it.id for it in items] == wanted
    assert [it.text for it in items] == [texts[i] for i in wanted]
    assert sum("FROM items" in sql for sql in statements) == 1
