"""Workspace: the person's next task from the shared queue, answered by choosing.

Keys: 1-9 choose, Enter submit, S skip, U undo the last answer, A accept the suggestion,
N write my own (text tasks). The lease is held (and extended) while the task is on screen
and given back on skip or when the person leaves the page.

Leases follow the person: a task on an open page is leased only ``PRESENCE_SECONDS`` ahead
and a heartbeat (a fragment run by the browser every ``HEARTBEAT_SECONDS``) extends it, so a
closed tab gives its task back within about 30 s; a person idle for longer than the policy's
``lease_seconds`` stops extending it. An owner who signs in gets nothing claimed until they
press "Start annotating" (or open a link to the workspace).

No accidental accept: a submit (Enter or a click) is ignored in the browser until the item
has been on screen for the policy's ``submit_delay_ms`` and Enter was released (a held or
double-pressed Enter never answers the next item); the LLM's suggestion is pre-selected only
at ``preselect_above`` confidence or more. Above the item: the person's progress and pace,
and the item's context fields.
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace

import streamlit as st

from annotate.errors import AnnotateError, Conflict, InvalidInput
from annotate.projects.catalog import project_policy
from annotate.services.progress import (
    items_left,
    my_answers_so_far,
    progress_of,
    queue_overview,
)
from annotate.services.workspace import (
    WorkView,
    keep_alive,
    load_view,
    open_next_task,
    resume_task,
    skip_task,
    submit_answer,
    undo_submit,
)
from annotate.store.engine import Store
from annotate.store.models import Project
from ui import access, answer_widgets, context, display, keys, state, submit_gate
from ui import history as history_view
from ui.answer_widgets import AnswerForm
from ui.answers import plain_markdown, short
from ui.resources import get_store

PRESENCE_SECONDS = 30  # how far ahead a task on an open page is leased
HEARTBEAT_SECONDS = 10  # how often the open page extends it (three beats per lease)
LEFT_SECONDS = 15  # items left are recounted this often (30-60 ms each at 100k items); in
# between, the person's own answers since the count are taken off

KEYS_HINT = ("Keys: **1-9** choose · **Enter** submit · **S** skip · **U** undo last · "
             "**A** accept the suggestion · **?** every key")


def form_for(view: WorkView) -> AnswerForm:
    return AnswerForm(prefix=f"t{view.task_id}", kind=view.kind, schema=view.schema,
                      text=view.text, data=view.data, candidates=view.candidates)


def _prefill(view: WorkView) -> None:
    """Pre-label: a non-blind task starts from the LLM's answer (to accept or fix)."""
    if view.blind_answer is not None:
        answer_widgets.seed(form_for(view), view.blind_answer)
    elif view.prelabel is not None and answer_widgets.suggests(form_for(view)):
        answer_widgets.suggest(form_for(view), view.prelabel.value)  # one by one
    elif view.prelabel is not None and view.preselects:
        answer_widgets.seed(form_for(view), view.prelabel.value)


def presence_lease(policy_seconds: int) -> int:
    """The lease a task on an open page gets (never longer than the policy's)."""
    return min(policy_seconds, PRESENCE_SECONDS)


def current_work(store: Store, person: str, project: Project) -> state.Work | None:
    state.mark_active()
    work = state.work()
    if work is not None and work.view.project_id != project.id:
        skip_task(store, work.view, person)
        work = state.set_work(None)
    if work is None:  # a reloaded page goes on with the task it held
        lease = presence_lease(project_policy(project).lease_seconds)
        view = resume_task(store, person, project.id, lease) or open_next_task(
            store, person, project.id, skipped_items=state.skipped(), lease_seconds=lease)
        if view is None:
            return None
        _prefill(view)
        return state.set_work(view)
    if time.monotonic() - work.extended_at > presence_lease(work.view.lease_seconds) / 3:
        try:
            keep_alive(store, work.view, person, presence_lease(work.view.lease_seconds))
            state.mark_extended()
        except AnnotateError:
            state.set_work(None)
            st.warning("Your lease on that task ran out and it went back to the queue.")
            return current_work(store, person, project)
    return work


# -- actions (callbacks: they run before the page is drawn) ---------------------------------


