"""Personal data made of digits (and e-mails): each candidate is checked by a checksum, a
validated format (``phonenumbers``, ``ipaddress``, ``python-stdnum``) or a keyword next to
it; a look-alike after an order/product/version keyword is not personal data."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from annotate.llm.pii import Span

EMAIL = re.compile(r"(?<![\w.+-])[\w][\w.+-]*@[\w-]+(?:\.[\w-]+)*")
IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}"
                  r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![\w:])")
IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}(?![\w])")
DIGITS = re.compile(r"(?<![\w.,/+-])[A-Z]?\d(?:[ -]?\d){5,18}(?![\w]|[.,/-]\d)")
CARD = re.compile(r"(?<![\w.,/-])\d(?:[ -]?\d){12,18}(?![\w]|[.,/-]\d)")
DATE = re.compile(
    r"\d{1,2}[./]\d{1,2}[./]\d{4}|\d{4}[-/]\d{2}[-/]\d{2}"
    r"|(?:January|February|March|April|May|June|July|August|September|October|November"
    r"|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.? \d{1,2},? \d{4}"
    r"|\d{1,2} (?:January|February|March|April|May|June|July|August|September|October"
    r"|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.? \d{4}"
    r"|\d{1,2} (?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября"
    r"|ноября|декабря) \d{4}(?: ?г\.| года)?", re.IGNORECASE)

NOT_PERSONAL = re.compile(
    r"(?:order|заказ\w*|трек-номер|tracking number|sku|ean|артикул\w*|штрихкод\w*|трек\w*"
    r"|tracking|invoice|сч[её]т\w* на"
    r"|версии|версия|version|firmware|прошивк\w*|build|сборк\w*|model|модель|serial|код\w*"
    r"|code|№|#)\W{0,3}$", re.IGNORECASE)
BIRTH = re.compile(r"(?:born|birth|d\.?o\.?b\.?|birthday|родил\w*|рожд\w*|д\.\s?р\.|\bдр\b)"
                   r"\W{0,3}(?:\w+\W{1,3}){0,4}$", re.IGNORECASE)
ID_WORDS = re.compile(r"(?:passport|паспорт\w*|загранпаспорт\w*|серия|snils|снилс|\bинн"
                      r"|\binn|ssn|social security|tax id)", re.IGNORECASE)


def number_spans(text: str) -> list[Span]:
    spans = [*_emails(text), *_ips(text), *_ibans(text), *_cards(text), *_ids(text),
             *_births(text), *_phones(text)]
    return spans


def _before(text: str, start: int, width: int = 40) -> str:
    return text[max(0, start - width):start]


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _emails(text: str) -> Iterator[Span]:
    for m in EMAIL.finditer(text):
        yield Span(m.start(), m.end(), "EMAIL", 0.99, "regex")


def _ips(text: str) -> Iterator[Span]:
    for m in [*IPV4.finditer(text), *IPV6.finditer(text)]:
        try:
            ipaddress.ip_address(m.group(0))
        except ValueError:
            continue
        if m.group(0).count(":") == 0 and NOT_PERSONAL.search(_before(text, m.start(), 20)):
            continue  # "firmware 1.2.3.4": a version number
        yield Span(m.start(), m.end(), "IP", 0.95, "ipaddress")


def _ibans(text: str) -> Iterator[Span]:
    from stdnum import iban

    for m in IBAN.finditer(text):
        value = m.group(0)
        while len(_compact(value)) >= 15:  # the pattern may run into the next word
            if iban.is_valid(_compact(value).upper()):
                yield Span(m.start(), m.start() + len(value.rstrip()), "IBAN", 0.99, "stdnum")
                break
            value = value[:-1].rstrip()


def _compact(value: str) -> str:
    return value.replace(" ", "")


def _cards(text: str) -> Iterator[Span]:
    from stdnum import luhn

    for m in CARD.finditer(text):
        digits = _digits(m.group(0))
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn.is_valid(digits) \
                and not NOT_PERSONAL.search(_before(text, m.start(), 20)):
            yield Span(m.start(), m.end(), "CARD", 0.95, "luhn")


def snils_ok(digits: str) -> bool:
    if len(digits) != 11:
        return False
    total = sum(int(c) * (9 - i) for i, c in enumerate(digits[:9])) % 101
    return (0 if total == 100 else total) == int(digits[9:])


SSN = re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?![\w-])")
SNILS = re.compile(r"(?<![\w-])\d{3}[- ]?\d{3}[- ]?\d{3}[- ]?\d{2}(?![\w-])")


SERIES = re.compile(r"(?:серия|series)\s+(\d{2}\s?\d{2})\s+(?:номер|№|number)", re.IGNORECASE)


def _ids(text: str) -> Iterator[Span]:
    from stdnum.ru import inn

    for m in SERIES.finditer(text):  # "серия 4012 номер 778899": the series alone
        yield Span(m.start(1), m.end(1), "ID", 0.9, "keyword")
    yield from _snils_ssn(text)
    for m in DIGITS.finditer(text):
        value, before = m.group(0), _before(text, m.start())
        if NOT_PERSONAL.search(_before(text, m.start(), 20)):
            continue
        if ID_WORDS.search(before):
            yield Span(m.start(), m.end(), "ID", 0.9, "keyword")
        elif value.isdigit() and len(value) in (10, 12) and inn.is_valid(value):
            yield Span(m.start(), m.end(), "ID", 0.45, "inn-checksum")  # no keyword: doubtful


def _snils_ssn(text: str) -> Iterator[Span]:
    """SNILS by its checksum (formatted, or next to its name); SSN by its format and the
    SSA's rules (no 000, 666 or 9xx area), dashed or next to its name."""
    from stdnum.us import ssn

    for m in SNILS.finditer(text):
        if snils_ok(_digits(m.group(0))):
            keyword = re.search(r"(?:снилс|snils)", _before(text, m.start()), re.IGNORECASE)
            if keyword or not m.group(0).isdigit():
                yield Span(m.start(), m.end(), "ID", 0.95, "snils")
    for m in SSN.finditer(text):
        if ssn.is_valid(_digits(m.group(0))):
            keyword = re.search(r"(?:ssn|social security|tax)", _before(text, m.start()),
                                re.IGNORECASE)
            if keyword or m.group(1) == "-":
                yield Span(m.start(), m.end(), "ID", 0.9 if keyword else 0.7, "ssn")


