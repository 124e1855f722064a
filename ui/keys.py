"""The keys of a page, listed in an overlay that **?** opens (and **?** or **Esc** closes).

Drawn on every run of a page that has keys (a small ``st.html`` script, nothing fetched):
the list is the page's own keys plus those of the kind's answer input (its ``keys``
attribute, pairs of key and what it does). The script listens on the window; it ignores a
key typed into a text box, so "?" can still be written in an answer.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import streamlit as st

from ui import state

Keys = Sequence[tuple[str, str]]

WORKSPACE = (("Enter", "submit"), ("S", "skip"), ("U", "undo the last answer"),
             ("A", "accept the suggestion"), ("?", "show or hide this list"))
REVIEW = (("1-9", "use that answer as the final one"), ("F", "set the final answer"),
          ("N", "next item"), ("P", "previous item"), ("?", "show or hide this list"))

OVERLAY_JS = """<div data-annotate-keys hidden>__TABLE__</div><script>(() => {
  const k = window.__annotateKeys || (window.__annotateKeys = {});
  const src = document.querySelector("[data-annotate-keys]");
  k.html = src ? src.innerHTML : "";
  const box = document.getElementById("annotate-keys");
  if (box) box.innerHTML = k.html;
  if (k.installed) return;
  k.installed = true;
  const editable = (t) => t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"]
    .includes(t.tagName));
  const close = () => { const b = document.getElementById("annotate-keys"); if (b) b.remove(); };
  window.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { close(); return; }
    if (e.key !== "?" || editable(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    if (document.getElementById("annotate-keys")) { close(); return; }
    const b = document.createElement("div");
    b.id = "annotate-keys";
    b.setAttribute("role", "dialog");
    b.setAttribute("aria-label", "Keys");
    b.style.cssText = "position:fixed;top:12%;left:50%;transform:translateX(-50%);" +
      "z-index:100000;background:#fff;color:#222;border:1px solid #999;border-radius:10px;" +
      "padding:1rem 1.5rem;box-shadow:0 8px 30px rgba(0,0,0,.25);font:15px sans-serif;" +
      "max-height:75vh;overflow:auto;min-width:22rem";
    const now = document.querySelector("[data-annotate-keys]");
    b.innerHTML = now ? now.innerHTML : k.html;
    b.addEventListener("click", close);
    document.body.appendChild(b);
  }, true);
})();</script>"""


def _table(sections: Sequence[tuple[str, Keys]]) -> str:
    parts = []
    for title, keys in sections:
        if not keys:
            continue
        rows = "".join(
            f"<tr><td style='padding:2px 12px 2px 0'><kbd style='border:1px solid #aaa;"
            f"border-radius:4px;padding:0 5px;font:13px monospace'>{html.escape(key)}</kbd>"
            f"</td><td>{html.escape(what)}</td></tr>" for key, what in keys)
        parts.append(f"<div style='font-weight:600;margin:.4rem 0'>{html.escape(title)}</div>"
                     f"<table>{rows}</table>")
    parts.append("<div style='opacity:.6;margin-top:.6rem;font-size:13px'>"
                 "? or Esc closes this list</div>")
    return "".join(parts)


def overlay(sections: Sequence[tuple[str, Keys]]) -> None:
    """Draw the page's key list (opened with ?)."""
    body = OVERLAY_JS.replace("__TABLE__", _table(sections))
    state.tick("keys")
    st.html(f"{body}<!-- run {state.ticks('keys')} -->", unsafe_allow_javascript=True, width=1)
