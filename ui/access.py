"""Who may see what: every page asks here first.

- :func:`require_person`: signed in, or the page stops with a pointer to the sign-in page;
- :func:`require_owner`: only owners see dashboards, review, setup, people and the
  playground; anyone else is refused with a clear message (even with a direct URL);
- :func:`current_project`: the project chosen in the sidebar.
"""

from __future__ import annotations

import streamlit as st

from annotate.errors import AnnotateError
from annotate.people import Person, PersonInfo, authenticate, redeem_invite
from annotate.store.engine import Store
from annotate.store.models import Project
from ui import state

REFUSED = "Only project owners can see this page. Ask an owner if you need access."


def require_person() -> PersonInfo:
    who = state.person()
    if who is None:
        st.warning("Please sign in first.")
        st.stop()
    return who


def require_owner() -> PersonInfo:
    who = require_person()
    if not who.is_owner:
        st.error(REFUSED)
        st.stop()
    return who


def refresh(store: Store) -> PersonInfo | None:
    """Re-read the signed-in person (a deactivated person or changed role takes effect on
    their next click)."""
    who = state.person()
    if who is None:
        return None
    with store.session() as session:
        row = session.get(Person, who.id)
        if row is None or not row.active:
            state.sign_out()
            return None
        fresh = PersonInfo(id=row.id, name=row.name, role=row.role, active=row.active,
                           last_seen_at=row.last_seen_at)
    if fresh != who:
        state.sign_in(fresh)
    return fresh


def sign_in_with_token(store: Store, token: str) -> PersonInfo | None:
    with store.session() as session:
        who = authenticate(session, token)
    if who is not None:
        state.sign_in(who)
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
    state.sign_in(who)
    state.show_token_once(token)
    state.flash(f"Welcome, {who.name}! You are signed in.")


def current_project(store: Store) -> Project | None:
    pid = state.project_id()
    if pid is None:
        return None
    with store.session() as session:
        return session.get(Project, pid)


def require_project(store: Store) -> Project:
    project = current_project(store)
    if project is None:
        st.info("Choose a project in the sidebar (owners create one under Setup).")
        st.stop()
    return project