def _births(text: str) -> Iterator[Span]:
    for m in DATE.finditer(text):
        if BIRTH.search(_before(text, m.start(), 50)):
            yield Span(m.start(), m.end(), "DATE_OF_BIRTH", 0.9, "keyword")


PHONE_WORDS = re.compile(r"(?:тел\w*|phone|call|ring|звон\w*|номер\w*|mobile|cell|landline"
                         r"|whats\s?app|sms|text|viber|telegram)\W{0,3}(?:\w+\W{1,3}){0,2}$",
                         re.IGNORECASE)


def _phones(text: str) -> Iterator[Span]:
    """Valid numbers (libphonenumber's ranges) anywhere; merely possible ones (right length
    for the country) when written with + or next to a phone word."""
    import phonenumbers

    seen: set[tuple[int, int]] = set()
    for region in ("RU", "US", "GB"):
        for match in phonenumbers.PhoneNumberMatcher(text, region,
                                                     leniency=phonenumbers.Leniency.POSSIBLE):
            where = (match.start, match.end)
            before = _before(text, match.start, 30)
            if where in seen or NOT_PERSONAL.search(before[-20:]) \
                    or (before and (before[-1].isalnum() or before[-1] in "-/")):
                continue
            valid = phonenumbers.is_valid_number(match.number)
            if valid or match.raw_string.startswith("+") or PHONE_WORDS.search(before):
                seen.add(where)
                yield Span(match.start, match.end, "PHONE", 0.9 if valid else 0.8,
                           f"phonenumbers:{region}")
