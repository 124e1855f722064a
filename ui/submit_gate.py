"""The browser-side gate against an accidental submit in the workspace.

Two Enters 150 ms apart used to answer the next item with its pre-filled suggestion before
anyone could read it; the server cannot tell when an item was drawn or whether a key is
held, so the gate lives in the page: a small script (``st.html`` with JavaScript, no request
to anywhere) drawn on every run of the workspace, listening on the window in the capture
phase, before Streamlit's own shortcut handler.
"""

from __future__ import annotations

import streamlit as st

from ui import state

SUBMIT_KEY = "ws-submit"  # its container gets the class st-key-ws-submit (the gate finds it)
# The submit gate, run in the page on every run of the workspace (a new body each time):
# the clock of an item starts when a new task id is drawn; until the delay has passed, or
# while the Enter that was down when the item appeared is still held (auto-repeat), Enter
# and clicks on Submit are swallowed before Streamlit's shortcut handler sees them. After a
# submit goes out nothing more is let through until the next run draws the page (at most
# 3 s). Measured in Chromium: Enter twice 150 ms apart stored one answer, not two.
GATE_JS = """<span data-annotate-gate="__TASK__" style="font-size:0.8rem;opacity:0.7"></span>
<script>(() => {
  const g = window.__annotateGate || (window.__annotateGate = {task: null, shownAt: 0,
    delay: 0, held: false, mustRelease: false, pendingUntil: 0, ignored: 0});
  const now = performance.now();
  if (g.task !== "__TASK__") { g.task = "__TASK__"; g.shownAt = now; g.mustRelease = g.held; }
  g.delay = __DELAY__; g.pendingUntil = 0;
  if (g.installed) return;
  g.installed = true;
  const mark = () => document.querySelector("[data-annotate-gate]");
  const editable = (t) => t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"]
    .includes(t.tagName));
  const blocked = () => { const t = performance.now();
    return t < g.pendingUntil || t - g.shownAt < g.delay || g.mustRelease; };
  const hold = (e) => { e.stopImmediatePropagation(); e.preventDefault(); g.ignored += 1;
    const m = mark(); if (m) { m.textContent = "Held back: the item has just appeared.";
      setTimeout(() => { m.textContent = ""; }, 1200); } };
  window.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const repeat = e.repeat || g.held;
    g.held = true;
    if (!mark() || g.delay <= 0 || editable(e.target) || e.ctrlKey || e.metaKey || e.altKey)
      return;
    if (repeat || blocked()) { hold(e); return; }
    g.pendingUntil = performance.now() + 3000;
  }, true);
  window.addEventListener("keyup", (e) => {
    if (e.key === "Enter") { g.held = false; g.mustRelease = false; } }, true);
  window.addEventListener("blur", () => { g.held = false; g.mustRelease = false; });
  window.addEventListener("click", (e) => {
    const button = e.target instanceof Element && e.target.closest(".st-key-__KEY__");
    if (!button || !mark() || g.delay <= 0) return;
    if (blocked()) { hold(e); return; }
    g.pendingUntil = performance.now() + 3000;
  }, true);
})();</script>"""


def draw(task_id: int, delay_ms: int) -> None:
    """Draw the gate for the task on screen (a new body on every run, so the script runs
    again and knows the run has finished)."""
    body = (GATE_JS.replace("__TASK__", str(int(task_id)))
            .replace("__DELAY__", str(int(delay_ms)))
            .replace("__KEY__", SUBMIT_KEY))
    state.tick("gate")
    st.html(f"{body}<!-- run {state.ticks('gate')} -->", unsafe_allow_javascript=True)
