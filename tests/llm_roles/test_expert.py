"""The Expert role (fake LLM) and the anomaly search (no model)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update

from annotate.llm.gateway import Gateway
from annotate.llm.testing import install_fake, reply
from annotate.projects.policy import RoutingPolicy
from annotate.services.anomalies import label_anomalies, text_anomalies
from annotate.store.engine import Store
from annotate.store.models import Annotation, GuidelineVersion, Item, Task
from roles.expert import estimate, review, synthesise
from tests.llm_roles.conftest import GUIDELINE, answer_json

REVISED = GUIDELINE.replace("## What makes", "## Pitfalls\n\nSarcasm reads as praise.\n\n"
                            "## What makes")


def test_review_saves_a_new_guideline_version_with_a_diff(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([f"review {i}" for i in range(12)])
    fake = install_fake(default=reply(answer_json(
        pitfalls=["sarcasm"], ambiguous_cases=["mixed reviews"], revised_guideline=REVISED)))
    result = review(sqlite_store, gateway_for(pid), "p", model="fake/m", n_items=8)
    assert result.pitfalls == ["sarcasm"] and "+## Pitfalls" in result.diff
    user = fake.calls[0]["messages"][1]["content"]
    assert user.count("<item>") == 8
    with sqlite_store.session() as s:
        versions = s.scalars(select(GuidelineVersion).order_by(GuidelineVersion.number)).all()
    assert [v.number for v in versions] == [1, 2] and versions[1].version == result.version
    assert versions[1].created_by == "llm:fake/m"


def test_synth_paraphrases_real_items_flagged_synthetic(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items(["the battery died fast", "screen is lovely"])
    install_fake(steps=[reply(answer_json(paraphrases=["the battery ran out quickly"])),
                        reply(answer_json(paraphrases=["the display is beautiful"]))])
    ids = synthesise(sqlite_store, gateway_for(pid), "p", model="fake/m", n=5).created
    assert len(ids) == 2
    with sqlite_store.session() as s:
        new = s.scalars(select(Item).where(Item.id.in_(ids))).all()
        tasks = s.scalars(select(Task).where(Task.item_id.in_(ids))).all()
    assert all(i.synthetic and i.meta["paraphrase_of"].startswith("i") for i in new)
    assert len(tasks) == 2  # the policy's LLM annotator task for each


def test_estimate_uses_the_median_human_time(
        sqlite_store: Store, make_items: Callable[..., int]) -> None:
    make_items([f"text {i}" for i in range(10)], human_labels={0: [{"label": "pos"}],
                                                               1: [{"label": "neg"}]},
               policy=RoutingPolicy(human_annotations=2, llm_annotations=1))
    with sqlite_store.session() as s:
        s.execute(update(Annotation).values(human_seconds=12.0))
    result = estimate(sqlite_store, "p", model="dry-run")
    assert result.items == 10 and result.llm_calls == 13 and result.cost_usd == 0.0
    assert result.human_minutes == 12.0 * 10 * 2 / 60


def test_text_anomalies_each_with_a_reason() -> None:
    items = [("a", "the cat sat on the mat today"), ("b", "The cat sat on the mat today!"),
             ("c", ""), ("d", "x" * 6000), ("e", "the cat sat on the mat today again"),
             ("f", "кот сидел на ковре"), *[(f"n{i}", f"plain english text {i}") for i in range(8)]]
    kinds = {(a.kind, a.item) for a in text_anomalies(items)}
    assert ("duplicate", "b") in kinds and ("empty", "c") in kinds and ("huge", "d") in kinds
    assert ("near_duplicate", "e") in kinds and ("language", "f") in kinds


def test_label_distribution_outlier() -> None:
    rows = [(f"p{i % 3}", "ok") for i in range(90)] + [("odd", "bad")] * 25 + [("odd", "ok")] * 5
    found = label_anomalies(rows)
    assert any("odd uses 'bad'" in a.reason for a in found)
    assert any("odd uses 'ok'" in a.reason for a in found)
    assert not any(a.reason.startswith("p") for a in found)
