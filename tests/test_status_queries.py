"""`annotate status`'s counts (#17 items 4 and 5): the SQL of
`annotate.projects.status_queries` on SQLite and PostgreSQL, the candidate-choice query that
reads only answers carrying a trace, and `status NAME --json`'s quick path
(`annotate.cli.status_json`), which must print byte for byte what the full command prints and
step aside whenever it cannot be sure to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotate.cli.app import app
from annotate.cli.main import main
from annotate.cli.status_json import quick_status
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project, get_project, ledger_summary, project_status
from annotate.projects.policy import CascadeStage, RoutingPolicy
from annotate.projects.status_queries import choice_traces_sql, session_rows
from annotate.services.choice_trace import choice_rows
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, LLMCall, Suggestion, Task


def _trace(action: str, distance: int | None = None) -> dict[str, Any]:
    return {"choice": {"suggestion_id": 1, "shown": [], "action": action, "chosen": 0,
                       "edit_distance": distance}}


# (person, seconds, meta) of final human annotator answers; only the first four carry a trace
ANSWERS: list[tuple[str, float | None, dict[str, Any]]] = [
    ("ann", 4.0, _trace("chose", 0)), ("ann", 10.0, _trace("edited", 7)),
    ("bob", None, _trace("own")), ("bob", 8.0, _trace("edited", 3)),
    ("bob", 5.0, {}), ("ann", 2.0, {"choice": "not a trace"}),
    ("ann", 3.0, {"choice": {"action": "skipped"}}), ("cy", 1.0, {"other": {"action": "own"}}),
]


def _seed(store: Store, *, suggestions: bool = True) -> int:
    """A project with items, tasks in several states, human and LLM answers (traced or not)
    and a ledger; its id."""
    with store.session() as session:
        pid = create_project(session, "counted", LabelSchema.default("classification", ["a", "b"]),
                             budget_usd=2.5).id
        items = [Item(project_id=pid, external_id=f"i{n}", text=f"text {n}") for n in range(8)]
        session.add_all(items)
        session.flush()
        for n, item in enumerate(items):
            session.add(Task(project_id=pid, item_id=item.id, role="annotator",
                             worker_kind="human", status=("done", "pending", "leased")[n % 3]))
            if n < 3:
                session.add(Task(project_id=pid, item_id=item.id, role="annotator",
                                 worker_kind="llm", status="done"))
        for (who, seconds, meta), item in zip(ANSWERS, items, strict=True):
            session.add(Annotation(project_id=pid, item_id=item.id, annotator_id=who,
                                   annotator_kind="human", value={"label": "a"},
                                   human_seconds=seconds, meta=meta))
        session.add(Annotation(project_id=pid, item_id=items[0].id, annotator_id="m",
                               annotator_kind="llm", value={"label": "b"},
                               meta=_trace("chose", 0)))  # an LLM answer is no person's choice
        session.add(Annotation(project_id=pid, item_id=items[1].id, annotator_id="ann",
                               annotator_kind="human", value={"label": "b"}, phase="blind",
                               meta=_trace("own")))  # nor a blind first answer
        for cached, outcome, cost in ((False, "ok", 0.25), (False, "invalid", 0.5),
                                      (True, "ok", 0.0), (False, "error", 0.0)):
            session.add(LLMCall(project_id=pid, request_hash="h", model="m", cached=cached,
                                outcome=outcome, cost_usd=cost, prompt_tokens=10,
                                completion_tokens=5))
        if suggestions:
            session.add(Suggestion(project_id=pid, item_id=items[0].id, candidates=[]))
    return pid


def test_status_counts_and_ledger(store: Store) -> None:
    pid = _seed(store)
    with store.session() as session:
        status = project_status(session, get_project(session, "counted")).as_dict()
        ledger = ledger_summary(session, pid)
    assert status == {
        "name": "counted", "kind": "classification", "items": 8,
        "tasks": {"done": 6, "pending": 3, "leased": 2},
        "tasks_by_role": {"annotator": {"done": 6, "pending": 3, "leased": 2}},
        "annotations": {"human": 9, "llm": 1}, "llm_calls": 4, "cost_usd": 0.75,
        "budget_usd": 2.5}
    assert list(status["tasks"]) == ["done", "leased", "pending"]  # by role, then state
    assert ledger == {"calls": 3.0, "cost_usd": 0.75, "tokens": 45.0, "cached": 1.0,
                      "not_ok": 2.0}


def test_the_choice_query_reads_only_answers_that_carry_a_trace(store: Store) -> None:
    pid = _seed(store)
    with store.session() as session:
        dialect = session.get_bind().dialect.name
        read = session_rows(session)(choice_traces_sql(dialect), {"pid": pid})
        rows = choice_rows(session, pid)
    assert sorted((tuple(row) for row in read), key=str) == [
        ("ann", 10.0, "edited", 7), ("ann", 4.0, "chose", 0), ("bob", 8.0, "edited", 3),
        ("bob", None, "own", None)]
    assert [r["person"] for r in rows] == ["ann", "bob"]
    ann, bob = rows
    assert (ann["answers"], ann["chose_share"], ann["edited_share"]) == (2, 0.5, 0.5)
    assert (ann["median_s_chose"], ann["median_s_own"], ann["median_edit_distance"]) == (
        4.0, None, 7)
    assert (bob["answers"], bob["own_share"], bob["median_s_own"]) == (2, 0.5, None)
    assert bob["median_edit_distance"] == 3 and isinstance(bob["median_edit_distance"], int)


def test_no_choice_table_without_helper_candidates(store: Store) -> None:
    pid = _seed(store, suggestions=False)
    with store.session() as session:
        assert choice_rows(session, pid) == []


def _full(url: str, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What the full Typer command prints."""
    capsys.readouterr()
    app(args=["--db", url, "status", name, "--json"], standalone_mode=False)
    return capsys.readouterr().out


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def test_the_quick_path_prints_what_the_full_command_prints(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(store)
    url = _url(store)
    quick = quick_status(["--db", url, "status", "counted", "--json"])
    assert quick is not None
    assert quick + "\n" == _full(url, "counted", capsys)
    assert json.loads(quick)["candidate_choice"][0]["person"] == "ann"
    for args in (["-q", "--db", url, "status", "--json", "counted"],
                 [f"--db={url}", "status", "counted", "--json"]):
        assert quick_status(args) == quick
    assert main(["--db", url, "status", "counted", "--json"]) == 0
    assert capsys.readouterr().out == quick + "\n"


def test_the_quick_path_reads_the_database_from_the_environment(
        sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(sqlite_store)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANNOTATE_DB", _url(sqlite_store))
    quick = quick_status(["status", "counted", "--json"])
    assert quick is not None
    bare = _url(sqlite_store).removeprefix("sqlite:///")  # a path, as the store reads one
    assert quick_status(["--db", bare, "status", "counted", "--json"]) == quick
    (tmp_path / ".env").write_text("ANNOTATE_MODEL=x\n")  # the full path reads it
    monkeypatch.delenv("ANNOTATE_DB")
    assert quick_status(["status", "counted", "--json"]) is None


def test_the_quick_path_steps_aside(sqlite_store: Store, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    _seed(sqlite_store)
    url = _url(sqlite_store)
    with sqlite_store.session() as session:
        create_project(session, "staged", LabelSchema.default("classification", ["a", "b"]),
                       policy=RoutingPolicy(llm_annotations=1, cascade=[
                           CascadeStage(annotator="fake/a", threshold=0.9),
                           CascadeStage(annotator="fake/b", threshold=0.8)]))
    declined = [["--db", url, "status", "staged", "--json"],  # a cascade's table
                ["--db", url, "status", "nobody", "--json"],  # the full path names the known
                ["--db", url, "status", "counted"],  # the table, not JSON
                ["--db", url, "status", "counted", "--json", "--help"],
                ["--db", url, "project", "list", "--json"],
                ["--db", f"sqlite:///{tmp_path}/new.db", "status", "counted", "--json"],
                ["--db", "postgresql+psycopg://u@127.0.0.1:1/x", "status", "counted", "--json"],
                ["--db", "postgresql+asyncpg://u@127.0.0.1/x", "status", "counted", "--json"],
                ["--version", "status", "counted", "--json"]]
    for args in declined:
        assert quick_status(args) is None, args
    assert not (tmp_path / "new.db").exists()  # nothing created on the way
    assert json.loads(_full(url, "staged", capsys))["cascade"][-1]["stage"] == "people"
    with sqlite_store.session() as session:  # a database not at head: the full path migrates
        session.connection().exec_driver_sql("UPDATE alembic_version SET version_num = '0009'")
    assert quick_status(["--db", url, "status", "counted", "--json"]) is None
