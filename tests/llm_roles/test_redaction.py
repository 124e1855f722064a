"""Personal data never reaches a remote model; people see the real text restored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from annotate.kinds.schema import LabelSchema
from annotate.llm.gateway import Gateway
from annotate.llm.redaction import (
    PersonalDataRule,
    Redactor,
    contains_personal_data,
    luhn_ok,
    through_door,
)
from annotate.llm.testing import install_fake, reply
from annotate.llm.types import LLMError, LLMRequest
from annotate.store.engine import Store
from roles.runner import run_project
from tests.llm_roles.conftest import answer_json

SECRETS = ["anna.petrova@example.com", "+7 (912) 345-67-89", "4111 1111 1111 1111",
           "Анна Петрова", "John Smith"]
TEXT = (f"Пишите {SECRETS[0]} или звоните {SECRETS[2 - 1]}; карта {SECRETS[2]}. "
        f"Клиент {SECRETS[3]} и {SECRETS[4]} довольны.")


def test_redact_and_restore_round_trip() -> None:
    redactor = Redactor()
    redacted = redactor.redact(TEXT)
    for secret in SECRETS:
        assert secret not in redacted
    assert "[EMAIL_1]" in redacted and "[CARD_1]" in redacted and "[PERSON_1]" in redacted
    assert redactor.restore(redacted) == TEXT


@pytest.mark.parametrize("number, ok", [("4111111111111111", True), ("4111111111111112", False)])
def test_luhn(number: str, ok: bool) -> None:
    assert luhn_ok(number) is ok


def test_order_numbers_and_dates_are_not_personal_data() -> None:
    assert not contains_personal_data("Order 2024-11-05 shipped, 3 items, total 120.50")


def test_remote_model_gets_placeholders_and_people_see_real_text(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([TEXT], schema=LabelSchema(kind="text"))

    def echo(model: str, messages: list[dict[str, str]], params: dict[str, object]) -> object:
        user = messages[1]["content"]
        start = user.index("<item>") + len("<item>")
        return reply(answer_json(reason="r", text=user[start:user.index("</item>")].strip(),
                                 confidence=90))

    fake = install_fake(responder=echo)  # type: ignore[arg-type]
    client = gateway_for(pid)  # the gateway is the door: nothing wraps it
    run_project(sqlite_store, "p", client, model="fake/m")
    payloads = " ".join(m["content"] for call in fake.calls for m in call["messages"])
    for secret in SECRETS:
        assert secret not in payloads
    from sqlalchemy import select

    from annotate.store.models import Annotation
    with sqlite_store.session() as s:
        stored = s.scalars(select(Annotation.value)).one()
    assert stored["text"] == TEXT


def test_local_models_see_the_text_as_it_is() -> None:
    outgoing = through_door(PersonalDataRule(), LLMRequest.chat("s", TEXT), "local/smollm2")
    assert not isinstance(outgoing, LLMError)
    assert outgoing.request.messages[1].content == TEXT
