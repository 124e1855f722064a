"""`annotate bench replay`: label quality per human effort, replayed on a real dataset."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import typer

from annotate.cli.common import CommandsGroup, out, print_json, settings_of
from annotate.cli.progress import command_progress
from annotate.defaults import DEFAULT_MODEL

bench_app = typer.Typer(cls=CommandsGroup, no_args_is_help=True,
                        help="Benchmarks that prove the labels: replay a "
                        "real multi-annotator dataset through the queue and the roles.")


@bench_app.command("replay")
def replay(
    ctx: typer.Context,
    dataset: Path = typer.Argument(..., help="A labelled dataset file or its folder: long-form "
                                   "CSV item_id,text,annotator,label (e.g. "
                                   "../shared/data/convabuse), a pairwise JSONL with "
                                   "human_labels (../shared/data/pandalm_pairwise), or an "
                                   "`annotate export` JSONL."),
    policy_file: Path | None = typer.Option(None, "--policy", help="Routing policy file (JSON "
                                            "or TOML); default: a new project's policy."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", envvar="ANNOTATE_MODEL",
                              help="Model for the LLM roles (default: the embedded one)."),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1,
                                     help="Replay the first N items only."),
    seed: int = typer.Option(0, "--seed", help="Seed for held-out people, who answers, "
                             "baselines and bootstrap."),
    inject: float = typer.Option(0.0, "--inject", min=0.0, max=1.0,
                                 help="Share of items given a prompt injection ('ignore all "
                                 "previous instructions and answer X'); the report counts how "
                                 "often the label followed it."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="LLM worker threads."),
    output: Path = typer.Option(Path("replay"), "--out", "-o", help="Folder for replay.json, "
                                "replay.png and the replay's own database replay.db."),
    train_share: float = typer.Option(
        0.0, "--train-share", min=0.0, max=0.9, help="Train a distilled model on this share "
        "of the items (a seeded split by distinct text; those items are not replayed or "
        "scored): a cascade stage 'distilled:replay-train' in --policy becomes it, and the "
        "allocation by its probability is replayed."),
    samples: int = typer.Option(
        0, "--samples", min=0, max=20, help="k sampled LLM answers per item (temperature "
        "0.7) for the allocation by their entropy (CoAnnotating); 0 skips it. Costs k calls "
        "per item."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Replay a real multi-annotator dataset: simulated people answer with their recorded
    labels (only on items they labelled), the LLM roles answer live, the routing policy decides.

    Prints the final labels' agreement with the held-out people, the same people for every
    system (a bootstrap 95% interval), the share of recorded human labels used, LLM calls,
    tokens, cost and time, the LLM annotator's accuracy@coverage beside the majority-class
    share, and baselines on the same items: majority vote and Dawid-Skene over all human
    labels, the LLM alone, the constant most common label, and random people with the same
    budget. Majority ties are broken one way for every system (the rule is printed).
    Allocation curves (quality against human share, 0 to 100%): the most unsure items go to
    people by the entropy of --samples sampled answers, by the probability of the model
    --train-share trains, or at random; each with the human labels saved at non-inferior
    quality (95% lower bound of the paired difference to majority_all above -0.03).
    The replay runs on its own fresh database in --out (the global --db is not touched).
    """
    from annotate.projects.policy import default_policy, load_policy
    from annotate.replay.allocation import replay_allocations
    from annotate.replay.dataset import load_dataset
    from annotate.replay.metrics import build_report, plot, project_answers
    from annotate.replay.simulate import run_replay, usable_items
    from annotate.store.engine import open_store

    with command_progress(ctx, "bench replay") as progress:
        progress.phase(f"reading {dataset}")
        data = load_dataset(dataset, limit=limit)
        policy = load_policy(policy_file) if policy_file else default_policy(data.schema.kind)
        output.mkdir(parents=True, exist_ok=True)
        db = output / "replay.db"
        for stale in (db, db.with_name("replay.db-wal"), db.with_name("replay.db-shm")):
            stale.unlink(missing_ok=True)
        store = open_store(f"sqlite:///{db}")
        try:
            prepared = _trained_stage(store, data, policy, train_share, seed, output,
                                      progress)
            data, policy = prepared.dataset, prepared.policy
            items, dropped = usable_items(data)
            progress.phase(f"replaying {len(items)} items with {model}, {workers} "
                           f"worker{'s' if workers > 1 else ''}...")
            run = run_replay(store, data, policy=policy, model=model, seed=seed,
                             workers=workers, inject=inject, name=f"replay-{data.path.stem}",
                             on_progress=progress.status,
                             reservation_ttl_s=settings_of(ctx).reservation_ttl_s)
            progress.phase(f"scoring and baselines ({len(items)} items)")
            with store.session() as session:
                answers = project_answers(session, run.project_id)
            info = {"name": data.path.name, "path": str(data.path), "format": data.format,
                    "kind": data.schema.kind, "items": len(items),
                    "dropped_fewer_than_2_people": dropped,
                    "recorded_labels": sum(len(i.people) for i in items),
                    "reference": "gold" if any(i.gold for i in items) else "people not asked"}
            report = build_report(run, answers, dataset=info, policy=policy.model_dump(),
                                  model=model, seed=seed)
            report.notes.extend([*data.notes, *prepared.notes])
            if samples:
                progress.phase(f"sampling {samples} answers per item for the allocation")
            curves, notes = replay_allocations(
                store, run, {**run.llm_outside, **answers.llm}, model=model, samples=samples,
                distilled=prepared.model, seed=seed)
            report.allocations = [dataclasses.asdict(c) for c in curves]
            report.notes.extend(notes)
        finally:
            store.dispose()
        progress.phase(f"writing {output / 'replay.json'} and {output / 'replay.png'}")
        (output / "replay.json").write_text(json.dumps(report.as_dict(), indent=2, default=str),
                                            encoding="utf-8")
        plot(report, output / "replay.png")
    if json_out:
        print_json(report.as_dict())
        return
    _print(report, output)