def _submit(store: Store, person: str) -> None:
    work = state.work()
    if work is None:
        return
    view, form = work.view, form_for(work.view)
    value = answer_widgets.value(form)
    if value is None:
        state.flash("Choose an answer first.", "warning")
        return
    blind = view.hides_suggestion
    try:
        saved = submit_answer(store, view, person, value, seconds=state.seconds_on_task(),
                              blind_phase=blind)
    except InvalidInput as exc:
        state.flash(f"Not saved: {exc}", "error")
        return
    except (Conflict, AnnotateError) as exc:
        state.flash(f"Not saved: {exc}", "error")
        state.set_work(None)
        return
    if blind:
        state.set_work(replace(view, blind_answer=saved.value))
        answer_widgets.seed(form, saved.value)
        state.flash("Committed. Here is the LLM's suggestion: keep your answer or revise it.",
                    "info")
        return
    state.push_undo(saved.id)
    state.clear_widgets(form.prefix)
    state.set_work(None)
    state.flash("Saved.", "toast")


def _skip(store: Store, person: str) -> None:
    work = state.work()
    if work is None:
        return
    skip_task(store, work.view, person)
    state.add_skipped(work.view.item_id)
    state.clear_widgets(form_for(work.view).prefix)
    state.set_work(None)
    state.flash("Skipped.", "toast")


def _undo(store: Store, person: str) -> None:
    annotation_id = state.pop_undo()
    if annotation_id is None:
        state.flash("Nothing to undo.", "warning")
        return
    work = state.work()
    try:
        task_id, value = undo_submit(store, person, annotation_id,
                                     lease_seconds=PRESENCE_SECONDS)
    except AnnotateError as exc:
        state.flash(f"Cannot undo: {exc}", "error")
        return
    if work is not None:
        skip_task(store, work.view, person)
        state.clear_widgets(form_for(work.view).prefix)
    view = load_view(store, task_id, person)
    state.set_work(None)
    state.set_work(view)
    answer_widgets.seed(form_for(view), value)
    state.flash("Your last answer is back: change it and submit again.", "info")


def _accept(form: AnswerForm, value: dict[str, object]) -> None:
    answer_widgets.seed(form, dict(value))


@st.fragment(run_every=HEARTBEAT_SECONDS)
def _heartbeat(store: Store, person: str) -> None:
    """While the page is open (the browser runs this), keep the task on screen leased; a
    person idle for longer than the policy's lease lets it lapse."""
    work = state.work()
    if work is None or state.idle_seconds() > work.view.lease_seconds:
        return
    if time.monotonic() - work.extended_at < HEARTBEAT_SECONDS / 2:
        return  # the page itself just extended it
    try:
        keep_alive(store, work.view, person, presence_lease(work.view.lease_seconds))
        state.mark_extended()
    except AnnotateError:
        st.rerun()  # the whole page: it says the lease ran out and shows the next task


# -- the page -------------------------------------------------------------------------------


def _actions(store: Store, person: str, view: WorkView | None) -> None:
    with st.container(horizontal=True):
        if view is not None:
            label = "Commit my answer" if view.hides_suggestion else "Submit"
            st.button(label, type="primary", shortcut="Enter", on_click=_submit,
                      args=(store, person), icon=":material/check:",
                      key=submit_gate.SUBMIT_KEY)
            st.button("Skip", shortcut="S", on_click=_skip, args=(store, person),
                      icon=":material/skip_next:")
        st.button("Undo last", shortcut="U", on_click=_undo, args=(store, person),
                  icon=":material/undo:", disabled=not state.undo_stack())


def _suggestion(view: WorkView, form: AnswerForm) -> None:
    if view.hides_suggestion:
        st.info(":material/visibility_off: Blind-first: answer on your own. The LLM's "
                "suggestion appears after you commit.")
        return
    if view.prelabel is None:
        return
    one_by_one = answer_widgets.suggests(form)
    display.suggestion(view.kind, view.schema, view.prelabel, view.text,
                       marked=not answer_widgets.draws_text(form))
    if one_by_one and view.blind_answer is None:
        st.caption("Its answer is marked in the text as suggestions: accept or fix them one "
                   "by one, or all at once.")
    elif view.kind != "text" and view.blind_answer is None and not view.preselects:
        st.caption(f"Not pre-selected: below the project's confidence threshold "
                   f"({view.preselect_above:.2f}). Choose yourself, or accept it.")
    if view.kind != "text":
        title = ("Switch to the suggestion" if view.blind_answer is not None
                 else "Accept all suggestions" if one_by_one else "Accept the suggestion")
        st.button(title, shortcut="A", on_click=_accept, args=(form, view.prelabel.value),
                  icon=":material/done_all:")


