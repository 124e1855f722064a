"""A cascade of annotators as policy data: items go stage by stage by confidence, to people
after the last stage (real database, a scripted fake LLM at the litellm boundary)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from annotate.errors import InvalidInput
from annotate.llm.client import make_client
from annotate.llm.testing import Step, install_fake, malformed, reply
from annotate.projects.policy import RoutingPolicy, parse_policy
from annotate.queue.cascade import (
    PEOPLE,
    SETTLED,
    WAIT,
    StageAnswer,
    StageTask,
    next_step,
)
from annotate.queue.leases import Provenance, claim_next_task, fail_task, submit_annotation
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, Task
from roles.runner import run_project
from tests.factories import make_project

CASCADE = RoutingPolicy(human_annotations=1, llm_annotations=1, max_attempts=1,
                        cascade=[{"annotator": "fake/a", "threshold": 0.9},  # type: ignore[list-item]
                                 {"annotator": "fake/b", "threshold": 0.8}])

# confidence (0-100) per model and item text; None: a malformed answer (the task fails)
SCRIPT: dict[str, dict[str, int | None]] = {
    "a": {"text number 0": 95, "text number 1": 50, "text number 2": 50, "text number 3": None},
    "b": {"text number 1": 90, "text number 2": 40, "text number 3": 85},
}


def _respond(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Step:
    stage = model.rsplit("/", 1)[-1]
    text = next(t for t in SCRIPT[stage] if t in messages[-1]["content"])
    confidence = SCRIPT[stage][text]
    if confidence is None:
        return malformed()
    label = "a" if stage == "a" else "b"
    return reply(json.dumps({"label": label, "reason": "r", "confidence": confidence}))


def _human_items(store: Store) -> list[str]:
    with store.session() as session:
        return sorted(session.scalars(select(Item.external_id).join(Task).where(
            Task.worker_kind == "human")).all())


def _llm_answers(store: Store) -> dict[str, list[tuple[str | None, str, float | None]]]:
    """item -> [(model, phase, confidence)] of its LLM annotator answers, in order."""
    out: dict[str, list[tuple[str | None, str, float | None]]] = {}
    with store.session() as session:
        for ext, model, phase, confidence in session.execute(
                select(Item.external_id, Annotation.model, Annotation.phase,
                       Annotation.confidence).join(Item).where(
                    Annotation.annotator_kind == "llm").order_by(Annotation.id)):
            out.setdefault(ext, []).append((model, phase, confidence))
    return out


def test_items_go_stage_by_stage_and_to_people_after_the_last(store: Store) -> None:
    pid = make_project(store, 4, policy=CASCADE)
    assert _human_items(store) == []  # people wait for the cascade
    fake = install_fake(responder=_respond, models=("a", "b"), price_per_token=(1e-6, 1e-6))
    stats = run_project(store, "p", make_client(store, pid, "fake/a"), model="fake/a",
                        roles=("annotator",))
    assert stats.done == 6 and stats.failed == 1
    assert sorted(c["model"].rsplit("/", 1)[-1] for c in fake.calls) == ["a"] * 4 + ["b"] * 3
    answers = _llm_answers(store)
    assert answers["i0"] == [("fake/a", "final", 0.95)]  # sure at stage 1: settled
    assert answers["i1"] == [("fake/a", "passed", 0.5), ("fake/b", "final", 0.9)]
    assert answers["i2"] == [("fake/a", "passed", 0.5), ("fake/b", "final", 0.4)]
    assert answers["i3"] == [("fake/b", "final", 0.85)]  # stage 1 failed: stage 2 decided
    assert _human_items(store) == ["i2"]  # unsure after the last stage
    with store.session() as session:
        slots = session.execute(select(Item.external_id, Task.slot).join(Item).where(
            Task.worker_kind == "llm").order_by(Item.external_id, Task.slot)).all()
    assert [tuple(r) for r in slots] == [("i0", 0), ("i1", 0), ("i1", 1), ("i2", 0), ("i2", 1),
                                         ("i3", 0), ("i3", 1)]


def _answer(store: Store, confidence: float, label: str = "a") -> None:
    task = claim_next_task(store, "w", worker_kind="llm")
    assert task is not None
    submit_annotation(store, task.id, {"label": label},
                      Provenance("m", "llm", confidence=confidence), worker_id="w")


def test_a_one_stage_cascade_routes_as_human_below_confidence(store: Store) -> None:
    """The cascade generalises LLM first: one stage is the old threshold, item for item."""
    old = RoutingPolicy(human_annotations=1, llm_annotations=1, max_attempts=1,
                        human_below_confidence=0.8)
    one = old.model_copy(update={"human_below_confidence": None, "cascade": [
        parse_policy({"cascade": [{"annotator": "m", "threshold": 0.8}]}).cascade[0]]})
    seen = []
    for policy, name in ((old, "old"), (one, "one")):
        pid = make_project(store, 4, policy=policy, name=name)
        for confidence in (0.95, 0.5, 0.8):
            _answer(store, confidence)
        task = claim_next_task(store, "w", worker_kind="llm")
        assert task is not None
        fail_task(store, task.id, "w", "invalid output")
        with store.session() as session:
            seen.append(sorted(session.scalars(select(Item.external_id).join(Task).where(
                Task.worker_kind == "human", Task.project_id == pid)).all()))
    assert seen == [["i1", "i3"], ["i1", "i3"]]


def test_without_a_cascade_people_come_after_the_one_llm_answer(store: Store) -> None:
    policy = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.8)
    make_project(store, 2, policy=policy)
    _answer(store, 0.5)
    _answer(store, 0.9)
    assert _human_items(store) == ["i0"]
    with store.session() as session:  # no second stage, no answer passed on
        assert session.scalar(select(Task.slot).where(Task.worker_kind == "llm")
                              .order_by(Task.slot.desc()).limit(1)) == 0
        assert set(session.scalars(select(Annotation.phase)).all()) == {"final"}


POLICY = parse_policy({"cascade": [{"annotator": "x", "threshold": 0.9},
                                   {"annotator": "y", "threshold": 0.7}]})


@pytest.mark.parametrize(("tasks", "answers", "step"), [
    ([StageTask(0, "leased")], [], WAIT),
    ([StageTask(0, "done")], [StageAnswer(0, {"label": "a"}, 0.95)], SETTLED),
    ([StageTask(0, "done")], [StageAnswer(0, {"label": "a"}, 0.5)], next_step(
        "classification", POLICY, [StageTask(0, "failed")], [])),
    ([StageTask(0, "done"), StageTask(1, "done")],
     [StageAnswer(0, {"label": "a"}, 0.5), StageAnswer(1, {"label": "b"}, 0.7)], SETTLED),
    ([StageTask(0, "done"), StageTask(1, "done")],
     [StageAnswer(0, {"label": "a"}, 0.99), StageAnswer(1, {"label": "b"}, 0.6)], PEOPLE),
    ([StageTask(0, "done"), StageTask(1, "failed")], [StageAnswer(0, {"label": "a"}, 0.5)],
     PEOPLE),
    ([StageTask(3, "done")], [StageAnswer(3, {"label": "a"}, 0.99)], PEOPLE),  # shortened
    ([], [StageAnswer(None, {"label": "a"}, 0.99)], PEOPLE),  # imported, no stage task
])
def test_next_step(tasks: list[StageTask], answers: list[StageAnswer], step: Any) -> None:
    assert next_step("classification", POLICY, tasks, answers) == step


def test_an_unsure_or_failed_first_stage_asks_the_second() -> None:
    for status, conf in (("done", 0.5), ("failed", None)):
        answers = [StageAnswer(0, {"label": "a"}, conf)] if conf is not None else []
        assert next_step("classification", POLICY, [StageTask(0, status)], answers).stage == 1


@pytest.mark.parametrize(("cascade", "extra", "message"), [
    ([{"annotator": "distilled:", "threshold": 0.9}], {}, "distilled:NAME"),
    ([{"annotator": "a model", "threshold": 0.9}], {}, "without spaces"),
    ([{"annotator": "x/y", "threshold": 1.2}], {}, "less than or equal to 1"),
    ([{"annotator": "x/y", "threshold": True}], {}, "not true/false"),
    ([{"annotator": "x/y"}], {}, "threshold: Field required"),
    ([{"annotator": "x/y", "threshold": 0.5, "cost": 1}], {}, "Extra inputs"),
    ([{"annotator": "x/y", "threshold": 0.5}] * 2, {}, "x/y is listed twice"),
    ([{"annotator": "x/y", "threshold": 0.5}], {"llm_annotations": 2}, "llm_annotations"),
    ([{"annotator": "x/y", "threshold": 0.5}], {"human_below_confidence": 0.5},
     "human_below_confidence must be unset"),
    ([{"annotator": "x/y", "threshold": 0.5}], {"helper_first": True}, "helper_first"),
])
def test_an_invalid_cascade_is_one_clear_error(cascade: list[dict[str, Any]],
                                               extra: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_policy({"cascade": cascade, **extra}, source="policy.json")
    assert str(caught.value).startswith("policy.json: ") and "\n" not in str(caught.value)


def test_setting_a_cascade_sends_unsure_items_to_the_next_stage_not_to_people(
        store: Store) -> None:
    from annotate.queue.reconcile import set_policy
    from annotate.store.models import Project

    old = RoutingPolicy(human_annotations=1, llm_annotations=1, human_below_confidence=0.8)
    make_project(store, 2, policy=old)
    _answer(store, 0.5)  # i0: unsure -> a person was asked
    _answer(store, 0.95)  # i1: sure
    assert _human_items(store) == ["i0"]
    cascade = old.model_copy(update={"human_below_confidence": None, "cascade": parse_policy(
        {"cascade": [{"annotator": "m", "threshold": 0.8},
                     {"annotator": "n", "threshold": 0.9}]}).cascade})
    with store.session() as session:
        change = set_policy(session, session.scalars(select(Project)).one(), cascade)
    assert change.created == {("annotator", "llm"): 1}  # i0's second stage
    assert change.cancelled == {("annotator", "human"): 1}  # people wait for it
    task = claim_next_task(store, "w", worker_kind="llm")
    assert task is not None
    with store.session() as session:
        assert session.get_one(Task, task.id).slot == 1
    submit_annotation(store, task.id, {"label": "b"}, Provenance("n", "llm", confidence=0.95),
                      worker_id="w")
    assert _human_items(store) == ["i0"]  # only the cancelled task: nobody new is asked
    answers = _llm_answers(store)
    assert [phase for _, phase, _ in answers["i0"]] == ["passed", "final"]  # stage 2 decides
    assert [phase for _, phase, _ in answers["i1"]] == ["final"]


def test_a_batched_run_answers_each_task_with_its_stage(store: Store) -> None:
    pid = make_project(store, 4, policy=CASCADE)
    fake = install_fake(responder=_respond, models=("a", "b"), price_per_token=(1e-6, 1e-6))
    run_project(store, "p", make_client(store, pid, "fake/a"), model="fake/a",
                roles=("annotator",), batch_size=3)
    assert sorted(c["model"].rsplit("/", 1)[-1] for c in fake.calls) == ["a"] * 4 + ["b"] * 3
    answers = _llm_answers(store)
    assert answers["i1"] == [("fake/a", "passed", 0.5), ("fake/b", "final", 0.9)]
    assert _human_items(store) == ["i2"]
