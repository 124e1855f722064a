"""Each estimator on the annotator role, through the real gateway (cache, ledger, cost) and
database, with the fake LLM at litellm's boundary: what is stored on the annotation, and that
a confident-and-right answer ranks above an unsure one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from annotate.llm.gateway import Gateway
from annotate.llm.testing import Reply, install_fake, reply, scored
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item, LLMCall
from roles.runner import run_project

SURE, UNSURE = "an absolutely wonderful device", "it is a device"


def answer(label: str, confidence: int = 80) -> str:
    return json.dumps({"label": label, "reason": "r", "confidence": confidence})


def stored(store: Store) -> dict[str, Annotation]:
    with store.session() as s:
        rows = s.execute(select(Annotation, Item.text).join(Item)).all()
        for a, _ in rows:
            s.expunge(a)
    return {text: a for a, text in rows}


def item_text(messages: list[dict[str, Any]]) -> str:
    return SURE if SURE in messages[-1]["content"] else UNSURE


def test_logprob_stores_the_decision_probability_and_orders_sure_above_unsure(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SURE, UNSURE], policy=RoutingPolicy(
        human_annotations=0, llm_annotations=1, confidence="logprob"))

    def respond(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
        if item_text(messages) == SURE:  # the verbalized number says the opposite on purpose
            return scored(answer("pos", 30), "pos", {"pos": -0.01, "neg": -5.0, "I": -1.0})
        return scored(answer("pos", 95), "pos", {"pos": -0.70, "neg": -0.75})

    fake = install_fake(responder=respond)
    assert run_project(sqlite_store, "p", gateway_for(pid), model="fake/m").done == 2
    rows = stored(sqlite_store)
    assert {a.confidence_estimator for a in rows.values()} == {"logprob"}
    sure, unsure = rows[SURE], rows[UNSURE]
    assert sure.confidence_raw == pytest.approx(0.99326, abs=1e-4)
    assert unsure.confidence_raw == pytest.approx(0.51250, abs=1e-4)
    assert sure.confidence == sure.confidence_raw  # no calibrator fitted yet
    assert sure.confidence > unsure.confidence
    assert all(c["params"]["logprobs"] is True and c["params"]["top_logprobs"] == 20
               for c in fake.calls)


def test_logprob_without_logprobs_from_the_server_gives_no_confidence(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SURE], policy=RoutingPolicy(
        human_annotations=0, llm_annotations=1, confidence="logprob"))
    install_fake(default=reply(answer("pos", 90)))  # a server that ignores `logprobs`
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    row = stored(sqlite_store)[SURE]
    assert row.confidence_estimator == "logprob"
    assert row.confidence is None and row.confidence_raw is None  # never the verbalized 0.9


def test_consistency_samples_k_answers_each_its_own_paid_call(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SURE, UNSURE], policy=RoutingPolicy(
        human_annotations=0, llm_annotations=1, confidence="consistency",
        consistency_samples=5))

    def respond(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
        assert params["temperature"] > 0
        if item_text(messages) == SURE:
            return reply(answer("pos", 10))
        return reply(answer("neg" if params["seed"] % 2 == 0 else "pos", 99))

    fake = install_fake(responder=respond, price_per_token=(1e-6, 2e-6))
    assert run_project(sqlite_store, "p", gateway_for(pid), model="fake/m").done == 2
    assert fake.call_count == 10  # k = 5 per item: distinct seeds, so no sample is a cache hit
    assert sorted({c["params"]["seed"] for c in fake.calls}) == [1, 2, 3, 4, 5]
    rows = stored(sqlite_store)
    sure, unsure = rows[SURE], rows[UNSURE]
    assert sure.value == {"label": "pos"} and unsure.value == {"label": "pos"}  # seeds 1, 3, 5
    assert (sure.confidence_raw, unsure.confidence_raw) == (1.0, 0.6)
    assert sure.confidence > unsure.confidence
    assert sure.meta["confidence_detail"]["entropy"] == 0.0
    assert unsure.meta["confidence_detail"]["entropy"] == pytest.approx(0.673, abs=1e-3)
    with sqlite_store.session() as s:
        calls = s.scalars(select(LLMCall).where(LLMCall.project_id == pid)).all()
    assert len(calls) == 10 and not any(c.cached for c in calls)
    per_call = calls[0].cost_usd
    assert per_call > 0 and sure.cost_usd == pytest.approx(5 * per_call)  # every sample paid
    assert len(set(sure.meta["confidence_detail"]["llm_call_ids"])) == 5


def test_consistency_counts_an_invalid_sample_as_disagreeing(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SURE], policy=RoutingPolicy(
        human_annotations=0, llm_annotations=1, confidence="consistency",
        consistency_samples=4))
    install_fake("fake", [reply(answer("pos")), reply(answer("meh")), reply(answer("pos")),
                  reply(answer("pos"))])
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    row = stored(sqlite_store)[SURE]
    assert row.confidence_raw == 0.75 and row.meta["confidence_detail"]["valid"] == 3


def test_verbalized_stays_the_default_and_orders_by_the_written_number(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SURE, UNSURE])

    def respond(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
        assert "logprobs" not in params  # today's requests, today's cache keys
        return reply(answer("pos", 95 if item_text(messages) == SURE else 40))

    install_fake(responder=respond)
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    rows = stored(sqlite_store)
    assert rows[SURE].confidence_estimator == "verbalized"
    assert (rows[SURE].confidence_raw, rows[UNSURE].confidence_raw) == (0.95, 0.4)
    assert rows[SURE].confidence > rows[UNSURE].confidence


def test_the_estimator_can_differ_per_model() -> None:
    policy = RoutingPolicy(confidence="verbalized",
                           confidence_by_model={"openai/gpt-4o-mini": "logprob"})
    assert policy.estimator_for("openai/gpt-4o-mini") == "logprob"
    assert policy.estimator_for("local/smollm2") == "verbalized"