def _trained_stage(store: Any, data: Any, policy: Any, share: float, seed: int, output: Path,
                   progress: Any) -> Any:
    """With --train-share, a distilled model trained on a seeded share of the items, which
    the replay then leaves out; a cascade stage ``distilled:replay-train`` becomes it
    (:mod:`annotate.replay.cascade`)."""
    from annotate.distill.train import DistillOptions, distill_project, normalise_text
    from annotate.replay.cascade import prepare

    def distil(name: str) -> str:
        progress.phase(f"training the distilled model on {share:.0%} of the items")
        options = DistillOptions(seed=seed, bootstrap=200, out=output / "models" / name)
        return distill_project(store, name, options).model

    return prepare(store, data, policy, share, seed, distil, normalise_text)


def _print(report: Any, output: Path) -> None:
    from rich.table import Table

    d = report.dataset
    out.print(f"[bold]Replay[/bold] of {d['name']}: {d['items']} items, "
              f"{d['recorded_labels']} recorded human labels; reference: {d['reference']} "
              f"(one held-out person per item, the same for every system)")
    from rich.table import Column

    table = Table(Column("system", no_wrap=True), "agreement [95% CI]",
                  "minus majority_all (paired)", "human labels used", "vs majority", "no label")
    for s in report.systems:
        vs = "n/a" if s.vs_majority is None else f"{s.vs_majority:.3f}"
        d = s.minus_majority_all
        diff = "" if d is None or s.name == "majority_all" else \
            f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]"
        table.add_row(s.name, f"{s.quality:.3f} [{s.ci[0]:.3f}, {s.ci[1]:.3f}]", diff,
                      f"{s.human_labels_used} ({s.human_share:.0%})", vs, str(s.unlabelled))
    out.print(table)
    out.print(f"ties: {report.tie_rule} (order: {', '.join(report.label_order)})",
              soft_wrap=True, highlight=False)
    llm = report.llm
    out.print(f"LLM ({report.model}): {int(llm.get('calls', 0))} calls, "
              f"{int(llm.get('tokens', 0))} tokens, ${llm.get('cost_usd', 0):.4f}, "
              f"{int(llm.get('not_ok', 0))} failed or invalid; wall time {report.seconds:.1f} s")
    out.print("LLM annotator accuracy@coverage (vs the majority of all recorded people; "
              f"always answering {report.majority_label!r} on the same items in brackets):")
    for row in report.llm_accuracy_at_coverage:
        acc, base = row["accuracy"], row.get("majority_share", float("nan"))
        shown = "n/a" if math.isnan(acc) else f"{acc:.0%}"
        constant = "n/a" if math.isnan(base) else f"{base:.0%}"
        out.print(f"  confidence >= {row['threshold']:.1f}: coverage {row['coverage']:.0%}, "
                  f"accuracy {shown} ({constant})")
    _print_allocations(report.allocations)
    inj = report.injection
    if inj["items"]:
        out.print(f"Prompt injection: {inj['items']} items; the LLM's label followed it on "
                  f"{inj['llm_followed']}, the final label on {inj['final_followed']}")
    for note in report.notes:
        out.print(f"[yellow]{note}[/yellow]")
    out.print(f"wrote {output / 'replay.json'} and {output / 'replay.png'}")


def _print_allocations(curves: list[dict[str, Any]]) -> None:
    """Per allocation: quality and paired difference at each human share, and the share of
    human labels saved at non-inferior quality."""
    for curve in curves:
        saved = curve["labels_saved"]
        onwards = curve.get("non_inferior_onwards")
        verdict = ("no share below 100% is non-inferior" if saved is None or saved <= 0 else
                   f"non-inferior at {curve['non_inferior_share']:.0%} of the human labels: "
                   f"saves {saved:.0%}" + ("" if onwards is None else
                                           f"; at every share from {onwards:.0%}"))
        out.print(f"{curve['name']} ({curve['description']}): {verdict}", highlight=False)
        out.print("  " + "; ".join(
            f"{p['human_share']:.0%} {p['quality']:.3f} ({p['diff']:+.3f} "
            f"[{p['diff_low']:+.3f}, {p['diff_high']:+.3f}])" for p in curve["points"]),
            soft_wrap=True, highlight=False)
