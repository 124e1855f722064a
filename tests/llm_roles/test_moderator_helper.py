"""Moderator (only on disagreement, both orders, rationale) and Helper (suggestions first)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from annotate.kinds.schema import LabelSchema
from annotate.llm.gateway import Gateway
from annotate.llm.testing import Reply, install_fake, reply
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Suggestion, Task
from roles.runner import run_project
from tests.llm_roles.conftest import answer_json

POLICY = RoutingPolicy(human_annotations=1, llm_annotations=1, adjudicate_below=0.5)


def _moderator_picks(label: str) -> Callable[[str, list[dict[str, Any]], dict[str, Any]], Reply]:
    """A fake model: the annotator says 'neg'; the moderator picks the option showing `label`."""

    def respond(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
        system, user = messages[0]["content"], messages[1]["content"]
        if "You are a moderator" not in system:
            return reply(answer_json(reason="r", label="neg", confidence=90))
        options = dict(re.findall(r'<answer name="(\w)">([^<]*)</answer>', user))
        name = next(k for k, v in options.items() if v == label)
        return reply(answer_json(reason=f"{label} fits", best=name, confidence=80))

    return respond


def _moderation(store: Store) -> list[Task]:
    with store.session() as s:
        return list(s.scalars(select(Task).where(Task.role.in_(("moderator", "adjudicator")))))


def test_no_moderator_when_people_and_llm_agree(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items(["broke"], policy=POLICY, human_labels={0: [{"label": "neg"}]})
    install_fake(responder=_moderator_picks("neg"))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    assert _moderation(sqlite_store) == []


def test_moderator_picks_consistently_with_a_rationale(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items(["great, love it"], policy=POLICY, human_labels={0: [{"label": "pos"}]})
    fake = install_fake(responder=_moderator_picks("pos"))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    with sqlite_store.session() as s:
        decision = s.scalars(select(Annotation).where(Annotation.role == "moderator")).one()
    assert decision.value == {"label": "pos"} and decision.rationale == "pos fits"
    assert decision.meta["position_consistent"] is True and decision.confidence == 0.8
    moderator_prompts = [c for c in fake.calls if "moderator" in c["messages"][0]["content"]]
    assert len(moderator_prompts) == 2  # asked in both orders
    shown = [re.findall(r'<answer name="\w">([^<]*)</answer>', c["messages"][1]["content"])
             for c in moderator_prompts]
    assert shown[0] == list(reversed(shown[1]))
    assert "human" not in moderator_prompts[0]["messages"][1]["content"].lower()
    assert [t.role for t in _moderation(sqlite_store)] == ["moderator"]  # no adjudication


def test_position_bias_sends_the_item_to_a_person(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items(["great, love it"], policy=POLICY, human_labels={0: [{"label": "pos"}]})

    def always_first(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
        if "You are a moderator" in messages[0]["content"]:
            return reply(answer_json(reason="the first one", best="A", confidence=95))
        return reply(answer_json(reason="r", label="neg", confidence=90))

    install_fake(responder=always_first)
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    with sqlite_store.session() as s:
        decision = s.scalars(select(Annotation).where(Annotation.role == "moderator")).one()
    assert decision.meta["position_consistent"] is False and decision.confidence == 0.0
    roles = sorted(t.role for t in _moderation(sqlite_store))
    assert roles == ["adjudicator", "moderator"]


def test_helper_prepares_candidates_before_people_choose(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    policy = RoutingPolicy(helper_first=True, helper_candidates=2, human_annotations=1,
                           llm_annotations=0)
    pid = make_items(["The meeting moved to Tuesday because the room was booked."],
                     schema=LabelSchema(kind="text"), policy=policy)
    with sqlite_store.session() as s:
        assert [t.role for t in s.scalars(select(Task))] == ["helper"]
    install_fake(default=reply(answer_json(candidates=[
        {"text": "Meeting moved to Tuesday (room booked)."},
        {"text": "The room was taken, so the meeting is on Tuesday."}])))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    with sqlite_store.session() as s:
        suggestion = s.scalars(select(Suggestion)).one()
        tasks = sorted((t.role, t.worker_kind, t.status) for t in s.scalars(select(Task)))
    assert [c["text"] for c in suggestion.candidates][1].startswith("The room")
    assert suggestion.candidates[0]["value"] == {
        "text": "Meeting moved to Tuesday (room booked).", "candidate": 0, "edited": False}
    assert suggestion.model == "fake/m" and suggestion.guideline_version
    assert tasks == [("annotator", "human", "pending"), ("helper", "llm", "done")]
