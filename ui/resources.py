"""The database store, created once per server process (``st.cache_resource``) from the
``ANNOTATE_DB`` URL that ``annotate ui`` passes in, and shared by every session."""

from __future__ import annotations

import os

import streamlit as st

from annotate.settings import DEFAULT_DB_URL
from annotate.store.engine import Store, open_store

DB_ENV = "ANNOTATE_DB"


def db_url() -> str:
    return os.environ.get(DB_ENV) or DEFAULT_DB_URL


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Store:
    return open_store(url)


def get_store() -> Store:
    """The one store of this process for the configured database."""
    return _open(db_url())
