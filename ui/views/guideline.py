"""The project's current guideline (the same document the LLM roles are prompted with)."""

from __future__ import annotations

import streamlit as st

from annotate.errors import NotFound
from annotate.projects.catalog import current_guideline
from ui import access
from ui.answers import no_remote_images
from ui.resources import get_store


def render() -> None:
    store = get_store()
    access.require_person()
    project = access.require_project(store)
    try:
        with store.session() as session:
            guideline = current_guideline(session, project)
    except NotFound as exc:
        st.info(str(exc))
        return
    st.caption(f"{project.name} · guideline v{guideline.number} · version {guideline.version}"
               f" · the LLM roles are prompted with this same text")
    st.markdown(no_remote_images(guideline.content))


if __name__ == "__main__":
    render()
