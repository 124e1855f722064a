"""The sign-in form: a personal token (or an invite link). While nobody is owner, the first
owner is created here only with the one-time setup token ``annotate ui`` prints at start.

Shown by the sign-in page and by every other page opened without a session (a deep link):
after sign-in the same page and its query parameters (``?project=ID``) are shown."""

from __future__ import annotations

import streamlit as st

from annotate.errors import AnnotateError
from annotate.services.people import has_owner
from annotate.services.sessions import create_first_owner
from ui import state
from ui.resources import get_store


def _first_owner() -> None:
    st.info("Nobody can sign in yet. Create the first owner with the one-time setup token "
            "`annotate ui` printed when it started (or run `annotate people add NAME --owner`).")
    with st.form("first_owner"):
        setup = st.text_input("Setup token", type="password")
        name = st.text_input("Your name")
        if st.form_submit_button("Create the first owner"):
            store = get_store()
            try:
                with store.session() as session:
                    who, token = create_first_owner(session, setup, name)
            except AnnotateError as exc:
                st.error(str(exc))
                return
            from ui import access

            access.sign_in(store, who)
            state.show_token_once(token)
            st.rerun()


def render() -> None:
    from ui import access

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
