"""The annotation UI: ``annotate ui [--db URL] [--port P]`` runs ``streamlit run ui/app.py``.

The router shows each person the pages they may use: the workspace and the guideline for
everybody; review, dashboards, the guideline playground, the pilot, setup and people for owners
(owners' pages stay reachable by URL for others only to refuse them). The database store is
created once per process (:mod:`ui.resources`); session state lives in :mod:`ui.state`.

The page scripts live in ``ui/views/``, not ``ui/pages/``: Streamlit treats a ``pages/``
folder beside the entry script as its legacy multipage app and then runs page scripts
without this router (no sign-in check, no sidebar) on some reruns.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from annotate.projects import list_projects
from annotate.store.engine import Store
from annotate.workspace import skip_task
from ui import access, state
from ui.resources import get_store

PAGES = Path(__file__).parent / "views"
WORKSPACE = "Workspace"


def _page(name: str, title: str, icon: str, url: str, *, default: bool = False,
          hidden: bool = False) -> st.Page:
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=url, default=default,
                   visibility="hidden" if hidden else "visible")


def pages_for(signed_in: bool, owner: bool) -> dict[str, list[st.Page]]:
    if not signed_in:
        return {"": [_page("sign_in", "Sign in", ":material/login:", "sign-in", default=True)]}
    work = [_page("workspace", WORKSPACE, ":material/edit_note:", "workspace", default=True),
            _page("guideline", "Guideline", ":material/menu_book:", "guideline")]
    hide = not owner
    manage = [_page("review", "Review", ":material/gavel:", "review", hidden=hide),
              _page("dashboard", "Dashboards", ":material/monitoring:", "dashboards",
                    hidden=hide),
              _page("playground", "Guideline playground", ":material/science:", "playground",
                    hidden=hide),
              _page("pilot", "Pilot", ":material/rocket_launch:", "pilot", hidden=hide),
              _page("setup", "Project setup", ":material/settings:", "setup", hidden=hide),
              _page("people", "People", ":material/group:", "people", hidden=hide)]
    return {"Annotate": work, "Manage": manage} if owner else {"": work + manage}


def sidebar(store: Store) -> None:
    who = state.person()
    if who is None:
        return
    with store.session() as session:
        projects = [(p.id, p.name, p.kind) for p in list_projects(session)]
    with st.sidebar:
        st.caption(f"Signed in as **{who.name}** ({who.role})")
        if projects:
            ids = [p[0] for p in projects]
            names = {p[0]: f"{p[1]} · {p[2]}" for p in projects}
            current = state.project_id()
            if current not in ids:
                current = ids[0]
                state.set_project_id(current)
            state.set_widget("sidebar", "project", current)
            st.selectbox("Project", ids, format_func=names.__getitem__,
                         key=state.widget_key("sidebar", "project"),
                         on_change=_choose_project, args=(store,))
        else:
            st.info("No projects yet.")
        if st.button("Sign out", icon=":material/logout:"):
            _leave_task(store)
            state.sign_out()
            st.rerun()


def _choose_project(store: Store) -> None:
    _leave_task(store)
    state.set_project_id(state.get_widget("sidebar", "project"))


def _leave_task(store: Store) -> None:
    """Give the task on screen back to the queue (the person left it)."""
    work, who = state.work(), state.person()
    if work is not None and who is not None:
        skip_task(store, work.view, who.name)
    state.set_work(None)


def main() -> None:
    st.set_page_config(page_title="annotate", page_icon=":material/label:", layout="wide")
    store = get_store()
    access.redeem_invite_link(store)
    who = access.refresh(store)
    page = st.navigation(pages_for(who is not None, who is not None and who.is_owner))
    sidebar(store)
    if page.title != WORKSPACE and state.work() is not None:
        _leave_task(store)
    state.show_flash()
    token = state.pop_token()
    if token:
        st.info("Your personal sign-in token. It is shown only this once: keep it somewhere "
                "safe to sign in again.")
        st.code(token, language=None)
    page.run()


if __name__ == "__main__":
    main()
