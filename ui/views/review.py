"""Review and adjudication (owners): items whose answers disagree, every answer numbered
(1, 2, 3: never the A/B of a pair's options) with a tally per distinct answer, the
Moderator's pick and rationale; the reviewer sets the final answer and goes on to the next item.

Keys: 1-9 use that answer as the final one, N next item, P previous item.
"""

from __future__ import annotations

import time

import streamlit as st

from annotate.errors import AnnotateError
from annotate.services.review import (
    ReviewRow,
    ReviewView,
    agreement_with_final,
    review_item,
    review_queue,
    set_final_answer,
)
from annotate.store.engine import Store
from ui import access, answer_widgets, display, keys, state
from ui.answer_widgets import AnswerForm
from ui.answers import plain_markdown, short
from ui.resources import get_store

PER_ROW = 4  # answer cards side by side; more answers wrap onto further rows
KEYS_HINT = ("Keys: **1-9** use that answer · **F** set the final answer · **N** next item · "
             "**P** previous item · **?** every key")


def _form(view: ReviewView) -> AnswerForm:
    return AnswerForm(prefix=f"r{view.item_id}", kind=view.kind, schema=view.schema,
                      text=view.text, data=view.data, shortcuts=False)


def _tally(view: ReviewView) -> None:
    if len(view.answers) < 2:
        return
    total = len(view.answers)
    st.markdown("**Tally**")
    st.dataframe([{"answer": short(view.kind, row.value), "votes": row.votes,
                   "share": f"{row.votes / total:.0%}",
                   "answers": ", ".join(str(n) for n in row.numbers)} for row in view.tally],
                 hide_index=True)


def _answers(view: ReviewView, form: AnswerForm) -> None:
    if not view.answers:
        st.caption("No annotator answers yet.")
        return
    for start in range(0, len(view.answers), PER_ROW):
        chunk = view.answers[start:start + PER_ROW]
        columns = st.columns(min(len(view.answers), PER_ROW))
        for column, answer in zip(columns, chunk, strict=False):
            with column, st.container(border=True):
                st.markdown(f"**Answer {answer.number}**: "
                            f"{plain_markdown(short(view.kind, answer.value))}")
                if answer.source:
                    st.caption(plain_markdown(answer.source))
                if answer.rationale:
                    st.caption(f"Rationale: {plain_markdown(answer.rationale)}")
                st.button(f"Use answer {answer.number}",
                          key=f"use:{view.item_id}:{answer.number}",
                          shortcut=str(answer.number) if answer.number <= 9 else None,
                          on_click=answer_widgets.seed, args=(form, answer.value))


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


def _agreement(store: Store, project_id: int) -> None:
    """Each person's and model's agreement with the final answers so far (no item's answer
    is tied to anyone here, so anonymised review stays anonymous)."""
    with store.session() as session:
        rows = agreement_with_final(session, project_id)
    with st.expander("Agreement with the final answers so far"):
        if not rows:
            st.caption("No final answers yet.")
            return
        st.dataframe([{"annotator": r.who, "kind": r.kind, "items": r.compared,
                       "agreed": r.agreed, "agreement": f"{r.share:.0%}"} for r in rows],
                     hide_index=True)


def _go(item_id: int | None) -> None:
    """Show another item (a callback: it runs before the selectbox is drawn)."""
    if item_id is not None:
        state.set_widget("review", "item", item_id)


def _decide(store: Store, project_id: int, view: ReviewView, reviewer: str,
            next_id: int | None) -> None:
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
    _go(next_id)
    state.flash(f"Final answer for {view.external_id}: {short(view.kind, value)}"
                + ("; here is the next item." if next_id is not None else "."))


def _neighbours(rows: list[ReviewRow], item_id: int) -> tuple[int | None, int | None]:
    ids = [r.item_id for r in rows]
    at = ids.index(item_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def _navigation(rows: list[ReviewRow], item_id: int) -> None:
    before, after = _neighbours(rows, item_id)
    with st.container(horizontal=True):
        st.button("Previous item", shortcut="P", on_click=_go, args=(before,),
                  disabled=before is None, icon=":material/arrow_back:")
        st.button("Next item", shortcut="N", on_click=_go, args=(after,),
                  disabled=after is None, icon=":material/arrow_forward:")
        position = [r.item_id for r in rows].index(item_id) + 1
        st.caption(f"Item {position} of {len(rows)} to review")


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
    if state.get_widget("review", "item") not in labels:
        state.set_widget("review", "item", rows[0].item_id)
    item_id = st.selectbox("Item", list(labels), format_func=labels.__getitem__,
                           key=state.widget_key("review", "item"))
    _navigation(rows, item_id)
    with store.session() as session:
        view = review_item(session, project.id, item_id)
    form = _form(view)
    state.started_at(f"review:{item_id}")
    display.item(view.kind, view.schema, view.text, view.data)
    if not view.show_sources:
        st.caption("Sources are anonymised (project policy): answers are numbered, "
                   "without saying who or what gave them.")
    _tally(view)
    _answers(view, form)
    _moderator(view)
    if view.decision is not None:
        st.info(f"Current final answer: **{plain_markdown(short(view.kind, view.decision))}** "
                f"(by {view.decided_by})")
    elif view.final is not None:  # nobody decided: the policy's aggregation of the answers
        st.info(f"Final answer so far: **{plain_markdown(short(view.kind, view.final))}** "
                f"({view.final_source.replace('_', '-')})")
    st.subheader("Final answer")
    answer_widgets.render(form)
    _, after = _neighbours(rows, item_id)
    st.button("Set final answer", type="primary", on_click=_decide, shortcut="F",
              args=(store, project.id, view, who.name, after), icon=":material/gavel:")
    st.caption(KEYS_HINT)
    keys.overlay([("Review", keys.REVIEW)])
    _agreement(store, project.id)


if __name__ == "__main__":
    render()
