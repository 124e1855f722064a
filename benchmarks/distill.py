"""Benchmark: a distilled annotator (``annotate distill``) against the embedded LLM annotator.

    .venv/bin/python benchmarks/distill.py [--llm-items 100] [--llm-threads 1] [--seed 0]

On ConvAbuse dev (long form: item, text, annotator, label; 2093 items, 5 labels) in a fresh
SQLite project: the reference is the majority of the expert labels per item (ties dropped),
which is exactly the project's final labels. Then, in one run:

1. ``distill_project`` trains on a seeded, stratified 80% and saves the model (timed);
2. the distilled model labels every held-out item through ``annotate_items`` (one batch),
   and the same ``--llm-items`` random held-out items one text per call (as a queue worker);
3. the embedded LLM annotator (``local/smollm2``) labels those ``--llm-items`` items through
   ``annotate_items`` (the same call, the items' conversation context included);
4. accuracy (95% bootstrap CI) and ECE of both on the same items, items/s and their ratio.

An LLM answer that failed validation counts as wrong. Warm figures: each model answers one
item (not among those scored) before its clock starts; cold loads are printed apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running a script puts its folder first on sys.path; benchmarks/ holds a queue.py that would
# then shadow the standard library's `queue` (which pandas' CSV reader imports).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import os
import tempfile
import time
from collections import Counter
from typing import Any

import numpy as np
from sqlalchemy import select

from annotate.agreement.reporting import annotations_frame
from annotate.datasets import CONVABUSE_LABELS, DATASETS_DIR
from annotate.distill.train import (
    DistillOptions,
    Scores,
    distill_project,
    heldout_mask,
    score,
    training_frame,
)
from annotate.io.importing import import_file
from annotate.kinds.schema import LabelSchema
from annotate.llm import local_model
from annotate.projects.catalog import create_project, get_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store, open_store
from annotate.store.models import Item
from roles.distilled import MiniLMEmbedder, load_distilled
from roles.offline import ItemOutput, annotate_items

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "convabuse" / "convabuse_dev.csv"
PROJECT = "convabuse-dev"
LLM = "local/smollm2"


def make_project(store: Store, path: Path) -> int:
    guideline = (DATASETS_DIR / "convabuse_guideline.md").read_text(encoding="utf-8")
    schema = LabelSchema(kind="classification", labels=list(CONVABUSE_LABELS))
    with store.session() as session:
        project = create_project(session, PROJECT, schema, guideline=guideline,
                                 policy=RoutingPolicy(human_annotations=0, llm_annotations=0))
        pid = project.id
    import_file(store, PROJECT, path, plan_tasks=False)
    return pid


def heldout_items(store: Store, seed: int) -> tuple[list[int], list[str], list[str]]:
    """Item pks, texts and reference labels of the held-out split distill_project used."""
    with store.session() as session:
        project = get_project(session, PROJECT)
        frame = training_frame(annotations_frame(session, project))
        pks = {ext: pk for ext, pk in session.execute(
            select(Item.external_id, Item.id).where(Item.project_id == project.id))}
    held = frame[heldout_mask(frame["label"].tolist(), 0.2, seed)]
    return ([pks[e] for e in held["item_id"]], held["text"].tolist(), held["label"].tolist())


def scored(name: str, outputs: list[ItemOutput], reference: list[str], seed: int) -> Scores:
    labels = [o.value["label"] if o.value else "<invalid>" for o in outputs]
    return score(name, labels, reference, [o.confidence for o in outputs], 1000, seed)


def labels_given(outputs: list[ItemOutput]) -> str:
    counts = Counter(o.value["label"] if o.value else "<invalid>" for o in outputs)
    return ", ".join(f"{label} x{n}" for label, n in counts.most_common())


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def line(s: Scores, seconds: float) -> str:
    ci = f"[{s.ci95[0]:.3f}, {s.ci95[1]:.3f}]" if s.ci95 else ""
    return (f"{s.annotator:>28}: {s.n:4d} items  accuracy {s.accuracy:.3f} {ci}  "
            f"ECE {s.ece if s.ece is not None else 'n/a'}  {s.n / seconds:8.1f} items/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--llm-items", type=int, default=100)
    parser.add_argument("--llm-threads", type=int, default=1,
                        help="llama.cpp threads of the embedded LLM (default 1, as shipped)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"load average at start: {os.getloadavg()[0]:.1f}; ANNOTATE_THREADS="
          f"{os.environ.get('ANNOTATE_THREADS', '(unset: 1)')} (torch), llama.cpp threads "
          f"{args.llm_threads}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ANNOTATE_MODELS_DIR"] = str(Path(tmp) / "models")
        local_model.configure(threads=args.llm_threads)
        store = open_store(f"sqlite:///{tmp}/bench.db")
        pid = make_project(store, args.data)
        cold_embed, _ = timed(lambda: MiniLMEmbedder().encode(["warm up"]))
        train_s, report = timed(lambda: distill_project(
            store, PROJECT, DistillOptions(heldout=0.2, seed=args.seed)))
        print(f"data: {args.data.name}; reference = majority of the expert labels (ties "
              f"dropped); trained on {report.n_train}, held out {report.n_heldout}")
        print(f"load MiniLM + torch (cold): {cold_embed:.1f} s; distill (embed {report.n_train} "
              f"+ {report.n_heldout} texts, fit, evaluate, save): {train_s:.1f} s")
        model = report.model
        ids, texts, reference = heldout_items(store, args.seed)
        rng = np.random.default_rng(args.seed)
        picked = sorted(rng.choice(len(ids), size=min(args.llm_items, len(ids) - 1),
                                   replace=False).tolist())
        spare = next(i for i in range(len(ids)) if i not in set(picked))
        sub_ids = [ids[i] for i in picked]
        sub_ref = [reference[i] for i in picked]

        all_s, all_out = timed(lambda: annotate_items(store, pid, ids, model=model))
        distilled_all = scored(model, all_out, reference, args.seed)
        sub_s, sub_out = timed(lambda: annotate_items(store, pid, sub_ids, model=model))
        distilled_sub = scored(model, sub_out, sub_ref, args.seed)
        predictor = load_distilled(model)
        one_s, _ = timed(lambda: [predictor.predict([texts[i]]) for i in picked])

        cold_llm, _ = timed(lambda: annotate_items(store, pid, [ids[spare]], model=LLM))
        llm_s, llm_out = timed(lambda: annotate_items(store, pid, sub_ids, model=LLM))
        llm_sub = scored(LLM, llm_out, sub_ref, args.seed)
        invalid = sum(o.error is not None for o in llm_out)

    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    majority = max(set(reference), key=reference.count)
    print(f"majority-label baseline ({majority}) on all held-out: "
          f"{reference.count(majority) / len(reference):.3f}; on the {len(sub_ref)}: "
          f"{sub_ref.count(majority) / len(sub_ref):.3f}")
    print("all held-out items, distilled (one annotate_items batch):")
    print(line(distilled_all, all_s))
    print(f"the same {len(sub_ids)} held-out items:")
    print(line(distilled_sub, sub_s))
    print(line(llm_sub, llm_s) + f"  ({invalid} invalid answers, counted wrong)")
    print(f"labels given on those items: distilled {labels_given(sub_out)}; "
          f"LLM {labels_given(llm_out)}")
    print(f"distilled one text per call (as a queue worker): {len(picked) / one_s:.1f} items/s")
    print(f"embedded LLM first item (model load + answer): {cold_llm:.1f} s")
    llm_rate = len(sub_ids) / llm_s
    print(f"ratio, same items, same run: distilled {len(sub_ids) / sub_s / llm_rate:.0f}x the "
          f"LLM's items/s (batch), {len(picked) / one_s / llm_rate:.0f}x one per call; "
          f"accuracy {distilled_sub.accuracy:.3f} vs {llm_sub.accuracy:.3f}")


if __name__ == "__main__":
    main()
