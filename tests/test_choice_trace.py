"""What people chose among the Helper's candidates (#19 item 3), on SQLite and PostgreSQL:
the trace each answer stores (shown candidates with scores, the choice, the edit distance),
the per-person shares and seconds of the dashboard, the export's lines and cells, a changed
answer decided again, and no trace where no candidate was on screen."""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from annotate.cli.main import main
from annotate.io.exporting import export_project
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.choice_trace import _levenshtein, choice_use, edit_distance, shares_long
from annotate.services.history import change_answer
from annotate.services.people import add_person, grant
from annotate.services.workspace import WorkView, load_view, open_next_task, submit_answer
from annotate.store.engine import Store
from annotate.store.models import Annotation, Suggestion
from tests.ui.seed import _items

TWO_PEOPLE = RoutingPolicy(human_annotations=2, llm_annotations=0)
SOURCES = ["The delivery guy showed up way after the slot.", "Nobody picks up the phone.",
           "Тут всё сломалось 😡"]
REWRITES = [  # stored best first, with ids and scores as the Helper stores them
    [("The courier came late.", 0.91), ("The parcel arrived after its slot.", 0.74)],
    [("No one answers the phone.", 0.88), ("The phone rings unanswered.", 0.61)],
    [("Здесь всё сломано 😡", 0.8)],
]


@pytest.mark.parametrize(("a", "b", "distance"), [
    ("kitten", "sitting", 3), ("", "abc", 3), ("same", "same", 0),
    ("Тут всё 😡", "Там всё 😡!", 3), ("flaw", "lawn", 2), ("aaa", "aa", 1),
    ("abab", "baba", 2), ("abcab", "ab", 3),
])
def test_edit_distance_counts_characters(a: str, b: str, distance: int) -> None:
    assert _levenshtein(a, b) == distance == _levenshtein(b, a)
    assert edit_distance(a, b) == distance


def _full_table(a: str, b: str) -> int:
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[-1][-1]


def test_edit_distance_with_shared_ends_trimmed_is_the_full_tables() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        a, b = ("".join(rng.choice("ab ") for _ in range(rng.randint(0, 9))) for _ in "ab")
        assert _levenshtein(a, b) == _full_table(a, b), (a, b)


def _text_project(store: Store) -> int:
    with store.session() as session:
        pid = create_project(session, "paraphrase", LabelSchema(kind="text"),
                             policy=TWO_PEOPLE).id
        for who in ("ann", "bob"):
            add_person(session, who)
            grant(session, who, "paraphrase")
    for item_id, rewrites in zip(_items(store, pid, SOURCES, TWO_PEOPLE), REWRITES,
                                 strict=True):
        with store.session() as session:
            session.add(Suggestion(project_id=pid, item_id=item_id, model="local/smollm2",
                                   stats={"asked": 2, "found": len(rewrites)}, candidates=[
                {"value": {"text": text, "candidate": i}, "text": text, "score": score,
                 "scores": {"meaning": score, "length_ratio": 1.0}, "id": f"c{i}", "index": i}
                for i, (text, score) in enumerate(rewrites)]))
    return pid


def _next(store: Store, who: str, pid: int) -> WorkView:
    view = open_next_task(store, who, pid)
    assert view is not None
    return view


def _answer_text(store: Store, pid: int, who: str, how: str, seconds: float) -> Annotation:
    """Answer the person's next item as the workspace's text widget would."""
    view = _next(store, who, pid)
    first = view.candidates[0].text or ""
    value: dict[str, Any] = {
        "chose": {"text": first, "candidate": 0, "edited": False},
        "edited": {"text": first.rstrip(".") + " again.", "candidate": 0, "edited": True},
        "own": {"text": "My own words for it.", "edited": False},
    }[how]
    return submit_answer(store, view, who, value, seconds=seconds)


def _traces(store: Store, pid: int) -> dict[tuple[str, str], dict[str, Any]]:
    with store.session() as session:
        rows = session.execute(select(Annotation.annotator_id, Annotation.value,
                                      Annotation.meta).where(Annotation.project_id == pid))
        return {(who, value["text"]): meta["choice"] for who, value, meta in rows}


