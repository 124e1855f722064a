"""Benchmark: the Helper's candidates, checked and re-asked, beside the Helper before (#19).

    .venv/bin/python benchmarks/helper_candidates.py [--limit 6] [--extra 2] [--data FILE.csv]

On user messages of ConvAbuse (the slice shipped for the demo, or ``--data``: a long-form CSV
with ``item_id, text``), distinct messages of at least ``--min-words`` words, in a fresh
SQLite ``text`` project with the demo's guideline (rewrite the message,
``annotate/datasets/convabuse_rewrite_guideline.md``), with the embedded
model (``local/smollm2``). For every item, in the same run:

- ``before``: the Helper as it was (one call for 3 candidates, every candidate shown);
- ``list``: the Helper now (one call asks for 3; while fewer than 3 distinct usable ones are
  left it re-asks for 3 again, sampled, ``--extra`` times at most);
- ``samples``: the same checks, but every re-ask asks for one sampled candidate.

Every mode's shown candidates are judged with one yardstick (:class:`roles.candidates.
Selection` with MiniLM, when installed): distinct usable candidates per item (not empty, not a
copy or near-copy of the source, not a duplicate, not prompt text, meaning kept >= the floor;
goal >= 2.5 of 3), copies of the source shown (goal 0), mean meaning kept (cosine with the
source, over the shown candidates), calls and seconds per item. The model's answers are not
cached between modes (each mode's calls carry its own seeds).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent  # benchmarks/queue.py must not shadow `queue`
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import csv
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from annotate.datasets import CONVABUSE_SAMPLE, DATASETS_DIR
from annotate.kinds.schema import LabelSchema
from annotate.llm.types import Completion, LLMClient, LLMError, LLMRequest
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import open_store
from roles.base import Attempt, ProjectContext, RoleContext
from roles.candidates import (
    NEAR_COPY,
    Meaning,
    Selection,
    default_embedder,
    normalised,
    surface_similarity,
)
from roles.helper import Gathered, gather, render_prompt

GUIDELINE = (DATASETS_DIR / "convabuse_rewrite_guideline.md").read_text(encoding="utf-8")
MODEL = "local/smollm2"
N = 3


class Counting:
    """The gateway, counting calls (an LLMClient around an LLMClient)."""

    def __init__(self, inner: LLMClient) -> None:
        self.inner, self.calls = inner, 0

    def complete(self, request: LLMRequest) -> Completion | LLMError:
        self.calls += 1
        return self.inner.complete(request.model_copy(update={"use_cache": False}))


@dataclass
class Tally:
    items: int = 0
    usable: int = 0
    copies: int = 0
    shown: int = 0
    meaning: list[float] = field(default_factory=list)
    calls: int = 0
    seconds: float = 0.0
    failed: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def row(self, name: str) -> str:
        n = max(self.items, 1)
        mean = sum(self.meaning) / len(self.meaning) if self.meaning else float("nan")
        return (f"| {name} | {self.usable / n:.2f} | {self.copies} of {self.shown} | "
                f"{mean:.2f} | {self.calls / n:.2f} | {self.seconds / n:.1f} | {self.failed} |")


def messages(path: Path, limit: int, min_words: int) -> list[str]:
    seen: list[str] = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["text"].strip()
            if len(text.split()) >= min_words and text not in seen:
                seen.append(text)
            if len(seen) >= limit:
                break
    return seen


def judge(tally: Tally, text: str, prompt_text: str, shown: list[str], embedder: Any) -> None:
    """One yardstick for every mode: what a person would find worth choosing."""
    yardstick = Selection(text, prompt_text, Meaning(text, embedder))
    for cand in shown:
        tally.shown += 1
        if normalised(cand) == normalised(text) or surface_similarity(cand, text) >= NEAR_COPY:
            tally.copies += 1
        if normalised(cand):
            tally.meaning.append(yardstick.meaning.kept(cand))
        if yardstick.offer({"text": cand}):
            tally.usable += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=6, help="user messages (items)")
    parser.add_argument("--min-words", type=int, default=3)
    parser.add_argument("--extra", type=int, default=2, help="the policy's helper_extra_calls")
    parser.add_argument("--data", type=Path, default=CONVABUSE_SAMPLE)
    parser.add_argument("--modes", default="before,list,samples")
    args = parser.parse_args()

    from annotate.llm.client import make_client
    from annotate.llm.model_check import load_embedded

    texts = messages(args.data, args.limit, args.min_words)
    embedder = default_embedder()
    if embedder is not None:
        embedder.encode(["warm up"])
    load_embedded()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        with store.session() as s:
            pid = create_project(s, "rewrites", LabelSchema(kind="text"), guideline=GUIDELINE,
                                 policy=RoutingPolicy(helper_first=True, helper_candidates=N,
                                                      helper_extra_calls=args.extra)).id
        client = Counting(make_client(store, pid, MODEL))
        ctx = RoleContext(store, client, ProjectContext.load(store, "rewrites"), MODEL)
        tallies = {m: Tally() for m in args.modes.split(",")}
        for text in texts:
            prompt = render_prompt(ctx, text, N)
            prompt_text = prompt.system + "\n" + prompt.user
            for mode, tally in tallies.items():
                before, start = client.calls, time.perf_counter()
                got = gather(ctx, Attempt("helper"), text,
                             extra_calls=args.extra, embedder=embedder,
                             check=mode != "before",
                             strategy="list" if mode == "list" else "samples")
                tally.seconds += time.perf_counter() - start
                tally.calls += client.calls - before
                tally.items += 1
                if not isinstance(got, Gathered):
                    tally.failed += 1
                    continue
                tally.dropped.update(got.stats.get("dropped", {}))
                shown = [str(c.get("text") or "") for c in got.candidates]
                judge(tally, text, prompt_text, shown, embedder)
                print(f"{mode:8s} {text[:40]!r:44s} -> {shown}", flush=True)
        store.dispose()
    report(tallies, len(texts), args, embedder is not None)


def report(tallies: dict[str, Tally], items: int, args: argparse.Namespace,
           embedded: bool) -> None:
    measure = "MiniLM cosine" if embedded else "lexical ratio"
    print(f"\n{items} ConvAbuse user messages (>= {args.min_words} words), {MODEL}, "
          f"{N} candidates, extra calls {args.extra}; meaning kept: {measure}\n")
    print("| helper | distinct usable / item | copies of the source shown | mean meaning kept "
          "| calls / item | s / item | failed items |")
    print("|---|---|---|---|---|---|---|")
    for mode, tally in tallies.items():
        print(tally.row(mode))
    base = tallies.get("before")
    for mode, tally in tallies.items():
        if base is not None and base.usable and mode != "before":
            print(f"{mode} vs before: distinct usable x{tally.usable / base.usable:.2f}, "
                  f"calls x{tally.calls / max(base.calls, 1):.2f}")
        if tally.dropped:
            print(f"{mode} dropped: {dict(tally.dropped)}")

if __name__ == "__main__":
    main()
