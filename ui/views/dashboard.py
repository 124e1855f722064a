"""Dashboards (owners): progress, agreement (heatmap, alpha with CI, competence per person
and model with its interval, confusion matrix), disagreement examples, suggestion use and
the choice among the Helper's candidates (choose / edit / write own, per person), each with
a CSV download. The figures come from
:mod:`annotate.services.dashboards`, which calls the agreement module."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from annotate.projects.catalog import project_schema
from annotate.services.choice_trace import choice_use, shares_long
from annotate.services.dashboards import (
    AgreementView,
    Progress,
    agreement_view,
    progress,
    suggestion_use,
)
from annotate.store.engine import Store
from annotate.store.models import Annotation, Project
from ui import access
from ui.resources import get_store


def _stamp(store: Store, project_id: int) -> tuple[int, int]:
    """Changes whenever an answer is added or removed (the cache key of the figures)."""
    with store.session() as session:
        n, last = session.execute(select(func.count(), func.max(Annotation.id))
                                  .where(Annotation.project_id == project_id)).one()
    return int(n or 0), int(last or 0)


@st.cache_data(show_spinner="Computing agreement...", max_entries=32)
def _agreement(_store: Store, db: str, project_id: int, stamp: tuple[int, int],
               feature: str | None, unbiased: bool, bootstrap: int) -> AgreementView:
    with _store.session() as session:
        project = session.get_one(Project, project_id)
        return agreement_view(session, project, feature=feature, unbiased=unbiased,
                              bootstrap=bootstrap)


def _csv(frame: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    st.download_button(label, frame.to_csv(index=False).encode("utf-8"), file_name=name,
                       mime="text/csv", key=f"dl:{name}", icon=":material/download:")


def _heatmap(table: pd.DataFrame, x: str, y: str, value: str, fmt: str) -> alt.LayerChart:
    long = table.rename_axis(y).reset_index().melt(id_vars=y, var_name=x, value_name=value)
    long = long.dropna(subset=[value])
    base = alt.Chart(long).encode(x=alt.X(f"{x}:N", title=x, axis=alt.Axis(labelAngle=-30)),
                                  y=alt.Y(f"{y}:N", title=y.strip()))
    cells = base.mark_rect().encode(color=alt.Color(f"{value}:Q", scale=alt.Scale(
        scheme="blues")), tooltip=[x, y, value])
    text = base.mark_text(fontSize=13).encode(text=alt.Text(f"{value}:Q", format=fmt))
    chart: alt.LayerChart = (cells + text).properties(height=max(160, 48 * len(table)))
    return chart


def _progress(store: Store, project: Project) -> None:
    with store.session() as session:
        data: Progress = progress(session, project)
    status = data.status
    cols = st.columns(4)
    cols[0].metric("Items", status.items)
    cols[1].metric("Tasks done", status.tasks.get("done", 0),
                   help=", ".join(f"{k}: {v}" for k, v in sorted(status.tasks.items())))
    cols[2].metric("LLM cost", f"${status.cost_usd:.4f}", help=f"{status.llm_calls} calls")
    cols[3].metric("Budget left", "no cap" if data.budget_left is None
                   else f"${data.budget_left:.4f}")
    if not data.tasks.empty:
        st.altair_chart(alt.Chart(data.tasks).mark_bar().encode(
            x="tasks:Q", y="role:N", color="state:N", tooltip=["role", "state", "tasks"]),
            width="stretch")
        _csv(data.tasks, "tasks_by_state.csv")
    if data.stages is not None and not data.stages.empty:
        st.caption("Cascade: items each stage reached and decided, what it cost")
        st.dataframe(data.stages, hide_index=True)
        _csv(data.stages, "cascade_stages.csv", "Download cascade CSV")
    if not data.per_day.empty:
        st.caption("Answers per day")
        st.bar_chart(data.per_day, x="day", y="answers", color="annotator_kind")
        _csv(data.per_day, "throughput.csv", "Download throughput CSV")


def _summary_metrics(view: AgreementView) -> None:
    summary: Any = view.summary
    alpha = summary.alpha
    ci = alpha.ci
    cols = st.columns(4)
    cols[0].metric("Krippendorff's alpha", "—" if alpha.value is None else f"{alpha.value:.3f}",
                   help=alpha.reason)
    cols[1].metric("95% CI", "—" if ci is None or ci.low is None
                   else f"{ci.low:.3f} – {ci.high:.3f}")
    pa = summary.percent_agreement.value
    cols[2].metric("Percent agreement", "—" if pa is None else f"{pa:.1%}")
    cols[3].metric("Items / annotators", f"{summary.n_items} / {summary.n_annotators}")
    for note in summary.notes:
        st.caption(note)


def _agreement_tab(view: AgreementView) -> None:
    if view.reason:
        st.info(view.reason)
        return
    _summary_metrics(view)
    if not view.groups.empty:
        st.subheader("Human / LLM groups")
        st.dataframe(view.groups, hide_index=True)
        _csv(view.groups, "group_agreement.csv")
    st.subheader("Pairwise alpha")
    if not view.matrix.empty:
        st.altair_chart(_heatmap(view.matrix, "annotator", "annotator ", "alpha", ".2f"),
                        width="stretch")
        _csv(view.matrix.reset_index(names="annotator"), "pairwise_alpha.csv")
    _competence(view.competence)
    st.subheader("Confusion: human majority x LLM")
    if view.confusion.empty:
        st.caption("Needs items with a human majority and an LLM answer.")
    else:
        st.altair_chart(_heatmap(view.confusion, "LLM", "human majority", "count", "d"),
                        width="stretch")
        _csv(view.confusion.reset_index(), "confusion.csv")
        if not view.llm_match.empty:
            st.dataframe(view.llm_match, hide_index=True)
    _csv(view.frame, "answers_long.csv", "Download all answers (long form)")


def _competence(table: pd.DataFrame) -> None:
    if table.empty:
        return
    st.subheader("Annotator competence")
    st.caption("People and models on one footing: each one's expected accuracy under "
               "Dawid-Skene (from its estimated confusion matrix), with a 95% bootstrap "
               "interval over items; 'agrees_with_final' is the share of its answers equal "
               "to the item's Dawid-Skene label, 'vs_others' the share equal to the strict "
               "majority of the other annotators of the item. Where each item has the model "
               "and one person, Dawid-Skene sides with the model: read 'vs_others' beside it.")
    st.dataframe(table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in ("competence", "ci_low", "ci_high", "agrees_with_final", "vs_others")})
    _csv(table, "annotator_competence.csv", "Download competence CSV")


def _examples_tab(view: AgreementView) -> None:
    if view.examples.empty:
        st.info(view.reason or "No disagreements.")
        return
    st.dataframe(view.examples, hide_index=True)
    _csv(view.examples, "disagreement_examples.csv")


def _people_tab(store: Store, project: Project) -> None:
    with store.session() as session:
        usage = suggestion_use(session, project.id)
    st.caption("Rubber-stamping signal: a high share of accepted suggestions with few seconds "
               "per accept. Blind-first: how often people revise after the reveal, and how "
               "often they switch to the suggestion.")
    st.dataframe(usage, hide_index=True)
    _csv(usage, "suggestion_use.csv")
    _choices(store, project)


def _choices(store: Store, project: Project) -> None:
    with store.session() as session:
        use = choice_use(session, project.id)
    if use.empty:
        return
    st.subheader("The Helper's candidates: chosen, edited or passed over")
    st.caption("Per person, over answers made with the Helper's candidates on screen: the "
               "share that took one as it was, edited one, or wrote their own (none fit), "
               "and the median seconds an item took for each.")
    st.dataframe(use, hide_index=True, column_config={
        f"{a}_share": st.column_config.NumberColumn(format="percent")
        for a in ("chose", "edited", "own")})
    st.bar_chart(shares_long(use), x="person", y="share", color="action", horizontal=True)
    _csv(use, "candidate_choice.csv", "Download choice CSV")


def render() -> None:
    store = get_store()
    access.require_owner()
    project = access.require_project(store)
    schema = project_schema(project)
    tabs = st.tabs(["Progress", "Agreement", "Disagreements", "People"])
    with tabs[0]:
        _progress(store, project)
    with st.sidebar:
        features = [f.name for f in schema.features]
        feature = st.selectbox("Feature", features) if features else None
        unbiased = st.toggle("Blind-first answers only", help="People's answers made before "
                             "they saw the LLM's suggestion: unbiased human-LLM agreement.")
        bootstrap = st.select_slider("Bootstrap resamples", [0, 200, 500, 1000], value=500)
    view = _agreement(store, str(store.engine.url), project.id, _stamp(store, project.id),
                      feature, unbiased, bootstrap)
    with tabs[1]:
        _agreement_tab(view)
    with tabs[2]:
        _examples_tab(view)
    with tabs[3]:
        _people_tab(store, project)


if __name__ == "__main__":
    render()