def test_each_answer_records_what_was_shown_and_chosen(store: Store) -> None:
    pid = _text_project(store)
    _answer_text(store, pid, "ann", "chose", 4.0)
    _answer_text(store, pid, "ann", "edited", 9.0)
    _answer_text(store, pid, "ann", "own", 30.0)
    traces = _traces(store, pid)
    chose = traces[("ann", "The courier came late.")]
    assert chose["shown"] == [
        {"id": "c0", "index": 0, "score": 0.91, "text": "The courier came late.",
         "scores": {"meaning": 0.91, "length_ratio": 1.0}},
        {"id": "c1", "index": 1, "score": 0.74, "text": "The parcel arrived after its slot.",
         "scores": {"meaning": 0.74, "length_ratio": 1.0}}]
    assert chose["suggestion_id"] is not None
    assert {k: chose[k] for k in ("action", "chosen", "chosen_id", "edit_distance")} == {
        "action": "chose", "chosen": 0, "chosen_id": "c0", "edit_distance": 0}
    edited = traces[("ann", "No one answers the phone again.")]
    assert (edited["action"], edited["chosen"], edited["edit_distance"]) == ("edited", 0, 6)
    assert edited["edit_share"] == round(6 / len("No one answers the phone."), 4)
    own = traces[("ann", "My own words for it.")]
    assert (own["action"], own["chosen"], own["edit_distance"]) == ("own", None, None)
    assert [c["text"] for c in own["shown"]] == ["Здесь всё сломано 😡"]


def test_the_dashboard_shares_and_seconds_per_person(store: Store) -> None:
    pid = _text_project(store)
    for how, seconds in (("chose", 4.0), ("chose", 6.0), ("own", 30.0)):
        _answer_text(store, pid, "ann", how, seconds)
    for how, seconds in (("edited", 12.0), ("edited", 20.0), ("chose", 3.0)):
        _answer_text(store, pid, "bob", how, seconds)
    with store.session() as session:
        use = choice_use(session, pid)
    rows = {r["person"]: r for r in use.to_dict("records")}
    assert rows["ann"]["answers"] == rows["bob"]["answers"] == 3
    assert rows["ann"]["chose_share"] == pytest.approx(2 / 3)
    assert rows["ann"]["own_share"] == pytest.approx(1 / 3)
    assert rows["ann"]["edited_share"] == 0
    assert (rows["ann"]["median_s_chose"], rows["ann"]["median_s_own"]) == (5.0, 30.0)
    assert pd.isna(rows["ann"]["median_s_edited"])  # nobody edited: no time to show
    assert rows["bob"]["edited_share"] == pytest.approx(2 / 3)
    assert rows["bob"]["median_s_edited"] == 16.0
    assert rows["bob"]["median_edit_distance"] == 6
    long = shares_long(use)
    assert len(long) == 6
    assert long.groupby("person")["share"].sum().round(9).tolist() == [1.0, 1.0]


