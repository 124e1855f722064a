"""People (owners): add a person (their token is shown once), invite links, roles,
deactivation, and who is a member of which project (annotators see only their projects)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from sqlalchemy.orm import Session

from annotate.errors import AnnotateError
from annotate.projects.catalog import list_projects
from annotate.services.people import (
    PERSON_ROLES,
    add_person,
    create_invite,
    grant,
    invite_link,
    list_people,
    members,
    revoke,
    rotate_token,
    set_active,
    set_role,
)
from annotate.store.engine import Store
from ui import access
from ui.resources import get_store


def _base_url() -> str:
    url = str(st.context.url or "")
    return url.split("?", 1)[0].rsplit("/", 1)[0] if url else "http://localhost:8501"


def _add(store: Store) -> None:
    with st.form("add_person"):
        name = st.text_input("Name")
        role = st.selectbox("Role", PERSON_ROLES, index=PERSON_ROLES.index("annotator"))
        how = st.radio("Give them", ["an invite link", "a token now"], horizontal=True)
        if not st.form_submit_button("Add", type="primary"):
            return
    try:
        with store.session() as session:
            if how == "a token now":
                _, token = add_person(session, name, role)
                secret, what = token, "Their sign-in token (shown once; send it privately):"
            else:
                invite = create_invite(session, name, role=role,
                                       created_by=access.require_owner().name)
                secret = invite_link(_base_url(), invite)
                what = "Their one-time invite link (valid 72 hours):"
    except AnnotateError as exc:
        st.error(str(exc))
        return
    st.success(f"{name} added.")
    st.caption(what)
    st.code(secret, language=None)


def _manage(store: Store) -> None:
    with store.session() as session:
        people = list_people(session)
    st.dataframe([{"name": p.name, "role": p.role, "active": p.active,
                   "last seen": p.last_seen_at} for p in people], hide_index=True)
    if not people:
        return
    names = [p.name for p in people]
    name = st.selectbox("Person", names, key="people_target")
    cols = st.columns(4)
    actions: dict[str, Callable[[Session], object]] = {
        "Make owner": lambda s: set_role(s, name, "owner"),
        "Make annotator": lambda s: set_role(s, name, "annotator"),
        "Deactivate": lambda s: set_active(s, name, False),
        "New token": lambda s: rotate_token(s, name),
    }
    for column, (title, action) in zip(cols, actions.items(), strict=True):
        if column.button(title, key=f"people:{title}"):
            try:
                with store.session() as session:
                    result = action(session)
            except AnnotateError as exc:
                st.error(str(exc))
                return
            if isinstance(result, str):
                st.caption(f"New token for {name} (shown once; the old one stops working):")
                st.code(result, language=None)
            else:
                st.success(f"{name}: done.")


def _membership(store: Store, owner: str) -> None:
    with store.session() as session:
        projects = {p.name: p.id for p in list_projects(session)}
        people = [p.name for p in list_people(session) if not p.is_owner]
    if not projects or not people:
        st.caption("Owners see every project; add annotators and projects first.")
        return
    project = st.selectbox("Project", list(projects), key="members_project")
    with store.session() as session:
        current = members(session, projects[project])
    chosen = st.multiselect("Members (annotators who see this project and get its tasks)",
                            people, default=[n for n in current if n in people],
                            key=f"members:{project}")
    if st.button("Save members", key="members_save"):
        with store.session() as session:
            for name in set(chosen) - set(current):
                grant(session, name, project, by=owner)
            for name in set(current) - set(chosen):
                revoke(session, name, project)
        st.success(f"{project}: {len(chosen)} members.")


def render() -> None:
    store = get_store()
    owner = access.require_owner()
    st.subheader("Add a person")
    _add(store)
    st.subheader("Everyone")
    _manage(store)
    st.subheader("Project members")
    _membership(store, owner.name)


if __name__ == "__main__":
    render()
