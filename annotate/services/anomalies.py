"""Anomaly search over a project's items and labels, each finding with its reason.

Duplicates and near-duplicates (word-shingle Jaccard over a MinHash-free exact index of
normalised texts plus a bounded pairwise check), empty or huge texts, text in another
script than most of the data (a cheap "wrong language" signal), and annotators whose label
distribution is far from everyone else's.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.store.models import Annotation, Item, Project

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Anomaly:
    kind: str
    item: str | None
    reason: str


def normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def script_of(text: str) -> str | None:
    """The dominant Unicode script of the letters (LATIN, CYRILLIC, ...), or None."""
    scripts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            scripts[name.split(" ")[0] if name else "UNKNOWN"] += 1
    return scripts.most_common(1)[0][0] if scripts else None


def _shingles(text: str) -> set[str]:
    words = normalise(text).split()
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def text_anomalies(items: list[tuple[str, str]], *, huge: int = 5000,
                   near: float = 0.8, max_pairs: int = 2_000_000) -> list[Anomaly]:
    """Findings on (external_id, text) pairs."""
    found: list[Anomaly] = []
    by_norm: dict[str, list[str]] = defaultdict(list)
    for ext, text in items:
        if not text.strip():
            found.append(Anomaly("empty", ext, "the text is empty or whitespace"))
        elif len(text) > huge:
            found.append(Anomaly("huge", ext, f"{len(text):,} characters (over {huge:,})"))
        by_norm[normalise(text)].append(ext)
    for ids in by_norm.values():
        for dup in ids[1:]:
            found.append(Anomaly("duplicate", dup, f"same text as {ids[0]}"))
    found += _near_duplicates(items, by_norm, near, max_pairs)
    found += _other_scripts(items)
    return found


def _near_duplicates(items: list[tuple[str, str]], by_norm: dict[str, list[str]],
                     near: float, max_pairs: int) -> list[Anomaly]:
    firsts = [(ids[0], norm) for norm, ids in by_norm.items() if len(norm.split()) >= 4]
    if len(firsts) * (len(firsts) - 1) // 2 > max_pairs:
        return [Anomaly("near_duplicate", None, f"skipped: {len(firsts):,} texts are too many "
                        "for the pairwise near-duplicate check")]
    shingles = [(ext, _shingles(norm)) for ext, norm in firsts]
    found = []
    for i, (a, sa) in enumerate(shingles):
        for b, sb in shingles[i + 1 :]:
            jaccard = len(sa & sb) / len(sa | sb)
            if jaccard >= near:
                found.append(Anomaly("near_duplicate", b,
                                     f"{jaccard:.0%} of its word triples are shared with {a}"))
    return found


def _other_scripts(items: list[tuple[str, str]]) -> list[Anomaly]:
    scripts = {ext: script_of(text) for ext, text in items}
    counts = Counter(s for s in scripts.values() if s)
    if not counts:
        return []
    main, n_main = counts.most_common(1)[0]
    if n_main / sum(counts.values()) < 0.8:
        return []
    return [Anomaly("language", ext, f"written in {script.title()} script, most items are "
                    f"{main.title()}") for ext, script in scripts.items()
            if script and script != main]


def label_anomalies(rows: list[tuple[str, str]], *, min_labels: int = 20,
                    ratio: float = 3.0, gap: float = 0.1) -> list[Anomaly]:
    """Annotators (from annotator, label rows) whose share of a label is ``ratio`` times above
    or below the median annotator's, and at least ``gap`` away from it."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for annotator, label in rows:
        per[annotator][label] += 1
    active = {a: c for a, c in per.items() if sum(c.values()) >= min_labels}
    if len(active) < 3:
        return []
    labels = sorted({label for _, label in rows})
    found = []
    for label in labels:
        shares = {a: c[label] / sum(c.values()) for a, c in active.items()}
        median = statistics.median(shares.values())
        for annotator, share in shares.items():
            high = share > ratio * median and share - median >= gap
            low = share < median / ratio and median - share >= gap
            if high or low:
                found.append(Anomaly("label_distribution", None,
                                     f"{annotator} uses {label!r} on {share:.0%} of its items, "
                                     f"the median annotator on {median:.0%}"))
    return found


def project_anomalies(session: Session, project: Project) -> list[Anomaly]:
    items = [(e, t) for e, t in session.execute(
        select(Item.external_id, Item.text).where(Item.project_id == project.id))]
    labels = [(a, str(v.get("label"))) for a, v in session.execute(
        select(Annotation.annotator_id, Annotation.value)
        .where(Annotation.project_id == project.id, Annotation.role == "annotator"))
        if isinstance(v, dict) and "label" in v]
    return text_anomalies(items) + label_anomalies(labels)
