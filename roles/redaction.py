"""Personal data: reversible placeholders before any non-local model.

E-mails, phone numbers, card numbers (Luhn-checked) and person names (Russian and English,
via the `natasha` NER model, which ships in its package and runs offline) are replaced by
placeholders such as ``[PERSON_1]``; the model's answer has them put back, so people see the
real text. :class:`RedactingClient` wraps any LLM client and redacts only for models that
leave the machine; the local model sees the text as it is.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from roles.llm import Completion, LLMClient, LLMError, LLMRequest, Message

LOCAL_PREFIXES = ("local/", "dry-run", "distilled:")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ()-]{7,}\d(?!\w)")
_lock = threading.Lock()


def is_local(model: str) -> bool:
    return model.startswith(LOCAL_PREFIXES)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass
class Redactor:
    """Replaces personal data by numbered placeholders and remembers how to put it back."""

    names: bool = True
    mapping: dict[str, str] = field(default_factory=dict)  # placeholder -> original
    _reverse: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def _placeholder(self, kind: str, original: str) -> str:
        if original in self._reverse:
            return self._reverse[original]
        self._counts[kind] = self._counts.get(kind, 0) + 1
        placeholder = f"[{kind}_{self._counts[kind]}]"
        self.mapping[placeholder] = original
        self._reverse[original] = placeholder
        return placeholder

    def redact(self, text: str) -> str:
        text = _EMAIL.sub(lambda m: self._placeholder("EMAIL", m.group(0)), text)
        text = _CARD.sub(lambda m: self._card(m.group(0)), text)
        text = _PHONE.sub(lambda m: self._phone(m.group(0)), text)
        if self.names:
            for start, stop, name in reversed(person_spans(text)):
                text = text[:start] + self._placeholder("PERSON", name) + text[stop:]
        return text

    def _card(self, found: str) -> str:
        digits = re.sub(r"\D", "", found)
        return self._placeholder("CARD", found) if luhn_ok(digits) else found

    def _phone(self, found: str) -> str:
        digits = re.sub(r"\D", "", found)
        return self._placeholder("PHONE", found) if 9 <= len(digits) <= 15 else found

    def restore(self, text: str) -> str:
        for placeholder, original in self.mapping.items():
            text = text.replace(placeholder, original)
        return text


@functools.lru_cache(maxsize=1)
def _ner() -> tuple[Any, Any]:
    with _lock:
        from natasha import NewsEmbedding, NewsNERTagger, Segmenter

        return Segmenter(), NewsNERTagger(NewsEmbedding())


def person_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, stop, text) of person names found by natasha, left to right."""
    try:
        segmenter, tagger = _ner()
    except ImportError:  # pragma: no cover - natasha is a core dependency
        return []
    from natasha import Doc

    doc = Doc(text)
    doc.segment(segmenter)
    doc.tag_ner(tagger)
    return [(s.start, s.stop, s.text) for s in doc.spans if s.type == "PER"]


def contains_personal_data(text: str) -> bool:
    redactor = Redactor()
    return redactor.redact(text) != text


class RedactingClient:
    """An LLM client that redacts requests to non-local models and restores the answers."""

    def __init__(self, inner: LLMClient, default_model: str, names: bool = True) -> None:
        self.inner = inner
        self.default_model = default_model
        self.names = names

    def complete(self, request: LLMRequest) -> Completion | LLMError:
        if is_local(request.model or self.default_model):
            return self.inner.complete(request)
        redactor = Redactor(names=self.names)
        messages = tuple(Message(role=m.role, content=redactor.redact(m.content))
                         for m in request.messages)
        result = self.inner.complete(request.model_copy(update={"messages": messages}))
        if isinstance(result, LLMError) or not redactor.mapping:
            return result
        text = redactor.restore(result.text)
        data = json.loads(redactor.restore(json.dumps(result.data, ensure_ascii=False))) \
            if result.data is not None else None
        return dataclasses.replace(result, text=text, data=data)