def test_export_carries_the_candidates_and_the_choice(store: Store) -> None:
    pid = _text_project(store)
    for how in ("chose", "edited", "own"):
        _answer_text(store, pid, "ann", how, 5.0)
    out = io.StringIO()
    with store.session() as session:
        export_project(session, "paraphrase", "jsonl", out)
    answers = [a for line in out.getvalue().splitlines()
               for a in json.loads(line)["annotations"]]
    assert sorted(a["meta"]["choice"]["action"] for a in answers) == ["chose", "edited", "own"]
    for answer in answers:
        shown = answer["meta"]["choice"]["shown"]
        assert shown and all({"id", "index", "score", "text"} <= set(c) for c in shown)
    out = io.StringIO()
    with store.session() as session:
        export_project(session, "paraphrase", "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    cells = sorted((r["candidate_choice"], r["chosen_candidate"], r["edit_distance"]) for r in rows)
    assert cells == [("chose", "0", "0"), ("edited", "0", "6"), ("own", "", "")]


def test_a_changed_answer_is_decided_again(store: Store) -> None:
    pid = _text_project(store)
    saved = _answer_text(store, pid, "ann", "chose", 4.0)
    change_answer(store, "ann", saved.id, {"text": "The courier came very late.",
                                           "candidate": 0, "edited": True})
    with store.session() as session:
        meta = session.get_one(Annotation, saved.id).meta
    assert (meta["choice"]["action"], meta["choice"]["edit_distance"]) == ("edited", 5)
    assert len(meta["choice"]["shown"]) == 2 and meta["changed_at"]


def _label_project(store: Store, blind: bool = False) -> tuple[int, list[int]]:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=0, blind=blind)
    with store.session() as session:
        pid = create_project(session, "sentiment", LabelSchema(
            kind="classification", labels=["pos", "neg", "neu"]), policy=policy).id
        add_person(session, "ann")
        grant(session, "ann", "sentiment")
    items = _items(store, pid, ["Lovely staff.", "Broken again."], policy)
    with store.session() as session:
        for item_id in items:
            session.add(Suggestion(project_id=pid, item_id=item_id, candidates=[
                {"value": {"label": "pos"}, "text": "kind words", "score": 0.8, "id": "c0",
                 "index": 0},
                {"value": {"label": "neu"}, "text": "no feeling", "score": 0.15, "id": "c1",
                 "index": 1}]))
    return pid, items


def test_label_candidates_record_the_top_one_shown_as_the_prelabel(store: Store) -> None:
    pid, _ = _label_project(store)
    view = _next(store, "ann", pid)
    assert view.prelabel is not None and view.prelabel.source == "helper"
    took = submit_answer(store, view, "ann", {"label": "pos"}, seconds=2.0)
    other = submit_answer(store, _next(store, "ann", pid), "ann", {"label": "neu"},
                          seconds=7.0)
    assert took.meta["choice"]["shown"] == [{"id": "c0", "index": 0, "score": 0.8,
                                             "text": "pos", "value": {"label": "pos"}}]
    assert (took.meta["choice"]["action"], took.meta["choice"]["chosen"]) == ("chose", 0)
    # "neu" is the second candidate, but only the top one was on screen: their own answer
    assert (other.meta["choice"]["action"], other.meta["choice"]["chosen"]) == ("own", None)


def test_no_trace_where_no_candidate_was_on_screen(store: Store) -> None:
    pid, _ = _label_project(store, blind=True)
    view = _next(store, "ann", pid)
    assert view.hides_suggestion
    first = submit_answer(store, view, "ann", {"label": "neg"}, seconds=2.0, blind_phase=True)
    assert "choice" not in first.meta
    view = load_view(store, view.task_id, "ann")  # the same task, now revealed
    assert view.blind_answer == {"label": "neg"} and not view.hides_suggestion
    final = submit_answer(store, view, "ann", {"label": "pos"}, seconds=2.0)
    assert final.meta["choice"]["action"] == "chose"
    assert final.meta["switched_to_suggestion"] is True


def test_status_shows_the_shares_per_person(sqlite_store: Store,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pid = _text_project(sqlite_store)
    for how, seconds in (("chose", 4.0), ("edited", 9.0), ("own", 30.0)):
        _answer_text(sqlite_store, pid, "ann", how, seconds)
    url = sqlite_store.engine.url.render_as_string(hide_password=False)
    capsys.readouterr()
    assert main(["--db", url, "status", "paraphrase"]) == 0
    printed = capsys.readouterr().out
    assert "the Helper's candidates" in printed
    assert "33% (4.0 s)" in printed and "33% (9.0 s)" in printed and "33% (30.0 s)" in printed
    assert main(["--db", url, "status", "paraphrase", "--json"]) == 0
    [ann] = json.loads(capsys.readouterr().out)["candidate_choice"]
    assert (ann["person"], ann["answers"], ann["median_edit_distance"]) == ("ann", 3, 6)
