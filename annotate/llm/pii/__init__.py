"""Personal-data detection: spans of nine kinds in Russian and English text, each with a
confidence, measured on ``tests/data/pii/pii_set.jsonl`` by ``benchmarks/pii.py``.

- ``numbers``: e-mails, IP addresses (``ipaddress``), IBANs (``python-stdnum``), cards
  (Luhn), Russian and US identity numbers (SNILS/INN checksums, passport and SSN formats next
  to their keywords), dates of birth (a date next to a birth keyword), phones
  (``phonenumbers``, Google's libphonenumber metadata);
- ``addresses``: street addresses (Russian street markers, English street suffixes);
- ``names``: person names (natasha's NER for Russian, pymorphy3's name/surname/patronymic
  dictionary for any letter case, a first-name list and initials/honorific rules for Latin
  script).

A span whose ``score`` is below :data:`DOUBTFUL_BELOW` is *doubtful*: it is still redacted,
but the text it is in cannot be redacted with confidence (see :func:`is_doubtful`).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("PERSON", "EMAIL", "PHONE", "CARD", "IBAN", "ADDRESS", "ID", "DATE_OF_BIRTH", "IP")
# Earlier kinds win where spans overlap: a checksum-verified number beats a name guess.
PRIORITY = {kind: i for i, kind in enumerate(
    ("EMAIL", "IBAN", "CARD", "ID", "DATE_OF_BIRTH", "IP", "PHONE", "ADDRESS", "PERSON"))}
DOUBTFUL_BELOW = 0.5


@dataclass(frozen=True)
class Span:
    """One piece of personal data: ``text[start:end]`` of ``kind``, found by ``source``."""

    start: int
    end: int
    kind: str
    score: float
    source: str

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


def resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, left to right: on overlap the higher-priority kind (then the
    longer span) is kept."""
    ranked = sorted(spans, key=lambda s: (PRIORITY[s.kind], -(s.end - s.start), s.start))
    kept: list[Span] = []
    for span in ranked:
        if not any(span.overlaps(k) for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def detect(text: str, *, names: bool = True) -> list[Span]:
    """All personal data in ``text``, non-overlapping, left to right."""
    from annotate.llm.pii.addresses import address_spans
    from annotate.llm.pii.numbers import number_spans

    spans = number_spans(text) + address_spans(text)
    if names:
        from annotate.llm.pii.names import name_spans

        spans += name_spans(text)
    return resolve(spans)


def is_doubtful(spans: list[Span]) -> bool:
    """A text cannot be redacted with confidence when any span in it is doubtful."""
    return any(s.score < DOUBTFUL_BELOW for s in spans)
