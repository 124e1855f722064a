"""The UI's edge: the settings (:func:`settings`, the one place the UI reads the environment:
``ANNOTATE_*``, with the ``ANNOTATE_DB`` URL that ``annotate ui`` passes in, and a ``.env``); the
database store, created once per server process (``st.cache_resource``) and shared by every
session; the app's icon, drawn here (an emoji or ``:material:`` page icon makes the browser
fetch it from a CDN, and the package ships no image files)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from annotate.settings import Settings, load_settings
from annotate.store.engine import Store, open_store


def settings() -> Settings:
    """The settings as they are now (read on each call, about 0.3 ms: the tests change the
    environment between apps in one process). Pages take their values from here."""
    return load_settings()


def db_url() -> str:
    return settings().db


@st.cache_resource(show_spinner=False)
def configure_models(threads: int | None) -> None:
    """In-process models (the embedded LLM, distilled classifiers) load with ``threads`` CPU
    threads (``ANNOTATE_THREADS``; None: 1); once per process and value."""
    if threads is not None:
        from annotate.llm import local_model

        local_model.configure(threads=threads)


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Store:
    return open_store(url)


def get_store() -> Store:
    """The one store of this process for the configured database."""
    return _open(db_url())


@st.cache_resource(show_spinner=False)
def app_icon() -> Any:
    """A small label-shaped icon (a PIL image; Streamlit serves it from this server)."""
    from PIL import Image, ImageDraw

    icon = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.rounded_rectangle((4, 4, 60, 60), radius=12, fill=(255, 75, 75, 255))
    draw.polygon([(18, 20), (38, 20), (48, 32), (38, 44), (18, 44)], fill="white")
    draw.ellipse((22, 29, 28, 35), fill=(255, 75, 75, 255))
    return icon
