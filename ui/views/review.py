"""Review and adjudication (owners): items whose answers disagree, side by side, with the
Moderator's pick and rationale; the reviewer sets the final answer."""

from __future__ import annotations

import time

import streamlit as st

from annotate.errors import AnnotateError
from annotate.services.review import ReviewView, review_item, review_queue, set_final_answer
from annotate.store.engine import Store
from ui import access, answer_widgets, display, state
from ui.answer_widgets import AnswerForm
from ui.answers import plain_markdown, short
from ui.resources import get_store


def _form(view: ReviewView) -> AnswerForm:
    return AnswerForm(prefix=f"r{view.item_id}", kind=view.kind, schema=view.schema,
                      text=view.text, data=view.data, shortcuts=False)


def _answers(view: ReviewView, form: AnswerForm) -> None:
    if not view.answers:
        st.caption("No annotator answers yet.")
        return
    for column, answer in zip(st.columns(min(len(view.answers), 4)), view.answers,
                              strict=False):
        with column, st.container(border=True):
            st.markdown(f"**Answer {answer.letter}**: "
                        f"{plain_markdown(short(view.kind, answer.value))}")
            if answer.source:
                st.caption(plain_markdown(answer.source))
            if answer.rationale:
                st.caption(f"Rationale: {plain_markdown(answer.rationale)}")
            st.button(f"Use answer {answer.letter}", key=f"use:{view.item_id}:{answer.letter}",
                      on_click=answer_widgets.seed, args=(form, answer.value))
    if len(view.answers) > 4:
        st.caption(f"{len(view.answers) - 4} more answers are not shown side by side.")


def _moderator(view: ReviewView) -> None:
    for pick in view.moderator:
        chose = ("none of the answers" if pick.picks == "none"
                 else f"answer {pick.picks}" if pick.picks else short(view.kind, pick.value))
        model = f" ({plain_markdown(pick.model)})" if pick.model else ""
        confidence = f", confidence {pick.confidence:.2f}" if pick.confidence is not None else ""
        st.markdown(f":material/balance: **Moderator**{model} picks "
                    f"**{plain_markdown(chose)}**{confidence}")
        if pick.rationale:
            st.caption(f"Rationale: {plain_markdown(pick.rationale)}")


def _decide(store: Store, project_id: int, view: ReviewView, reviewer: str) -> None:
    form = _form(view)
    value = answer_widgets.value(form)
    if value is None:
        state.flash("Choose the final answer first.", "warning")
        return
    started = state.started_at(f"review:{view.item_id}")
    try:
        set_final_answer(store, project_id, view.item_id, value, reviewer,
                         seconds=round(time.monotonic() - started, 3))
    except AnnotateError as exc:
        state.flash(f"Not saved: {exc}", "error")
        return
    state.clear_widgets(form.prefix)
    state.flash(f"Final answer for {view.external_id}: {short(view.kind, value)}")


def render() -> None:
    store = get_store()
    who = access.require_owner()
    project = access.require_project(store)
    undecided = st.toggle("Only items without a final answer", value=True)
    with store.session() as session:
        rows = review_queue(session, project.id, undecided_only=undecided)
    if not rows:
        st.success("Nothing to review: no open adjudications and no disagreements.")
        return
    labels = {r.item_id: (f"{r.external_id} · {r.n_distinct} different answers"
                          + (" · adjudication requested" if r.open_adjudication else "")
                          + (" · decided" if r.decided else "")) for r in rows}
    item_id = st.selectbox("Item", list(labels), format_func=labels.__getitem__)
    with store.session() as session:
        view = review_item(session, project.id, item_id)
    form = _form(view)
    state.started_at(f"review:{item_id}")
    display.item(view.kind, view.schema, view.text, view.data)
    if not view.show_sources:
        st.caption("Sources are anonymised (project policy): answers are lettered, "
                   "without saying who or what gave them.")
    _answers(view, form)
    _moderator(view)
    if view.decision is not None:
        st.info(f"Current final answer: **{plain_markdown(short(view.kind, view.decision))}** "
                f"(by {view.decided_by})")
    st.subheader("Final answer")
    answer_widgets.render(form)
    st.button("Set final answer", type="primary", on_click=_decide,
              args=(store, project.id, view, who.name), icon=":material/gavel:")


if __name__ == "__main__":
    render()
