"""The personal-data door is the gateway: every role and driver, and a gateway built by hand,
send a remote model placeholders, never the raw e-mail, phone, card number or name.

The fake remote model (``remote/m``, an in-process litellm provider) records every payload it
receives; each test checks that its path did reach the model (so "nothing leaked" is not
"nothing sent") and that no raw value is in any payload.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from annotate.kinds.schema import LabelSchema
from annotate.llm.client import make_client
from annotate.llm.dry_run import dry_run_text
from annotate.llm.gateway import (
    LOCAL_PROVIDER,
    Gateway,
    GatewaySettings,
    load_litellm,
    register_provider,
)
from annotate.llm.testing import ScriptedLLM, install_fake, reply
from annotate.llm.types import Completion, LLMClient, LLMError, LLMRequest
from annotate.projects.policy import RoutingPolicy
from annotate.services.anomalies import project_anomalies
from annotate.services.playground import pick_examples, run_annotator
from annotate.store.engine import Store
from annotate.store.models import Item, LLMCall, Project, Suggestion
from roles import expert
from roles.runner import run_project

MODEL = "remote/m"  # not ``local``: a model that leaves the machine
SECRETS = ["anna.petrova@example.com", "+7 (912) 345-67-89", "4111 1111 1111 1111",
           "Анна Петрова", "Петрова",
           "john.smith@example.org", "+1 415-555-0132", "5500 0000 0000 0004", "John Smith",
           "Smith",
           "maria.ivanova@mail.ru", "8 916 123-45-67", "Мария Иванова", "Иванова",
           "emily.clark@example.net", "4012 8888 8888 1881", "Emily Clark", "Clark"]
TEXTS = [
    "Пишите anna.petrova@example.com или звоните +7 (912) 345-67-89; карта "
    "4111 1111 1111 1111. Клиентка Анна Петрова довольна.",
    "John Smith called from +1 415-555-0132 about his card 5500 0000 0000 0004, email "
    "john.smith@example.org. Great service.",
    "Мария Иванова: телефон 8 916 123-45-67, почта maria.ivanova@mail.ru, всё понравилось.",
    "Broke after a day. Ask Emily Clark at emily.clark@example.net, card 4012 8888 8888 1881.",
]


REWRITES = ["Our customer shared these details for a follow-up: {}.",
            "Please get back to them using {} as given in the message.",
            "A short note from a client who left {} and wants an answer soon."]


def _item_of(user: str) -> str:
    start = user.index("<item>") + len("<item>")
    return user[start:user.index("</item>")].strip()


def _answer(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
    """A schema-valid answer; the expert's paraphrase and the helper's text candidates echo
    the item as the model saw it, so the round trip back to people can be checked."""
    schema = ((params.get("response_format") or {}).get("json_schema") or {}).get("schema")
    user = str(messages[-1]["content"])
    properties = (schema or {}).get("properties", {})
    if "paraphrases" in properties:
        return reply(json.dumps({"paraphrases": [  # not a near-copy: synth would drop it
            f"Put another way, a customer wrote this to us: {_item_of(user)}"]},
                                ensure_ascii=False))
    if "candidates" in properties:  # rewrites that keep the placeholders, not copies
        n = properties["candidates"]["minItems"]
        held = ", ".join(re.findall(r"\[[A-Z_]+_\d+\]", _item_of(user)))
        return reply(json.dumps({"candidates": [{"text": REWRITES[k % len(REWRITES)].format(
            held)} for k in range(n)]}, ensure_ascii=False))
    return reply(dry_run_text(schema, user))


@pytest.fixture
def remote() -> ScriptedLLM:
    return install_fake("remote", responder=_answer)


Build = Callable[[Store, int], LLMClient]


@pytest.fixture(params=["make_client", "by_hand"])
def build(request: pytest.FixtureRequest) -> Build:
    """The client as the edges build it, and a gateway built by hand (no wrapper)."""
    if request.param == "make_client":
        return lambda store, pid: make_client(store, pid, MODEL)
    return lambda store, pid: Gateway(store, pid, GatewaySettings(model=MODEL))


def _payloads(fake: ScriptedLLM) -> str:
    return "\n".join(str(m.get("content", "")) for call in fake.calls
                     for m in call["messages"])


def _leaks(fake: ScriptedLLM) -> list[str]:
    sent = _payloads(fake)
    return [secret for secret in SECRETS if secret in sent]


def _assert_sent_and_clean(fake: ScriptedLLM, before: int = 0) -> None:
    assert fake.call_count > before, "this path never reached the model: nothing to check"
    assert "[EMAIL_1]" in _payloads(fake) and "[PERSON_1]" in _payloads(fake)
    assert _leaks(fake) == []


def test_annotator(sqlite_store: Store, make_items: Callable[..., int],
                   remote: ScriptedLLM, build: Build) -> None:
    pid = make_items(TEXTS, policy=RoutingPolicy(human_annotations=0, llm_annotations=2))
    run_project(sqlite_store, "p", build(sqlite_store, pid), model=MODEL)
    _assert_sent_and_clean(remote)


def test_helper_and_people_see_the_real_text(sqlite_store: Store,
                                             make_items: Callable[..., int],
                                             remote: ScriptedLLM, build: Build) -> None:
    pid = make_items(TEXTS, schema=LabelSchema(kind="text"), policy=RoutingPolicy(
        helper_first=True, human_annotations=1, llm_annotations=0))
    run_project(sqlite_store, "p", build(sqlite_store, pid), model=MODEL)
    _assert_sent_and_clean(remote)
    with sqlite_store.session() as session:
        shown = json.dumps([s.candidates for s in session.scalars(select(Suggestion))],
                           ensure_ascii=False)
    assert all(secret in shown for secret in SECRETS)  # placeholders put back for people


def test_moderator(sqlite_store: Store, make_items: Callable[..., int],
                   remote: ScriptedLLM, build: Build) -> None:
    disagree = {i: [{"label": "pos"}, {"label": "neg"}] for i in range(len(TEXTS))}
    pid = make_items(TEXTS, policy=RoutingPolicy(human_annotations=2, llm_annotations=0),
                     human_labels=disagree)
    run_project(sqlite_store, "p", build(sqlite_store, pid), model=MODEL)
    with sqlite_store.session() as session:
        assert "moderator" in set(session.scalars(select(LLMCall.role)))
    _assert_sent_and_clean(remote)


def test_expert_synth_review_estimate_anomalies(sqlite_store: Store,
                                                make_items: Callable[..., int],
                                                remote: ScriptedLLM, build: Build) -> None:
    pid = make_items(TEXTS)
    llm = build(sqlite_store, pid)
    new = expert.synthesise(sqlite_store, llm, "p", model=MODEL, n=len(TEXTS)).created
    _assert_sent_and_clean(remote)
    with sqlite_store.session() as session:
        made = " ".join(session.scalars(select(Item.text).where(Item.id.in_(new))))
    assert all(secret in made for secret in SECRETS)  # the paraphrases carry the real values
    sent = remote.call_count
    # Guideline drafting: the dry-run answer is too short to be a revision; it was sent.
    with contextlib.suppress(Exception):
        expert.review(sqlite_store, llm, "p", model=MODEL, n_items=len(TEXTS))
    _assert_sent_and_clean(remote, before=sent)
    sent = remote.call_count
    expert.estimate(sqlite_store, "p", model=MODEL)
    with sqlite_store.session() as session:
        project_anomalies(session, session.get_one(Project, pid))
    assert remote.call_count == sent  # neither sends anything to a model


def test_playground(sqlite_store: Store, make_items: Callable[..., int],
                    remote: ScriptedLLM) -> None:
    pid = make_items(TEXTS, policy=RoutingPolicy(human_annotations=1, llm_annotations=0))
    with sqlite_store.session() as session:
        project = session.get_one(Project, pid)
        examples = pick_examples(session, project, n=len(TEXTS))
    run = run_annotator(sqlite_store, project, examples, "# Draft\n\nPick pos or neg.",
                        model=MODEL)
    assert run.error is None and len(run.results) == len(TEXTS)
    _assert_sent_and_clean(remote)


def _raw_request() -> LLMRequest:
    schema = {"type": "object", "additionalProperties": False, "required": ["echo"],
              "properties": {"echo": {"type": "string"}}}
    return LLMRequest.chat("Repeat the item.", "\n".join(TEXTS), json_schema=schema,
                           model=MODEL)


def _echo(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
    return reply(json.dumps({"echo": messages[-1]["content"]}, ensure_ascii=False))


@pytest.mark.parametrize("with_project", [True, False])
def test_a_gateway_built_by_hand_cannot_send_them(sqlite_store: Store,
                                                  make_items: Callable[..., int],
                                                  with_project: bool) -> None:
    fake = install_fake("remote", responder=_echo)
    pid = make_items(TEXTS) if with_project else None
    gateway = Gateway(sqlite_store, pid, GatewaySettings(model=MODEL))
    result = gateway.complete(_raw_request())
    _assert_sent_and_clean(fake)
    assert isinstance(result, Completion)
    assert result.data == {"echo": "\n".join(TEXTS)} and result.text.count("@") == 4


def test_a_doubtful_text_is_not_sent(sqlite_store: Store) -> None:
    fake = install_fake("remote", responder=_echo)
    doubtful = "Reference 500100732259 attached."  # passes the INN checksum, no keyword
    result = Gateway(sqlite_store, None, GatewaySettings(model=MODEL)).complete(
        LLMRequest.chat("s", doubtful, model=MODEL))
    assert isinstance(result, LLMError) and result.kind == "personal_data"
    assert fake.call_count == 0


@pytest.fixture
def local() -> Iterator[ScriptedLLM]:
    """A fake in place of the embedded model, restored afterwards."""
    litellm = load_litellm()
    (real,) = [p["custom_handler"].backend for p in litellm.custom_provider_map
               if p["provider"] == LOCAL_PROVIDER]
    try:
        yield install_fake(LOCAL_PROVIDER, responder=_answer)
    finally:
        register_provider(LOCAL_PROVIDER, real)


def test_local_only_keeps_personal_data_on_the_machine(
        sqlite_store: Store, make_items: Callable[..., int], local: ScriptedLLM) -> None:
    remote = install_fake("remote", responder=_answer)
    pid = make_items([*TEXTS, "Great phone, love it."], policy=RoutingPolicy(
        human_annotations=0, llm_annotations=1, local_only_personal_data=True))
    run_project(sqlite_store, "p", make_client(sqlite_store, pid, MODEL), model=MODEL)
    by_hand = Gateway(sqlite_store, pid, GatewaySettings(model=MODEL))
    assert isinstance(by_hand.complete(_raw_request()), Completion)
    assert _leaks(remote) == [] and "[EMAIL_1]" not in _payloads(remote)
    assert remote.call_count == 1  # only the item without personal data left the machine
    assert local.call_count == len(TEXTS) + 1
    assert all(secret in _payloads(local) for secret in SECRETS)  # the local model: as it is
