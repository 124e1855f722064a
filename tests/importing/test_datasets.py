"""The shipped datasets import whole, with their existing answers and the policy's tasks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from annotate.io.importing import import_file
from annotate.kinds.schema import LabelSchema
from annotate.projects.policy import default_policy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Task
from tests.importing.conftest import MakeProject
from tests.importing.helpers import CHOICE, SPANS

CONVABUSE_LABELS = ["not_abusive", "ambiguous", "mildly_abusive", "strongly_abusive",
                    "very_strongly_abusive"]


def by_kind(store: Store) -> dict[str, int]:
    with store.session() as session:
        rows = session.execute(select(Annotation.annotator_kind, func.count())
                               .group_by(Annotation.annotator_kind))
        return {kind: int(n) for kind, n in rows}


def tasks_by(store: Store) -> Counter[tuple[str, str]]:
    with store.session() as session:
        return Counter((role, kind) for role, kind in
                       session.execute(select(Task.role, Task.worker_kind)))


def test_convabuse(store: Store, make_project: MakeProject, shared_data: Path) -> None:
    project = make_project("convabuse", LabelSchema(kind="classification",
                                                    labels=CONVABUSE_LABELS))
    result = import_file(store, project, shared_data / "convabuse" / "convabuse_dev.csv")
    assert (result.format, result.items, result.annotations, result.skipped) == (
        "labelled-csv", 2093, 6246, 0)
    assert by_kind(store) == {"human": 6246}
    with store.session() as session:
        item = session.scalar(select(Item).where(Item.external_id == "convabuse_00000"))
        assert item is not None and item.text == "do you rember japan"
        assert item.meta == {"prev_agent": "Does that question interest you?",
                             "prev_user": "because my finger is happy",
                             "agent": "Why do you say your finger is happy?",
                             "bot": "E.L.I.Z.A."}
        annotators = session.scalars(select(func.count(func.distinct(Annotation.annotator_id))))
        assert annotators.one() == 8
    # Every item already has >= 2 human answers: only the LLM annotator is still needed.
    assert tasks_by(store) == {("annotator", "llm"): 2093}
    assert result.tasks == 2093


def test_factrueval_spans(store: Store, make_project: MakeProject, shared_data: Path) -> None:
    project = make_project("factru", SPANS)
    path = shared_data / "factrueval2016_ner" / "factrueval2016_ner_dev.jsonl"
    result = import_file(store, project, path)
    assert (result.format, result.items, result.annotations) == ("spans-jsonl", 2483, 2483)
    with store.session() as session:
        gold = session.scalars(select(Annotation)).all()
        assert {(a.annotator_id, a.annotator_kind, a.role, a.source) for a in gold} == {
            ("gold", "human", "annotator", "import")}
        assert all(a.meta == {"gold": True} for a in gold)
        mentions = Counter(s["label"] for a in gold for s in a.value["spans"])
        assert mentions == {"ORG": 1520, "PER": 1017, "LOCORG": 700, "LOC": 581}
        first = session.scalar(select(Item).where(Item.external_id == "factru_book_105_000"))
        assert first is not None
        span = next(a for a in gold if a.item_id == first.id).value["spans"][0]
        assert first.text[span["start"]:span["end"]] == span["text"] == "Герольд Кемпинг"
        ids = session.scalars(select(Item.external_id)).all()
    policy = default_policy("spans")  # one human (gold covers it) + a share doubled, one LLM
    doubled = sum(policy.needs_double(ext) for ext in ids)
    assert tasks_by(store) == {("annotator", "llm"): 2483, ("annotator", "human"): doubled}
    assert result.tasks == 2483 + doubled


def test_pandalm_pairwise(store: Store, make_project: MakeProject, shared_data: Path) -> None:
    project = make_project("pandalm", CHOICE)
    path = shared_data / "pandalm_pairwise" / "pandalm_pairwise_dev.jsonl"
    result = import_file(store, project, path)
    assert (result.format, result.items) == ("pairwise-jsonl", 504)
    assert by_kind(store) == {"human": 1512, "llm": 1008 - 12}
    assert result.skipped == 12 and len(result.notes) == 12
    assert all("empty label from gpt-3.5-turbo skipped" in note for note in result.notes)
    with store.session() as session:
        item = session.scalar(select(Item).where(Item.external_id == "pandalm_0012"))
        assert item is not None
        assert set(item.data) == {"options", "instruction", "input"}
        assert set(item.data["options"]) == {"response1", "response2"}
        assert item.text == f"{item.data['instruction']}\n\n{item.data['input']}"
        assert item.meta["model1"] == "bloom-7b"
        judge = session.scalar(select(Annotation).where(
            Annotation.item_id == item.id, Annotation.annotator_id == "pandalm-7b"))
        assert judge is not None
        assert (judge.annotator_kind, judge.model, judge.value) == (
            "llm", "pandalm-7b", {"choice": "response1"})
        assert judge.rationale is not None and judge.rationale.startswith("Response 1 is better")
        assert judge.meta == {"raw": 1}
    # Every item has its human and LLM answers already: only disagreements get a moderator.
    roles = tasks_by(store)
    assert set(roles) == {("moderator", "llm")}
    assert result.tasks == roles["moderator", "llm"] > 0
