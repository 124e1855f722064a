"""Who may see what: every page asks here first.

- :func:`require_person`: signed in, or the page stops with a pointer to the sign-in page;
- :func:`require_owner`: only owners see dashboards, review, setup, people and the
  playground; anyone else is refused with a clear message (even with a direct URL);
- :func:`current_project`: the project chosen in the sidebar (or ``?project=ID`` in the URL),
  only if the person may see it (owners see all; annotators their projects).

Sign-in sessions: signing in starts a server-side session (:mod:`annotate.services.sessions`) whose
random id the browser keeps in a cookie (``annotate_session``, SameSite=Strict, Secure on
https, expiring with the session). A reload or a deep link opened in the same browser
resumes it (Streamlit hands the cookies of the page's websocket to ``st.context.cookies``);
sign-out deletes the session row and the cookie. The id never goes into a URL.
"""

from __future__ import annotations

import streamlit as st

from annotate.errors import AnnotateError
from annotate.services.people import (
    Person,
    PersonInfo,
    authenticate,
    may_see_project,
    redeem_invite,
    visible_project_ids,
)
from annotate.services.sessions import SESSION_HOURS, end_session, resume_session, start_session
from annotate.services.workspace import skip_task
from annotate.store.engine import Store
from annotate.store.models import Project
from ui import state

REFUSED = "Only project owners can see this page. Ask an owner if you need access."


def require_person() -> PersonInfo:
    """The signed-in person; anyone else gets the sign-in form and the page stops (after
    sign-in the same page, with its query parameters, is shown: deep links work)."""
    who = state.person()
    if who is None:
        from ui.sign_in_form import render

        render()
        st.stop()
    return who


def require_owner() -> PersonInfo:
    who = require_person()
    if not who.is_owner:
        st.error(REFUSED)
        st.stop()
    return who


COOKIE = "annotate_session"


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this run (streamlit.testing)
        return None
    return value if isinstance(value, str) and value else None


def sign_in(store: Store, who: PersonInfo) -> None:
    """Sign the person in for this tab and start a session the browser keeps (a cookie)."""
    with store.session() as session:
        sid = start_session(session, who.id)
    state.sign_in(who)
    state.set_session_id(sid)
    state.set_cookie_to_write(sid)


def _give_back_task(store: Store) -> None:
    """Signing out (or being signed out) gives the task on screen back to the queue."""
    work, who = state.work(), state.person()
    if work is not None and who is not None:
        skip_task(store, work.view, who.name)
    state.set_work(None)


def sign_out(store: Store) -> None:
    """End the session server-side (the same cookie or link no longer signs in) and give
    the task on screen back."""
    _give_back_task(store)
    sid = state.session_id()
    with store.session() as session:
        end_session(session, sid)
        end_session(session, _cookie())
    state.sign_out()
    state.set_cookie_to_write("")


def write_cookie() -> None:
    """Hand a new session id to the browser, or clear it after sign-out.

    A new id is handed again on every run of this tab until the browser sent it with its
    connection: a run that is cut short by the next one (a click, a rerun) may never mount
    the script, and a reload would then start signed out. The element stays the same
    between runs, so the browser runs the script once."""
    value = state.pop_cookie_to_write()
    sid = state.session_id()
    if value is None and sid and _cookie() != sid:
        value = sid
    if value is None:
        return
    age = SESSION_HOURS * 3600 if value else 0
    st.html(f"""<script>document.cookie = "{COOKIE}={value}; Path=/; Max-Age={age}; "
            + "SameSite=Strict" + (location.protocol === "https:" ? "; Secure" : "");</script>""",
            unsafe_allow_javascript=True, width=1)


def refresh(store: Store) -> PersonInfo | None:
    """Re-read the signed-in person (a deactivated person, changed role or ended session
    takes effect on their next click); a browser with a live session cookie is signed in."""
    who, sid = state.person(), state.session_id()
    if who is None:
        cookie = _cookie()
        if cookie is None or state.cookie_refused(cookie):
            return None
        with store.session() as session:
            who = resume_session(session, cookie)
        if who is None:
            state.refuse_cookie(cookie)
            return None
        state.sign_in(who)
        state.set_session_id(cookie)
        sid = cookie
    with store.session() as session:
        row = session.get(Person, who.id)
        ended = row is None or not row.active or (sid and resume_session(session, sid) is None)
        fresh = None if ended or row is None else PersonInfo(
            id=row.id, name=row.name, role=row.role, active=row.active,
            last_seen_at=row.last_seen_at)
    if fresh is None:
        _give_back_task(store)
        state.sign_out()
        return None
    if fresh != who:
        state.sign_in(fresh)
    return fresh


def sign_in_with_token(store: Store, token: str) -> PersonInfo | None:
    with store.session() as session:
        who = authenticate(session, token)
    if who is not None:
        sign_in(store, who)
    return who


def redeem_invite_link(store: Store) -> None:
    """``?invite=...``: use the invite once, sign the person in, show their token once."""
    invite = st.query_params.get("invite")
    if not invite:
        return
    del st.query_params["invite"]
    try:
        with store.session() as session:
            who, token = redeem_invite(session, invite)
    except AnnotateError as exc:
        state.flash(str(exc), "error")
        return
    sign_in(store, who)
    state.show_token_once(token)
    state.flash(f"Welcome, {who.name}! You are signed in.")


def project_choices(store: Store, who: PersonInfo) -> list[Project]:
    """The projects the person may see (owners: all)."""
    from annotate.projects.catalog import list_projects

    with store.session() as session:
        visible = visible_project_ids(session, who.name)
        return [p for p in list_projects(session) if visible is None or p.id in visible]


def current_project(store: Store) -> Project | None:
    pid, who = state.project_id(), state.person()
    if pid is None or who is None:
        return None
    with store.session() as session:
        if not may_see_project(session, who.name, pid):
            return None
        return session.get(Project, pid)


def require_project(store: Store) -> Project:
    project = current_project(store)
    if project is None:
        st.info("Choose a project in the sidebar (owners create one under Setup).")
        st.stop()
    return project
