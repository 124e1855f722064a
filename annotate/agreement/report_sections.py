"""The sections of the agreement report: each computes its numbers, one table or figure at a time.

Every builder adds a :class:`~annotate.agreement.report.Section` to the page, its numbers to
``content.numbers`` (-> ``numbers.json``) and its tables to ``content.tables`` (-> CSV).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from annotate.agreement import plots
from annotate.agreement.aggregate import final_labels
from annotate.agreement.alpha import specific_agreement
from annotate.agreement.dawid_skene import DawidSkeneResult, dawid_skene_of_coded
from annotate.agreement.disagreement import disagreement_examples, examples_frame
from annotate.agreement.human_llm import human_llm_confusion, llm_vs_human_majority
from annotate.agreement.pairwise import agreement_matrix, groups_of_coded, pairwise_of_coded
from annotate.agreement.ratings import BUCKETS, RatingComparison, compare_ratings
from annotate.agreement.report_content import ReportContent, ReportOptions, Section
from annotate.agreement.serialize import to_jsonable
from annotate.agreement.spans import REFERENCE_OUTCOMES, SpanPair, compare_spans
from annotate.agreement.summary import summary_of_coded
from annotate.agreement.table import CodedRatings, annotation_rows, code_ratings


def label_sections(content: ReportContent, labels: pd.DataFrame, options: ReportOptions) -> None:
    coded = code_ratings(labels, options.level, options.order)
    summary_section(content, coded, options)
    pairwise_section(content, coded, options)
    per_label_section(content, labels, coded)
    human_llm_section(content, labels, options)
    disagreement_section(content, labels, options)
    fit = aggregation_section(content, labels, coded, options)
    plain = coded.level == "nominal" and options.order is None  # coded as competence codes
    competence_section(content, labels, options, (coded, fit) if plain else None)


def summary_section(content: ReportContent, coded: CodedRatings, options: ReportOptions) -> None:
    summary = summary_of_coded(coded, bootstrap=options.bootstrap, seed=options.seed)
    numbers = summary.as_json()
    content.numbers["summary"] = numbers
    content.numbers["alpha"] = to_jsonable(summary.alpha)
    ci = summary.alpha.ci
    ci_text = f" [{_fmt(ci.low)}, {_fmt(ci.high)}]" if ci is not None and ci.low is not None else ""
    section = Section("summary", "Overall agreement", intro=(
        f"{coded.n_items} items, {len(coded.annotators)} annotators, level {coded.level}."
        + (f" Alpha's interval: {ci.confidence:.0%} {ci.method}, {ci.n_resamples} resamples, "
           f"seed {ci.seed}." if ci is not None else "")))
    section.kpis = [
        {"label": "Krippendorff's alpha" + ci_text, "value": _fmt(summary.alpha.value)},
        {"label": "percent agreement (pairs)", "value": _fmt(summary.percent_agreement.value)},
        {"label": f"Cohen's kappa ({numbers['cohen_kappa_weights']})",
         "value": _fmt(summary.cohen_kappa.value)},
        {"label": "Fleiss' kappa", "value": _fmt(summary.fleiss_kappa.value)},
    ]
    section.notes = list(summary.notes)
    content.tables["summary"] = pd.DataFrame([{k: v for k, v in numbers.items()
                                               if not isinstance(v, list | dict)}])
    content.sections.append(section)


def pairwise_section(content: ReportContent, coded: CodedRatings, options: ReportOptions) -> None:
    pairs = pairwise_of_coded(coded, bootstrap=options.bootstrap, seed=options.seed)
    groups = groups_of_coded(coded, bootstrap=options.bootstrap, seed=options.seed)
    pair_rows = pd.DataFrame([_flat_ci(to_jsonable(p)) for p in pairs])
    group_rows = pd.DataFrame([_flat_ci(to_jsonable(g)) for g in groups])
    content.tables["pairwise"] = pair_rows
    content.numbers["pairwise"] = to_jsonable(pairs)
    section = Section("pairwise", "Agreement between annotators", intro=(
        "Two-coder Krippendorff's alpha for every pair of annotators over the items both rated."))
    if pairs:
        matrix = agreement_matrix(pairs, "alpha")
        content.tables["pairwise_alpha_matrix"] = matrix.rename_axis("annotator").reset_index()
        section.add_image(plots.heatmap(matrix, "Pairwise Krippendorff's alpha", vmin=-0.2,
                                        vmax=1.0), "pairwise alpha heatmap")
        section.add_table(pair_rows, "Pairs")
    if groups:
        content.tables["groups"] = group_rows
        content.numbers["groups"] = to_jsonable(groups)
        section.add_table(group_rows, "By pair type (human-human, human-LLM, LLM-LLM)")
    content.sections.append(section)


def per_label_section(content: ReportContent, labels: pd.DataFrame, coded: CodedRatings) -> None:
    table = specific_agreement(coded.value_counts(), coded.domain)
    rows = annotation_rows(labels)
    if "annotator_kind" in rows.columns:
        for kind in ("human", "llm"):
            mine = rows.loc[rows["annotator_kind"] == kind, "label"]
            if len(mine):
                counts = mine.value_counts()  # on the distinct labels, then by spelling
                shares = counts.groupby(counts.index.map(str)).sum() / len(mine)
                table[f"share_of_{kind}_ratings"] = table["label"].map(str).map(shares).fillna(0.0)
    content.tables["per_label"] = table
    content.numbers["per_label"] = to_jsonable(table)
    section = Section("per_label", "Per label", intro=(
        "Specific agreement: of the pairable ratings with a label, the share paired with the "
        "same label by another annotator of the item; and how often each kind used the label."))
    rates = table.set_index(table["label"].map(str)).drop(
        columns=["label", "n_ratings", "n_pairable"])
    section.add_image(plots.bar_chart(rates, "Per-label rates", ylim=(0, 1)), "per-label rates")
    section.add_table(table)
    content.sections.append(section)


def human_llm_section(content: ReportContent, labels: pd.DataFrame, options: ReportOptions
                      ) -> None:
    confusion = human_llm_confusion(labels, options.order)
    if confusion.empty:
        return
    match = llm_vs_human_majority(labels)
    content.tables["human_llm_confusion"] = confusion.reset_index()
    content.tables["llm_vs_human_majority"] = match
    content.numbers["human_llm_confusion"] = to_jsonable(confusion.reset_index())
    content.numbers["llm_vs_human_majority"] = to_jsonable(match)
    section = Section("human_llm", "LLM answers against the human majority", intro=(
        "Rows: the human majority label (items without a unique human majority are left out); "
        "columns: the LLM's label, all LLM annotators pooled."))
    section.add_image(plots.heatmap(confusion.astype(float), "Human majority vs LLM",
                                    value_format="{:.0f}", cmap="Blues", xlabel="LLM",
                                    ylabel="human majority"), "human vs LLM confusion matrix")
    section.notes = [
        f"{row.annotator} matches the human majority on {row.match_rate:.3f} of {row.n_items} "
        f"items (always answering the most common label, {row.majority_label}: "
        f"{row.majority_share:.3f})" for row in match.itertuples()]
    section.add_table(match, "Share of items where each LLM matches the human majority, and "
                             "the share always answering the most common label would match")
    content.sections.append(section)


def disagreement_section(content: ReportContent, labels: pd.DataFrame, options: ReportOptions
                         ) -> None:
    examples = disagreement_examples(labels, options.top_disagreements, options.order)
    content.tables["disagreements"] = examples_frame(examples)
    content.numbers["disagreements"] = to_jsonable(examples)
    section = Section("disagreements", "Disagreement examples", intro=(
        f"The {len(examples)} items with most disagreement (share of disagreeing rating pairs), "
        "with every answer and rationale."))
    for rank, example in enumerate(examples, start=1):
        item = to_jsonable(example)
        item["rank"] = rank
        item["disagreement"] = _fmt(example.disagreement)
        section.examples.append(item)
    if not examples:
        section.notes.append("No item has disagreeing answers.")
    content.sections.append(section)


def aggregation_section(content: ReportContent, labels: pd.DataFrame, coded: CodedRatings,
                        options: ReportOptions) -> DawidSkeneResult:
    """Final labels and the Dawid-Skene fit of the nominal labels (returned, for
    :func:`competence_section`)."""
    finals = final_labels(labels, options.aggregation, options.tie_rule, options.order)
    nominal = coded if coded.level == "nominal" else code_ratings(labels, "nominal")
    fit = dawid_skene_of_coded(nominal)
    merged = finals.merge(fit.labels.rename(columns={"label": "dawid_skene_label",
                                                       "posterior": "dawid_skene_posterior"}),
                            on="item_id", how="left")
    merged["methods_agree"] = merged["label"].map(str) == merged["dawid_skene_label"].map(str)
    content.tables["final_labels"] = merged
    content.tables["annotator_reliability"] = fit.annotators
    sources = merged["source"].value_counts().to_dict()
    content.numbers["aggregation"] = {
        "method": options.aggregation,
        "tie_rule": options.tie_rule, "final_label_sources": sources,
        "majority_vs_dawid_skene_agreement": float(merged["methods_agree"].mean()),
        "dawid_skene": {"priors": fit.priors, "n_iter": fit.n_iter, "converged": fit.converged,
                        "annotators": to_jsonable(fit.annotators)}}
    how = (f"Majority vote, tie rule '{options.tie_rule}'" if options.aggregation == "majority"
           else "Dawid-Skene (each vote weighted by its annotator's confusion matrix)")
    section = Section("aggregation", "Final labels", intro=(
        f"{how}; adjudicator and moderator decisions take precedence. Dawid-Skene is "
        "fitted over people and LLMs together; an annotator's "
        "reliability is its estimated accuracy."))
    section.add_table(pd.DataFrame({"source": list(sources), "items": list(sources.values())}),
                      "Where the final labels come from")
    section.add_table(fit.annotators, "Annotator reliability (Dawid-Skene)")
    content.sections.append(section)
    return fit


def competence_section(content: ReportContent, labels: pd.DataFrame, options: ReportOptions,
                       fitted: tuple[CodedRatings, DawidSkeneResult] | None = None) -> None:
    """Per person and per model, the Dawid-Skene competence with its bootstrap interval.
    ``fitted``: the labels coded nominal (without an order) and their fit, when already
    made."""
    from annotate.agreement.competence import annotator_competence

    result = annotator_competence(labels, n_resamples=min(options.bootstrap, 200),
                                  seed=options.seed, fitted=fitted)
    content.tables["annotator_competence"] = result.table
    content.numbers["competence"] = {
        "method": result.method, "n_items": result.n_items, "n_resamples": result.n_resamples,
        "confidence": result.confidence, "seed": result.seed, "reason": result.reason,
        "annotators": to_jsonable(result.table)}
    section = Section("competence", "Annotator competence", intro=(
        "People and models on one footing: each annotator's expected accuracy under "
        f"Dawid-Skene (from its estimated confusion matrix), {result.confidence:.0%} "
        f"percentile bootstrap over items ({result.n_resamples} resamples, seed "
        f"{result.seed}); 'agrees_with_final' is the share of its answers equal to the "
        "item's Dawid-Skene label, 'vs_others' the share equal to the strict majority of the "
        "item's other annotators. Dawid-Skene cannot tell who is right where two annotators "
        "differ and sides with the one that looks reliable elsewhere: where a model answers "
        "every item and each person a few, read 'vs_others' beside its competence."))
    if result.reason:
        section.notes.append(result.reason)
    else:
        section.add_table(result.table, "Competence per annotator")
    content.sections.append(section)


def span_sections(content: ReportContent, spans: Iterable[SpanPair] | pd.DataFrame) -> None:
    comparison = compare_spans(spans)
    scores = comparison.scores_frame()
    confusions = comparison.type_confusions()
    content.tables["span_scores"] = scores
    content.tables["span_matches"] = comparison.matches_frame()
    content.tables["span_type_confusions"] = confusions
    content.numbers["spans"] = {"counts": comparison.counts, "rates": comparison.rates,
                                "answers": comparison.answers,
                                "failed_answers": comparison.failed_answers,
                                "failed_references": comparison.failed_references,
                                "scores": to_jsonable(scores),
                                "type_confusions": to_jsonable(confusions)}
    overall = comparison.overall
    section = Section("spans", "Span comparison (predicted vs reference)", intro=(
        "Outcomes per reference entity: exact, type confusion (same span, other label), "
        "over-extended, under-extended, crossing, missed; per prediction: spurious (overlaps "
        "no reference) or extra overlap (overlaps only already matched references). An answer "
        "that failed (unusable output) is not left out: every reference entity of its item "
        "counts as missed."))
    rates = comparison.rates
    section.kpis = [
        {"label": "reference entities", "value": str(overall.n_reference)},
        {"label": "predicted entities", "value": str(overall.n_predicted)},
        {"label": "failed answers (entities all missed)",
         "value": f"{comparison.failed_answers} of {comparison.answers}"},
        {"label": "missed (share of references)", "value": _fmt(rates["missed"])},
        {"label": "over-extended", "value": _fmt(rates["over_extended"])},
        {"label": "type confusion", "value": _fmt(rates["type_confusion"])},
        {"label": "exact F1", "value": _fmt(overall.exact[2])},
        {"label": "partial F1", "value": _fmt(overall.partial[2])},
    ]
    if comparison.failed_answers:
        section.notes.append(
            f"{comparison.failed_answers} of {comparison.answers} answers failed; their "
            f"{comparison.failed_references} reference entities count as missed")
    breakdown = pd.DataFrame({"count": comparison.counts})
    section.add_image(plots.bar_chart(breakdown, "Span outcomes"), "span error breakdown")
    per_label = scores[scores["label"] != "(all)"].set_index("label")
    label_rates = per_label[list(REFERENCE_OUTCOMES[1:])].div(
        per_label["n_reference"].where(per_label["n_reference"] > 0), axis=0)
    if not label_rates.empty:
        section.add_image(plots.bar_chart(label_rates, "Error rates per reference label",
                                          ylabel="share of reference entities"),
                          "per-label span error rates")
    section.add_table(scores, "Precision, recall, F1 (exact and partial) and outcome counts")
    if not confusions.empty:
        section.add_table(confusions, "Type confusions (reference label -> predicted label)")
    content.sections.append(section)


def rating_sections(content: ReportContent, ratings: pd.DataFrame,
                    scales: Mapping[str, Sequence[object]]) -> None:
    comparisons = [compare_ratings(ratings, scales)]
    kinds = set(annotations_kinds(ratings))
    if {"human", "llm"} <= kinds:
        comparisons.append(compare_ratings(ratings, scales, kinds=("human", "llm")))
    buckets = pd.DataFrame([{"compared": c.compared, "n_items": c.n_items,
                             **{f"{b}_share": c.shares[b] for b in BUCKETS},
                             **{f"{b}_count": c.counts[b] for b in BUCKETS}} for c in comparisons])
    content.tables["rating_buckets"] = buckets
    content.tables["rating_features"] = comparisons[0].per_feature
    content.tables["rating_items"] = _rating_items(comparisons)
    content.numbers["ratings"] = {"buckets": to_jsonable(buckets),
                                  "features": to_jsonable(comparisons[0].per_feature)}
    section = Section("ratings", "Per-feature ratings", intro=(
        "Per item: full match (every feature agrees), partial (some feature agrees, or all "
        "within one step), completely different (otherwise)."))
    shares = buckets.set_index("compared")[[f"{b}_share" for b in BUCKETS]]
    shares.columns = list(BUCKETS)
    section.add_image(plots.bar_chart(shares, "Rating buckets", stacked=True, ylim=(0, 1),
                                      ylabel="share of items"), "rating buckets")
    section.add_table(buckets)
    section.add_table(comparisons[0].per_feature, "Per feature (all annotators)")
    content.sections.append(section)


def annotations_kinds(frame: pd.DataFrame) -> list[str]:
    from annotate.agreement.table import normalise_kinds

    frame = normalise_kinds(frame)
    if "annotator_kind" not in frame.columns:
        return []
    return [str(k) for k in frame["annotator_kind"].dropna().unique()]


def _rating_items(comparisons: Sequence[RatingComparison]) -> pd.DataFrame:
    return pd.concat([c.per_item.assign(compared=c.compared) for c in comparisons],
                     ignore_index=True)


def _flat_ci(row: dict[str, Any]) -> dict[str, Any]:
    """The CI's bounds as columns beside alpha; the reason (if any) last."""
    ci = row.pop("ci", None) or {}
    reason = row.pop("reason", None)
    return {**row, "ci_low": ci.get("low"), "ci_high": ci.get("high"), "reason": reason}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
