"""The detector on the labelled set (quality goals per kind) and a table of tricky cases."""

from __future__ import annotations

import pytest

from annotate.llm.pii import KINDS, detect, is_doubtful
from annotate.llm.pii.scoring import load_set, score
from annotate.llm.redaction import Redactor


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return score(load_set(), detect)


@pytest.mark.parametrize("kind", KINDS)
def test_recall_and_precision_goals_per_kind(result, kind: str) -> None:  # type: ignore[no-untyped-def]
    kind_score = result.kinds[kind]
    assert kind_score.labelled >= 15, "the set has too few examples of this kind"
    assert kind_score.recall >= 0.98, kind_score.misses
    assert kind_score.precision >= 0.9, kind_score.false


def test_no_labelled_value_survives_redaction(result) -> None:  # type: ignore[no-untyped-def]
    assert result.leaked == []


# Not in the set: written after the detector, to see it generalise.
TRICKY = [
    ("Reply to Oksana Melnikova before Friday.", "Oksana Melnikova", "PERSON"),
    ("ЗВОНИЛА ОЛЬГА СЕРГЕЕВНА ПО ПОВОДУ ВОЗВРАТА", "ОЛЬГА СЕРГЕЕВНА", "PERSON"),
    ("письмо для сергею иванову", "сергею иванову", "PERSON"),
    ("Signed: K. L. Brennan", "K. L. Brennan", "PERSON"),
    ("Mrs. Abernathy called twice.", "Abernathy", "PERSON"),
    ("Почта: test.user@localhost", "test.user@localhost", "EMAIL"),
    ("call 917.555.0123 tonight", "917.555.0123", "PHONE"),
    ("тел. +7 (921) 000-11-22", "+7 (921) 000-11-22", "PHONE"),
    ("card 5500 0000 0000 0004 please", "5500 0000 0000 0004", "CARD"),
    ("IBAN NL91 ABNA 0417 1643 00 thanks", "NL91 ABNA 0417 1643 00", "IBAN"),
    ("Адрес: ул. Пушкина, д. 10, кв. 5", "ул. Пушкина, д. 10, кв. 5", "ADDRESS"),
    ("I live at 18 Willow Road, Apt 2", "18 Willow Road, Apt 2", "ADDRESS"),
    ("паспорт 4511 223344 выдан в 2011", "4511 223344", "ID"),
    ("SSN: 078-12-3456", "078-12-3456", "ID"),
    ("дата рождения 02.03.1990", "02.03.1990", "DATE_OF_BIRTH"),
    ("login from 2001:db8::1 again", "2001:db8::1", "IP"),
]
NEGATIVES = [
    "Will you restock the grey one?",
    "Order 1234567890123 was split into two parcels.",
    "Update to version 4.3.2.1 fixed it.",
    "Москва, Казань и Сочи — доставка за 3 дня.",
    "Цена 12 990 руб., гарантия 2 года.",
    "Released in 1999, still works.",
    "The Amazon Basics cable is fine.",
    "Надежда умирает последней, а посылки всё нет.",
]


@pytest.mark.parametrize("text, value, kind", TRICKY)
def test_tricky_cases_are_found_with_their_kind(text: str, value: str, kind: str) -> None:
    start = text.index(value)
    spans = [s for s in detect(text) if s.kind == kind]
    covered = {i for s in spans for i in range(s.start, s.end)}
    assert all(i in covered for i in range(start, start + len(value)) if text[i].isalnum()), \
        [(text[s.start:s.end], s.kind) for s in detect(text)]


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_not_personal_data(text: str) -> None:
    assert [(text[s.start:s.end], s.kind) for s in detect(text)] == []


def test_placeholders_name_the_kind_and_restore() -> None:
    text = "Ivan Petrov, IBAN DE89 3704 0044 0532 0130 00, born 12.03.1985, ip 10.0.0.1"
    redactor = Redactor()
    redacted = redactor.redact(text)
    assert redacted == "[PERSON_1], IBAN [IBAN_1], born [DATE_OF_BIRTH_1], ip [IP_1]"
    assert redactor.restore(redacted) == text


def test_a_checksum_number_without_its_keyword_is_doubtful() -> None:
    assert is_doubtful(detect("reference 757491186206 attached"))
    assert not is_doubtful(detect("ИНН 757491186206"))
