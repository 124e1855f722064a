"""The item's context, above the item: the metadata fields the project's policy names
(``context_fields``, e.g. the dialogue turns before a ConvAbuse message).

Fields that name a speaker (``prev_user``, ``agent``, ...) are drawn as the turns of a
dialogue, in the policy's order, and the item follows as the last turn; any other field is a
row of a small table. Every text is shown as plain text (``st.text``): it can draw nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from ui.answers import plain_markdown

USER_WORDS = ("user", "human", "customer", "person")
AGENT_WORDS = ("agent", "bot", "assistant", "system", "model")


def speaker(name: str) -> str | None:
    """"user" or "agent" for a field that names a speaker, else None."""
    words = name.lower().replace("-", "_").split("_")
    if any(w in USER_WORDS for w in words):
        return "user"
    if any(w in AGENT_WORDS for w in words):
        return "agent"
    return None


def render(context: Sequence[tuple[str, str]]) -> None:
    """Draw the context (nothing when the item has none)."""
    if not context:
        return
    turns = [(name, text) for name, text in context if speaker(name)]
    other = [(name, text) for name, text in context if not speaker(name)]
    with st.container(border=True, key="item-context"):
        st.caption(":material/forum: Context (before the item)")
        if other:
            st.dataframe({"field": [n for n, _ in other], "value": [t for _, t in other]},
                         hide_index=True)
        for name, text in turns:
            icon = ":material/person:" if speaker(name) == "user" else ":material/smart_toy:"
            with st.chat_message(speaker(name) or "agent", avatar=icon):
                st.caption(plain_markdown(name))
                st.text(text)
