"""Guideline playground (owners): the working loop. Choose 5-10 examples, edit the guideline,
run the LLM annotator role on them, compare with the expected answers, save a new version
(with its diff to the last), send a share of items to two annotators, repeat."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import select

from annotate.errors import AnnotateError
from annotate.projects.catalog import current_guideline, project_policy
from annotate.services.playground import (
    Example,
    PlaygroundRun,
    examples_for,
    guideline_diff,
    guideline_versions,
    pick_examples,
    run_annotator,
    save_draft,
    send_to_double_annotation,
)
from annotate.store.engine import Store
from annotate.store.models import Item, Project
from ui import access, state
from ui.answers import short
from ui.resources import get_store, settings

MAX_CHOICES = 300


def _examples(store: Store, project: Project) -> list[Example]:
    with store.session() as session:
        suggested = [e.item_id for e in pick_examples(session, project, n=8)]
        rows = session.execute(select(Item.id, Item.external_id)
                               .where(Item.project_id == project.id)
                               .order_by(Item.id).limit(MAX_CHOICES))
        choices = {item_id: name for item_id, name in rows}
    choices.update({i: choices.get(i, str(i)) for i in suggested})
    chosen = st.multiselect("Examples (5-10 work best)", list(choices), default=suggested,
                            format_func=lambda i: choices.get(i, str(i)),
                            key=f"pg_examples:{project.id}")
    with store.session() as session:
        return examples_for(session, project, chosen)


def _results_table(project: Project, examples: list[Example],
                   run: PlaygroundRun | None) -> None:
    """The examples with their expected answers, and the last run's outputs beside them."""
    by_item = {r.item_id: r for r in run.results} if run else {}
    rows = []
    for e in examples:
        r = by_item.get(e.item_id)
        row: dict[str, object] = {"item": e.external_id, "text": e.text[:200],
               "expected": short(project.kind, e.expected)}
        if run is not None:
            row.update({"LLM": (r.error if r and r.error
                                else short(project.kind, r.value if r else None)),
                        "match": None if r is None else r.matches,
                        "confidence": r.confidence if r else None,
                        "rationale": r.rationale if r else None})
        rows.append(row)
    st.dataframe(rows, hide_index=True)
    judged = [r.matches for r in (run.results if run else ()) if r.matches is not None]
    if judged:
        st.metric("Matches the expected answer", f"{sum(judged)}/{len(judged)}")


def _run(store: Store, project: Project, examples: list[Example], draft: str) -> None:
    model = st.text_input("Model", value=settings().model, help="Any litellm model string; "
                          "the default runs locally with no network.")
    memo = f"run:{project.id}"
    if st.button("Run the annotator role on these examples", icon=":material/play_arrow:",
                 disabled=not examples):
        with st.spinner("The annotator role is working..."):
            state.remember(memo, run_annotator(
                store, project, examples, draft, model=model or settings().model,
                reservation_ttl_s=settings().reservation_ttl_s))
    run = state.recall(memo)
    if isinstance(run, PlaygroundRun) and run.error:
        st.warning(run.error)
        run = None
    _results_table(project, examples, run if isinstance(run, PlaygroundRun) else None)


def _save(store: Store, project: Project, draft: str, author: str) -> None:
    note = st.text_input("What changed (saved with the version)")
    if st.button("Save as a new guideline version", type="primary", icon=":material/save:"):
        try:
            with store.session() as session:
                saved, diff = save_draft(session, session.get_one(Project, project.id), draft,
                                         note=note, author=author)
        except AnnotateError as exc:
            st.error(str(exc))
            return
        state.flash(f"Saved guideline v{saved.number} ({saved.version}).")
        state.remember(f"last_diff:{project.id}", diff)
        st.rerun()


def _double(store: Store, project: Project) -> None:
    st.subheader("Send items to two annotators")
    share = st.slider("Share of items", 0, 100, int(
        project_policy(project).double_annotation_share * 100), step=5, format="%d%%")
    if st.button("Send to double annotation", icon=":material/group_add:"):
        with store.session() as session:
            added = send_to_double_annotation(session, session.get_one(Project, project.id),
                                              share / 100)
        st.success(f"{added} human tasks added; agreement shows up under Dashboards.")


def render() -> None:
    store = get_store()
    who = access.require_owner()
    project = access.require_project(store)
    with store.session() as session:
        current = current_guideline(session, project)
        versions = [(v.number, v.version, v.note, v.created_at)
                    for v in guideline_versions(session, project.id)]
    st.caption(f"Current guideline: v{current.number} ({current.version})")
    examples = _examples(store, project)
    draft = st.text_area("Guideline draft (markdown; the same text instructs people and "
                         "prompts the LLM roles)", value=current.content, height=320,
                         key=f"pg_draft:{project.id}:{current.id}")
    diff = guideline_diff(current.content, draft, f"v{current.number}", "draft")
    with st.expander("Diff to the current version", expanded=bool(diff)):
        st.code(diff or "(no changes)", language="diff")
    _run(store, project, examples, draft)
    _save(store, project, draft, who.name)
    last = state.recall(f"last_diff:{project.id}")
    if last:
        with st.expander("Diff of the last saved version"):
            st.code(last, language="diff")
    _double(store, project)
    with st.expander("Versions"):
        st.dataframe([{"version": f"v{n}", "id": v, "note": note, "saved": at}
                      for n, v, note, at in versions], hide_index=True)


if __name__ == "__main__":
    render()