def _progress(store: Store, person: str, project_id: int) -> None:
    with store.session() as session:
        answers = my_answers_so_far(session, person, project_id)
        counted = state.recall(f"left:{project_id}")
        if counted is None or time.monotonic() - counted[0] > LEFT_SECONDS:
            counted = (time.monotonic(), answers.total,
                       items_left(session, person, project_id))
            state.remember(f"left:{project_id}", counted)
    mine = progress_of(counted[2], answers, answered_since=answers.total - counted[1])
    done, left = mine.done_total, mine.left_for_me
    if done + left:
        st.progress(done / (done + left))
    pace = (f" · median **{mine.median_seconds:.1f} s** an item"
            if mine.median_seconds is not None else "")
    eta = (f" · about **{mine.minutes_left:.0f} min** left at that pace"
           if mine.minutes_left is not None and left else "")
    st.caption(f"**{left}** items left for you · **{mine.left_overall}** in the project · "
               f"**{mine.done_today}** done today ({done} in all){pace}{eta}")


def _queue(store: Store, project_id: int) -> None:
    """For owners: what waits for whom, and who holds leases (the oldest first)."""
    work = state.work()
    on_screen = work.view.task_id if work is not None else None
    counted = state.recall(f"queue:{project_id}")
    if (counted is None or time.monotonic() - counted[0] > LEFT_SECONDS
            or counted[2] != on_screen):  # 60 ms at 100k items: kept a few seconds
        with store.session() as session:
            counted = (time.monotonic(), queue_overview(session, project_id), on_screen)
        state.remember(f"queue:{project_id}", counted)
    queue = counted[1]
    with st.expander(f"Project queue (owners; counted every {LEFT_SECONDS} s)"):
        st.dataframe([{"role": r.role, "worker": r.worker_kind, "waiting for": r.waiting_for,
                       "pending": r.pending, "leased": r.leased} for r in queue.rows],
                     hide_index=True)
        if queue.leases:
            st.dataframe([{"lease holder": h.who, "tasks": h.tasks,
                           "oldest lease since (UTC)": h.held_since,
                           "first expiry (UTC)": h.expires_at} for h in queue.leases],
                         hide_index=True)


def _owner_start(store: Store, person: str, project_id: int) -> None:
    st.info("Signed in as an owner: no task is claimed for you until you start annotating.")
    st.button("Start annotating", type="primary", on_click=state.start_claiming,
              icon=":material/play_arrow:")
    _progress(store, person, project_id)
    _queue(store, project_id)


def _give_back(store: Store, person: str) -> None:
    """The person turned to change an earlier answer: the task on screen goes back."""
    work = state.work()
    if work is not None:
        skip_task(store, work.view, person)
        state.clear_widgets(form_for(work.view).prefix)
        state.set_work(None)


def _history(store: Store, person: str, project_id: int) -> None:
    history_view.history(store, person, project_id,
                         before_change=functools.partial(_give_back, store, person))


def render() -> None:
    store = get_store()
    who = access.require_person()
    project = access.require_project(store)
    if who.is_owner and state.claim_on_hold():
        _owner_start(store, who.name, project.id)
        return
    if history_view.render_change(store, who.name):  # changing an earlier answer
        _history(store, who.name, project.id)
        return
    work = current_work(store, who.name, project)
    if work is None:
        st.success("No tasks left for you in this project. Thank you!")
        if state.skipped() and st.button("Show the tasks I skipped again"):
            state.clear_skipped()
            st.rerun()
        _actions(store, who.name, None)
        _progress(store, who.name, project.id)
        if who.is_owner:
            _queue(store, project.id)
        _history(store, who.name, project.id)
        return
    view, form = work.view, form_for(work.view)
    with st.container(horizontal=True, vertical_alignment="center"):
        code = view.external_id.replace("`", "'")  # a code span shows its text literally
        st.markdown(f"**{plain_markdown(project.name)}** · item `{code}`")
        display.guideline_popover(store, view.guideline_id)
    _progress(store, who.name, project.id)
    context.render(view.context)
    if not answer_widgets.draws_text(form):  # else the text is drawn once, in the input
        display.item(view.kind, view.schema, view.text, view.data)
    _suggestion(view, form)
    if view.blind_answer is not None:
        st.caption(f"Your first answer: **{plain_markdown(short(view.kind, view.blind_answer))}**. "
                   "Keep it or revise it, then submit.")
    answer_widgets.render(form)
    submit_gate.draw(view.task_id, view.submit_delay_ms)
    _actions(store, who.name, view)
    _heartbeat(store, who.name)
    st.caption(KEYS_HINT)
    keys.overlay([("Workspace", keys.WORKSPACE),
                  (f"Answer ({view.kind})", answer_widgets.keys(form))])
    if who.is_owner:
        _queue(store, project.id)
    _history(store, who.name, project.id)


if __name__ == "__main__":
    render()
