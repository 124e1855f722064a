"""Sign in with a personal token (or an invite link). On an empty database, the first
person to open the UI can create the first owner."""

from __future__ import annotations

import streamlit as st

from annotate.errors import AnnotateError, Conflict
from annotate.people import add_person, has_owner, list_people
from ui import access, state
from ui.resources import get_store


def _first_owner() -> None:
    st.info("Nobody can sign in yet. Create the first owner (or run "
            "`annotate people add NAME --owner`).")
    with st.form("first_owner"):
        name = st.text_input("Your name")
        if st.form_submit_button("Create the first owner"):
            store = get_store()
            try:
                with store.session() as session:
                    if list_people(session):
                        raise Conflict("someone was added meanwhile: sign in instead")
                    who, token = add_person(session, name, role="owner")
            except AnnotateError as exc:
                st.error(str(exc))
                return
            state.sign_in(who)
            state.show_token_once(token)
            st.rerun()


def render() -> None:
    store = get_store()
    st.title("Sign in")
    with store.session() as session:
        owner_exists = has_owner(session)
    with st.form("sign_in"):
        token = st.text_input("Personal token", type="password",
                              help="The token an owner gave you (it starts with ann_), or "
                                   "open the invite link you were sent.")
        if st.form_submit_button("Sign in", type="primary"):
            if access.sign_in_with_token(store, token) is None:
                st.error("That token is not valid (or the person was deactivated).")
            else:
                st.rerun()
    if not owner_exists:
        _first_owner()


if __name__ == "__main__":
    render()
