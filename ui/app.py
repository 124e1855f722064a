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

from annotate.services.workspace import skip_task
from annotate.store.engine import Store
from roles.registry import install_routing
from ui import access, state
from ui.resources import app_icon, configure_models, get_store, settings

PAGES = Path(__file__).parent / "views"
WORKSPACE = "Workspace"


# (file, title, icon, url, owners only)
WORK_PAGES = [("workspace", WORKSPACE, ":material/edit_note:", "workspace", False),
              ("guideline", "Guideline", ":material/menu_book:", "guideline", False)]
MANAGE_PAGES = [("review", "Review", ":material/gavel:", "review", True),
                ("dashboard", "Dashboards", ":material/monitoring:", "dashboards", True),
                ("playground", "Guideline playground", ":material/science:", "playground", True),
                ("pilot", "Pilot", ":material/rocket_launch:", "pilot", True),
                ("setup", "Project setup", ":material/settings:", "setup", True),
                ("people", "People", ":material/group:", "people", True)]


def _page(name: str, title: str, icon: str, url: str, *, default: bool = False,
          hidden: bool = False) -> st.Page:
    return st.Page(PAGES / f"{name}.py", title=title, icon=icon, url_path=url, default=default,
                   visibility="hidden" if hidden else "visible")


def pages_for(signed_in: bool, owner: bool) -> dict[str, list[st.Page]]:
    """Before sign-in only the sign-in page shows, but every page's address still resolves
    (each page shows the sign-in form first), so a deep link survives signing in. The
    workspace is the default page: its address is the root (``/?project=ID``)."""
    if not signed_in:
        return {"": [_page("sign_in", "Sign in", ":material/login:", "sign-in", default=True),
                     *[_page(name, title, icon, url, hidden=True)
                       for name, title, icon, url, _ in WORK_PAGES[1:] + MANAGE_PAGES]]}
    work = [_page(name, title, icon, url, default=name == "workspace")
            for name, title, icon, url, _ in WORK_PAGES]
    manage = [_page(name, title, icon, url, hidden=not owner)
              for name, title, icon, url, _ in MANAGE_PAGES]
    return {"Annotate": work, "Manage": manage} if owner else {"": work + manage}


def _url_project(ids: list[int]) -> int | None:
    """``?project=ID`` (a deep link), if the person may see that project."""
    raw = st.query_params.get("project")
    return int(raw) if raw and raw.isdigit() and int(raw) in ids else None


def sidebar(store: Store) -> None:
    who = state.person()
    if who is None:
        return
    projects = [(p.id, p.name, p.kind) for p in access.project_choices(store, who)]
    with st.sidebar:
        st.caption(f"Signed in as **{who.name}** ({who.role})")
        if projects:
            ids = [p[0] for p in projects]
            names = {p[0]: f"{p[1]} · {p[2]}" for p in projects}
            current = state.project_id()
            if current is None:  # a new browser session: a deep link chooses the project
                current = _url_project(ids)
                state.set_project_id(current)
            if current not in ids:
                current = ids[0]
                state.set_project_id(current)
            st.query_params["project"] = str(current)
            state.set_widget("sidebar", "project", current)
            st.selectbox("Project", ids, format_func=names.__getitem__,
                         key=state.widget_key("sidebar", "project"),
                         on_change=_choose_project, args=(store,))
        else:
            state.set_project_id(None)
            st.info("No projects yet." if who.is_owner else
                    "You are not a member of any project yet: ask an owner to add you.")
        if st.button("Sign out", icon=":material/logout:"):
            _leave_task(store)
            access.sign_out(store)
            st.query_params.clear()
            st.rerun()


def _choose_project(store: Store) -> None:
    _leave_task(store)
    state.ask_to_blur()  # keys go to the page again, not into the project box
    state.set_project_id(state.get_widget("sidebar", "project"))
    st.query_params["project"] = str(state.project_id())


def _leave_task(store: Store) -> None:
    """Give the task on screen back to the queue (the person left it)."""
    work, who = state.work(), state.person()
    if work is not None and who is not None:
        skip_task(store, work.view, who.name)
    state.set_work(None)


def main() -> None:
    # a local icon: an emoji or :material: page_icon makes the browser fetch it from a CDN
    st.set_page_config(page_title="annotate", page_icon=app_icon(), layout="wide")
    configure_models(settings().threads)  # the UI's edge: pages get values, not the environment
    install_routing()  # routing asks the registered roles (plugins too) what they want
    store = get_store()
    access.redeem_invite_link(store)
    who = access.refresh(store)
    access.write_cookie()
    page = st.navigation(pages_for(who is not None, who is not None and who.is_owner))
    sidebar(store)
    if page.title != WORKSPACE and state.work() is not None:
        _leave_task(store)
    if state.pop_blur():
        st.html("<script>document.activeElement && document.activeElement.blur()</script>",
                unsafe_allow_javascript=True, width=1)
    state.show_flash()
    token = state.pop_token()
    if token:
        st.info("Your personal sign-in token. It is shown only this once: keep it somewhere "
                "safe to sign in again.")
        st.code(token, language=None)
    page.run()
    mark_run()


def mark_run() -> None:
    """The last element of a run that drew its whole page: a count the browser can read
    (Streamlit's running indicator shows only after 500 ms, so a page cannot tell from it
    that a short run is over; the browser tests wait on this count)."""
    state.tick("run")
    st.html(f'<span data-annotate-run="{state.ticks("run")}" hidden></span>', width=1)


if __name__ == "__main__":
    main()
