"""The workspace's history: a person pages back through their own answers in the project and
changes one (:mod:`annotate.services.history` keeps the old version and routes the item
again). While an answer is being changed the workspace shows it instead of the next task;
the task that was on screen goes back to the queue."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from annotate.errors import AnnotateError, InvalidInput
from annotate.services.history import ChangeView, answer_to_change, change_answer, my_answers
from annotate.store.engine import Store
from ui import answer_widgets, display, state
from ui.answer_widgets import AnswerForm
from ui.answers import plain_markdown, short

EDITING = "editing"  # the annotation id being changed (state.remember)
PAGE = "history_page"


def editing() -> int | None:
    value = state.recall(EDITING)
    return value if isinstance(value, int) else None


def _form(view: ChangeView) -> AnswerForm:
    return AnswerForm(prefix=f"e{view.annotation_id}", kind=view.kind, schema=view.schema,
                      text=view.text, data=view.data)


def _open(annotation_id: int, value: dict[str, object]) -> None:
    state.remember(EDITING, annotation_id)
    state.remember(f"{EDITING}:since", time.monotonic())
    state.clear_widgets(f"e{annotation_id}")
    state.remember(f"{EDITING}:seed", dict(value))


def _close(annotation_id: int) -> None:
    state.clear_widgets(f"e{annotation_id}")
    state.remember(EDITING, None)


def _save(store: Store, person: str, annotation_id: int, form: AnswerForm) -> None:
    value = answer_widgets.value(form)
    if value is None:
        state.flash("Choose an answer first.", "warning")
        return
    since = state.recall(f"{EDITING}:since")
    seconds = time.monotonic() - since if isinstance(since, float) else None
    try:
        change_answer(store, person, annotation_id, value, seconds=seconds)
    except InvalidInput as exc:
        state.flash(f"Not changed: {exc}", "error")
        return
    except AnnotateError as exc:
        state.flash(f"Not changed: {exc}", "error")
        _close(annotation_id)
        return
    _close(annotation_id)
    state.flash("Your answer is changed (the earlier one is kept).", "toast")


def render_change(store: Store, person: str) -> bool:
    """Draw the answer being changed, if any; return whether it was drawn."""
    annotation_id = editing()
    if annotation_id is None:
        return False
    try:
        with store.session() as session:
            view = answer_to_change(session, person, annotation_id)
    except AnnotateError as exc:
        st.warning(str(exc))
        state.remember(EDITING, None)
        return False
    form = _form(view)
    seed = state.recall(f"{EDITING}:seed")
    if isinstance(seed, dict):
        answer_widgets.seed(form, seed)
        state.remember(f"{EDITING}:seed", None)
    code = view.external_id.replace("`", "'")
    st.markdown(f"**Changing your answer** on item `{code}` · given "
                f"{view.given_at:%Y-%m-%d %H:%M} UTC · now: "
                f"**{plain_markdown(short(view.kind, view.value))}**")
    if view.earlier:
        st.caption("Earlier versions: " + " → ".join(
            plain_markdown(short(view.kind, v)) for v in view.earlier))
    if view.locked:
        st.warning(f"This answer can no longer be changed: {view.locked}")
    if not answer_widgets.draws_text(form):
        display.item(view.kind, view.schema, view.text, view.data)
    answer_widgets.render(form)
    with st.container(horizontal=True):
        st.button("Save change", type="primary", on_click=_save,
                  args=(store, person, annotation_id, form), disabled=view.locked is not None,
                  icon=":material/save:")
        st.button("Cancel", on_click=_close, args=(annotation_id,),
                  icon=":material/close:")
    return True


def history(store: Store, person: str, project_id: int,
            before_change: Callable[[], None] | None = None) -> None:
    """The person's own answers in this project, ten to a page, each with "Change"."""
    with st.expander("My answers (change one)"), store.session() as session:
        page_no = state.recall(f"{PAGE}:{project_id}")
        page = my_answers(session, person, project_id,
                          page=page_no if isinstance(page_no, int) else 0)
        if not page.total:
            st.caption("No answers yet in this project.")
            return
        for answer in page.answers:
            with st.container(horizontal=True, vertical_alignment="center"):
                code = answer.external_id.replace("`", "'")
                changed = f" · changed {answer.revisions}×" if answer.revisions else ""
                blind = " · blind-first" if answer.phase != "final" else ""
                st.markdown(f"`{code}` **{plain_markdown(short(answer.kind, answer.value))}** · "
                            f"{answer.given_at:%m-%d %H:%M}{changed}{blind}")
                st.button("Change", key=f"change:{answer.annotation_id}",
                          on_click=_start, args=(before_change, answer.annotation_id,
                                                 answer.value),
                          disabled=answer.locked is not None, help=answer.locked,
                          icon=":material/edit:")
        with st.container(horizontal=True, vertical_alignment="center"):
            st.button("Newer", key="history:newer", disabled=page.page == 0,
                      on_click=state.remember, args=(f"{PAGE}:{project_id}", page.page - 1))
            st.caption(f"page {page.page + 1} of {page.pages} · {page.total} answers")
            st.button("Older", key="history:older", disabled=page.page >= page.pages - 1,
                      on_click=state.remember, args=(f"{PAGE}:{project_id}", page.page + 1))


def _start(before_change: Callable[[], None] | None, annotation_id: int,
           value: dict[str, object]) -> None:
    if before_change is not None:
        before_change()  # give the task on screen back
    _open(annotation_id, value)
