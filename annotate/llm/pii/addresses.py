"""Street addresses: a Russian street marker (ул., проспект, шоссе...) with a house number,
or an English house number, street name and suffix (Street, Ave, Road...). A city alone is
not an address; a street without a house number is not one either."""

from __future__ import annotations

import re

from annotate.llm.pii import Span

_RU_MARK = (r"(?:ул\.|улиц[аеуы]|пр-т|пр\.|просп\.|проспект[еау]?|пер\.|переул\w*|бульвар\w*"
            r"|б-р|ш\.|шоссе|наб\.|набережн\w*|пл\.|мкр\.?)")
_RU_NAME = r"(?:[А-ЯЁA-Z0-9][\w-]*|реки|им\.)"
_RU_HOUSE = (r",?\s*(?:д\.|дом)?\s*\d+[А-Яа-яA-Za-z]?(?:[-/]\d+)?"
             r"(?:,\s*(?:корп\.|корпус|к\.|стр\.|строение)\s*\d+\w?)?"
             r"(?:,\s*(?:кв\.|квартира|оф\.|офис)\s*\d+)?")
_RU_CITY = r"(?:(?:г\.|город)\s*[А-ЯЁ][\w-]+,\s*)?"
RU = re.compile(
    _RU_CITY + r"(?:" + _RU_MARK + r"\s*(?:" + _RU_NAME + r"\s+){0,2}" + _RU_NAME
    + r"|(?:" + _RU_NAME + r"\s+){1,2}" + _RU_MARK + r")" + _RU_HOUSE, re.UNICODE)
_EN_SUFFIX = (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Terrace|Court"
              r"|Ct|Place|Pl|Way|Loop|Square|Sq|Parkway|Pkwy|Highway|Hwy|Close|Crescent)")
EN = re.compile(
    r"(?<![\w.])\d{1,5}[A-Z]?\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z]+\s+){1,3}" + _EN_SUFFIX
    + r"\b\.?(?:\s+(?:NW|NE|SW|SE))?(?:,\s*(?:Apt|Apartment|Suite|Ste|Unit|Flat|#)\.?\s*\w+)?")


def address_spans(text: str) -> list[Span]:
    spans = []
    for pattern, source in ((RU, "ru-street"), (EN, "en-street")):
        for m in pattern.finditer(text):
            end = m.start() + len(m.group(0).rstrip(" ,"))
            spans.append(Span(m.start(), end, "ADDRESS", 0.85, source))
    return spans
