"""Read-only pieces shared by pages: the item, the LLM's suggestion, the guideline.

Item text and everything a model wrote (rationales, candidates, answers) is shown as plain
text (``st.text``, or Markdown with every mark escaped): it can draw no heading or fake box
and make the browser fetch nothing. The owners' guideline stays Markdown, without images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from annotate.kinds.base import option_names
from annotate.kinds.optional import highlight, option_fields
from annotate.kinds.schema import LabelSchema
from annotate.services.cascade_stages import StageSaid
from annotate.services.workspace import Prelabel
from annotate.store.engine import Store
from annotate.store.models import GuidelineVersion
from ui.answers import no_remote_images, option_texts, plain_markdown, short


def item(kind: str, schema: LabelSchema, text: str, data: dict[str, Any]) -> None:
    """The item to judge: its text, and when the answer chooses among fields of the item
    (the kind's option fields, e.g. a choice task's responses) those side by side."""
    options = option_fields(schema)
    if options:
        if text:
            st.markdown("**Prompt**")
            st.text(text)
        texts = option_texts(data, options)
        names = option_names(options)
        for column, option in zip(st.columns(len(options)), options, strict=True):
            with column, st.container(border=True):
                st.markdown(f"**{plain_markdown(names[option])}** · {plain_markdown(option)}")
                st.text(texts[option] or "(empty)")
        return
    with st.container(border=True):
        st.text(text)


def suggestion(kind: str, schema: LabelSchema, pre: Prelabel, text: str,
               marked: bool = True) -> None:
    """The LLM's pre-label, saying which model made it (its outputs are suggestions to check,
    never truth); ``marked``: also the text with the answer marked in it."""
    who = (f"LLM annotator {plain_markdown(pre.model)}" if pre.source == "annotator"
           and pre.model
           else "LLM annotator" if pre.source == "annotator" else "Helper's top candidate")
    confidence = f", confidence {pre.confidence:.2f}" if pre.confidence is not None else ""
    with st.container(border=True):
        st.markdown(f":material/smart_toy: **Suggestion** from {who}{confidence}: "
                    f"**{plain_markdown(short(kind, pre.value))}**")
        drawn = highlight(schema, text, pre.value) if marked else None
        if drawn:
            st.markdown(drawn)
        if pre.rationale:
            st.caption(f"Rationale: {plain_markdown(pre.rationale)}")
        if pre.stages:
            st.caption(cascade_line(kind, pre.stages))
        st.caption("Check it against the text: models can be convincingly wrong.")


def cascade_line(kind: str, stages: Sequence[StageSaid]) -> str:
    """Which cascade stages answered before the person, and how sure each was."""
    said = [f"{n}. {plain_markdown(s.model or 'LLM')}: "
            f"**{plain_markdown(short(kind, s.value))}**"
            + (f" ({s.confidence:.2f})" if s.confidence is not None else "")
            + (", unsure: passed on" if s.passed_on else "")
            for n, s in enumerate(stages, start=1)]
    return "Cascade before you: " + " → ".join(said)


@st.cache_data(show_spinner=False, max_entries=256)
def _guideline_text(_store: Store, db: str, guideline_id: int) -> tuple[int, str, str]:
    with _store.session() as session:
        row = session.get(GuidelineVersion, guideline_id)
        if row is None:
            return 0, "", "_No guideline yet._"
        return row.number, row.version, row.content


def guideline_popover(store: Store, guideline_id: int | None) -> None:
    """The current guideline, one click away."""
    if guideline_id is None:
        st.caption("No guideline yet.")
        return
    number, version, content = _guideline_text(store, str(store.engine.url), guideline_id)
    with st.popover(f"Guideline v{number}", icon=":material/menu_book:"):
        st.caption(f"version {version}")
        st.markdown(no_remote_images(content))
