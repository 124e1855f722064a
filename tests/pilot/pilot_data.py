"""A pilot project whose answers are known by construction, and a fake LLM that gives them.

Every item's people say ``pos``. The fake LLM reads the item text in its prompt: on
``ITEM-RIGHT-n`` it answers ``pos`` with confidence 90 (right), on ``ITEM-WRONG-n`` ``neg``
with confidence 40 (wrong), on ``ITEM-BROKEN-n`` text that is not JSON (an invalid output).
On ``ITEM-NEG-n`` the people say ``neg`` and so does the fake, with confidence 90 (right):
with enough of them the model beats always answering the most common label and its
confidence separates its right answers from its wrong ones, so the pilot may trust it.
"""

from __future__ import annotations

import json
from typing import Any

from annotate.kinds.schema import LabelSchema
from annotate.llm.testing import Reply, ScriptedLLM, install_fake, reply
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Annotation, Item

MODEL = "fake/m"
PRICE = (1e-6, 2e-6)  # USD per prompt / completion token
CALL_COST = 10 * PRICE[0] + 5 * PRICE[1]  # a scripted reply uses 10 + 5 tokens


def make_pilot_project(store: Store, *, right: int, wrong: int, broken: int = 0,
                       unlabelled: int = 0, extra_humans: dict[int, list[str]] | None = None,
                       name: str = "p", neg: int = 0) -> int:
    """Items ``ITEM-RIGHT-i``, ``ITEM-WRONG-i``, ``ITEM-BROKEN-i`` with one human ``pos``
    each, ``ITEM-NEG-i`` with one human ``neg`` (``extra_humans``: more human labels on the
    n-th item), then ``unlabelled`` items without any human label."""
    texts = ([f"ITEM-RIGHT-{i}" for i in range(right)] + [f"ITEM-WRONG-{i}" for i in range(wrong)]
             + [f"ITEM-BROKEN-{i}" for i in range(broken)] + [f"ITEM-NEG-{i}" for i in range(neg)])
    with store.session() as session:
        project = create_project(session, name, LabelSchema(kind="classification",
                                                            labels=["pos", "neg"]),
                                 policy=RoutingPolicy(human_annotations=1, llm_annotations=1))
        items = [Item(project_id=project.id, external_id=f"i{n}", text=t)
                 for n, t in enumerate(texts + [f"NEW-{i}" for i in range(unlabelled)])]
        session.add_all(items)
        session.flush()
        for n, item in enumerate(items[:len(texts)]):
            first = "neg" if item.text.startswith("ITEM-NEG") else "pos"
            labels = [first, *(extra_humans or {}).get(n, [])]
            session.add_all(Annotation(project_id=project.id, item_id=item.id,
                                       annotator_id=f"h{k}", annotator_kind="human",
                                       role="annotator", value={"label": label})
                            for k, label in enumerate(labels))
        return project.id


def answer(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
    text = messages[-1]["content"]
    if "ITEM-RIGHT" in text:
        return reply(json.dumps({"label": "pos", "reason": "r", "confidence": 90}))
    if "ITEM-NEG" in text:
        return reply(json.dumps({"label": "neg", "reason": "r", "confidence": 90}))
    if "ITEM-WRONG" in text:
        return reply(json.dumps({"label": "neg", "reason": "r", "confidence": 40}))
    return reply("this is not JSON")


def install_pilot_fake() -> ScriptedLLM:
    return install_fake("fake", responder=answer, price_per_token=PRICE)
