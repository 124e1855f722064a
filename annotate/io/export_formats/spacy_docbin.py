"""``spacy``: a spaCy ``DocBin`` (``.spacy``) of a span project, for ``spacy train``.

Each item with a final answer (the adjudicator's, else the moderator's, else the majority's)
becomes a ``Doc`` made by ``spacy.blank(lang)`` (``--lang``, default ``xx``, multilingual;
no model is downloaded) with its spans in ``doc.spans["sc"]`` and, the overlapping ones
left out, in ``doc.ents``; ``doc.user_data`` keeps the item's ``id`` and ``final_source``.

Character offsets become token spans with ``alignment_mode="contract"``: a span that cuts a
token is shrunk to the whole tokens inside it (counted as trimmed), and one with no whole
token inside cannot be aligned: it is left out and listed in the closing line. Character
offsets are never moved outward, so a trained model never learns a boundary nobody drew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import IO, Any

from annotate.errors import InvalidInput
from annotate.io.export_formats.base import SPANS, final_answer, value_shape
from annotate.io.export_formats.hf_dataset import require_package
from annotate.kinds.schema import LabelSchema

ALIGNMENT = "contract"
LISTED = 20  # unaligned spans named in the closing line


class SpacyExporter:
    binary = True
    default_output = "{name}.spacy"
    finals: Mapping[str, dict[str, Any]] = MappingProxyType({})  # base.with_finals

    def __init__(self, schema: LabelSchema | None = None, lang: str = "xx") -> None:
        self.schema, self.lang = schema, lang
        self.cannot_carry: list[str] = []
        self.unaligned: list[str] = []

    def for_schema(self, schema: LabelSchema) -> SpacyExporter:
        if value_shape(schema) != SPANS:
            raise InvalidInput(f"spacy export is for span projects (a DocBin of entities), "
                               f"not {schema.kind}; use --format hf, jsonl, csv or parquet")
        require_package("spacy", "spacy")
        return SpacyExporter(schema, self.lang)

    def with_options(self, options: dict[str, Any]) -> SpacyExporter:
        unknown = sorted(set(options) - {"lang"})
        if unknown:
            raise InvalidInput(f"spacy export takes --lang, not "
                               f"{', '.join('--' + u for u in unknown)}")
        return SpacyExporter(self.schema, str(options.get("lang", self.lang)))

    def write(self, items: Iterable[dict[str, Any]], out: IO[Any]) -> None:
        from spacy.tokens import DocBin

        nlp = self._blank()
        docs = DocBin(store_user_data=True)
        counts = {"answers": 0, "open": 0, "trimmed": 0, "overlapping": 0}
        for item in items:
            counts["answers"] += len(item["annotations"])
            doc = self._doc(nlp, item, counts)
            if doc is not None:
                docs.add(doc)
        out.write(docs.to_bytes())
        self._note(counts)

    def _blank(self) -> Any:
        import spacy

        try:
            return spacy.blank(self.lang)
        except (ImportError, KeyError, ValueError) as exc:
            raise InvalidInput(f"--lang {self.lang!r} is not a language spaCy knows "
                               f"({type(exc).__name__}); try xx, en, ru, de, ...") from None

    def _doc(self, nlp: Any, item: dict[str, Any], counts: dict[str, int]) -> Any:
        from spacy.util import filter_spans

        assert self.schema is not None
        final, source = final_answer(self.schema, item["annotations"],
                                     self.finals.get(item["id"]))
        if final is None:
            counts["open"] += 1
            return None
        doc = nlp.make_doc(item["text"])
        spans = []
        for s in final[SPANS]:
            span = doc.char_span(s["start"], s["end"], label=s["label"],
                                 alignment_mode=ALIGNMENT)
            if span is None:
                self.unaligned.append(f"{item['id']}:{s['start']}-{s['end']}:{s['label']}")
                continue
            counts["trimmed"] += (span.start_char, span.end_char) != (s["start"], s["end"])
            spans.append(span)
        doc.spans["sc"] = spans
        doc.ents = filter_spans(spans)
        counts["overlapping"] += len(spans) - len(doc.ents)
        doc.user_data["id"] = item["id"]
        doc.user_data["final_source"] = source
        return doc

    def _note(self, counts: dict[str, int]) -> None:
        lost = self.cannot_carry
        lost.append(f"each of the {counts['answers']:,} answers but the final one per item")
        if counts["open"]:
            lost.append(f"{counts['open']:,} items without a final answer (left out)")
        if counts["trimmed"]:
            lost.append(f"the exact ends of {counts['trimmed']:,} spans trimmed to whole tokens")
        if counts["overlapping"]:
            lost.append(f"{counts['overlapping']:,} overlapping spans in doc.ents (they are in "
                        "doc.spans['sc'])")
        if self.unaligned:
            more = len(self.unaligned) - LISTED
            lost.append(f"{len(self.unaligned):,} spans not aligned to tokens "
                        f"(alignment_mode={ALIGNMENT}): {', '.join(self.unaligned[:LISTED])}"
                        + (f" and {more:,} more" if more > 0 else ""))
