"""Pilot (owners): the latest `annotate pilot` of the chosen project, as the CLI's report
shows it: the recommended routing against people only and LLM only, each model's agreement,
accuracy@coverage, calibration, invalid outputs, cost and time; and a button that applies
the recommended policy. The numbers come from the pilot's record file
(:func:`annotate.pilot.report.latest_pilot`) or from a pilot folder given here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from annotate.errors import AnnotateError
from annotate.pilot.report import latest_pilot, load_pilot_json
from annotate.projects.catalog import get_project
from annotate.projects.policy import parse_policy
from annotate.queue.reconcile import set_policy
from annotate.store.engine import Store
from annotate.store.models import Project
from ui import access, state
from ui.resources import get_store


def _fmt(value: Any, pattern: str = "{:.3f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def _load(store: Store, project: Project) -> dict[str, Any] | None:
    with st.expander("Open a pilot folder instead (a pilot run on another machine)"):
        folder = st.text_input("Pilot folder (the --output of `annotate pilot`)",
                               key=f"pilot_folder:{project.id}",
                               placeholder="e.g. /path/to/pilot")
    if folder.strip():
        data = load_pilot_json(Path(folder.strip()).expanduser())
        if data is None:
            st.error(f"No pilot numbers (numbers.json) in {folder}.")
        elif data.get("project") != project.name:
            st.warning(f"This pilot is of project {data.get('project')!r}.")
        return data
    return latest_pilot(store, project.name)


def _recommendation(data: dict[str, Any]) -> None:
    rec = data["recommendation"]
    choice, people = rec["choice"], rec["people_only"]
    cols = st.columns([2, 1, 1, 1])
    cols[0].metric("Recommended", rec["model"] or "people only")
    cols[1].metric("Threshold", _fmt(choice["threshold"], "{:g}"),
                   help=f"the LLM alone at or above this confidence: {choice['coverage']:.0%} "
                   "of the items; people below it and where the LLM failed")
    cols[2].metric("Expected cost / item", _fmt(choice["expected_cost"]),
                   delta=_fmt(choice["expected_cost"] - people["expected_cost"]),
                   delta_color="inverse", help="delta: against people only")
    cols[3].metric("Expected accuracy", _fmt(choice["expected_accuracy"], "{:.1%}"))
    llm_only = rec.get("llm_only")
    st.caption(f"People only: cost {_fmt(people['expected_cost'])}, accuracy "
               f"{_fmt(people['expected_accuracy'], '{:.1%}')}"
               + (f" · LLM only: cost {_fmt(llm_only['expected_cost'])}, accuracy "
                  f"{_fmt(llm_only['expected_accuracy'], '{:.1%}')}" if llm_only else ""))
    st.markdown("\n".join(f"- {line}" for line in [*rec["reasons"], *data["notes"]]))


def _models(data: dict[str, Any]) -> None:
    rows = [{"model": m["model"], "alpha (human-LLM)": m["alpha"], "accuracy": m["accuracy"],
             "always the most common label": (m.get("skill") or {}).get("majority_share"),
             "AUROC right vs wrong": (m.get("skill") or {}).get("auroc"),
             "ECE": m["ece"], "invalid": m["invalid_rate"], "USD / 1k": m["cost_per_1000"],
             "s / 1k": m["seconds_per_1000"], "model s / 1k": m["model_seconds_per_1000"],
             "cache hits": m["usage"]["cache_hits"], "threshold": m["best"]["threshold"],
             "cost / item": m["best"]["expected_cost"]} for m in data["models"]]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    humans = data["humans"]
    st.caption(f"People: alpha {_fmt(humans['alpha'])}, error rate "
               f"{_fmt(humans['error_rate'])} over {humans['error_comparisons']} labels "
               f"({humans['error_estimator']}).")
    tabs = st.tabs([m["model"] for m in data["models"]])
    for tab, model in zip(tabs, data["models"], strict=True):
        with tab:
            _model(model)


def _model(model: dict[str, Any]) -> None:
    cols = st.columns(2)
    with cols[0]:
        st.caption("Accuracy@coverage and expected cost per confidence threshold")
        coverage = pd.DataFrame(model["coverage"])
        st.dataframe(coverage, hide_index=True)
        st.line_chart(coverage, x="threshold", y=["coverage", "accuracy"])
    with cols[1]:
        st.caption(f"Reliability (ECE {_fmt(model['ece'])}): accuracy against confidence")
        bins = pd.DataFrame(model["reliability"])
        if not bins.empty:
            st.scatter_chart(bins, x="confidence", y="accuracy", size="n")
            st.dataframe(bins, hide_index=True)
    for failure in model["failures"]:
        st.caption(f"failure: {failure}")


def _policy(store: Store, project: Project, data: dict[str, Any]) -> None:
    policy = data["recommendation"]["policy"]
    st.json(policy, expanded=False)
    cols = st.columns(2)
    cols[0].download_button("Download policy.json", _dumps(policy), file_name="policy.json",
                            mime="application/json", icon=":material/download:")
    if cols[1].button("Apply this policy", icon=":material/check:",
                      disabled=data.get("project") != project.name):
        try:
            from roles.stages import check_cascade

            parsed = parse_policy(policy)
            check_cascade(parsed)  # the cascade's annotators must exist here
            with store.session() as session:
                change = set_policy(session, get_project(session, project.name), parsed)
        except AnnotateError as exc:
            st.error(f"Not applied: {exc}")
            return
        state.flash(f"Applied the pilot's policy to {project.name}: {change.describe()}.")
        st.rerun()


def _dumps(policy: dict[str, Any]) -> bytes:
    import json

    return (json.dumps(policy, indent=2) + "\n").encode("utf-8")


def render() -> None:
    store = get_store()
    access.require_owner()
    project = access.require_project(store)
    data = _load(store, project)
    if data is None:
        st.info(f"No pilot of {project.name} yet. Run `annotate pilot {project.name} "
                "--models MODEL --error-cost X --human-cost Y` on this database, then reload.")
        return
    sample, costs = data["sample"], data["costs"]
    st.caption(f"{data['project']} · {data['created']} · {sample['items']} human-labelled "
               f"items (seed {sample['seed']}) · an error costs {costs['error_cost']:g}, a "
               f"human label {costs['human_cost']:g}")
    _recommendation(data)
    _models(data)
    st.subheader("Recommended policy")
    _policy(store, project, data)


if __name__ == "__main__":
    render()
