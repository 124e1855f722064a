"""All of the UI's session state, behind typed functions (no page touches ``st.session_state``
keys directly except through here and the widget keys made by :func:`widget_key`).

What one browser session holds: the signed-in person, the chosen project, the task on
screen (its view, when it was shown, when its lease was last extended), the tasks skipped
in this session, the answers that can be undone, a token to show once, and a flash message
for the next run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

from annotate.services.people import PersonInfo
from annotate.services.workspace import WorkView

_PERSON = "person"
_PROJECT = "project_id"
_WORK = "work"
_SKIPPED = "skipped_items"
_UNDO = "undo_stack"
_TOKEN = "token_to_show"
_FLASH = "flash"
_SESSION = "session_id"
_COOKIE = "cookie_to_write"
_REFUSED = "refused_cookie"
_HOLD_CLAIM = "hold_claim"
_ACTIVE = "last_active"


def _get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


# -- who is signed in ---------------------------------------------------------------------


def person() -> PersonInfo | None:
    value = _get(_PERSON)
    return value if isinstance(value, PersonInfo) else None


def sign_in(who: PersonInfo) -> None:
    """Sign the person in for this session. An owner who signs in anywhere but on a link to a
    project's workspace gets nothing claimed until they choose to annotate
    (:func:`claim_on_hold`)."""
    if person() is None and who.is_owner and not st.query_params.get("project"):
        st.session_state[_HOLD_CLAIM] = True
    st.session_state[_PERSON] = who


def claim_on_hold() -> bool:
    return bool(_get(_HOLD_CLAIM, False))


def start_claiming() -> None:
    st.session_state.pop(_HOLD_CLAIM, None)


def sign_out() -> None:
    refused = session_id()
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if refused:  # the browser may still send the old cookie until it is cleared
        refuse_cookie(refused)


def session_id() -> str | None:
    value = _get(_SESSION)
    return value if isinstance(value, str) else None


def set_session_id(sid: str | None) -> None:
    st.session_state[_SESSION] = sid


def set_cookie_to_write(value: str) -> None:
    """A session id for the browser to keep ("" clears it), written on the next run."""
    st.session_state[_COOKIE] = value


def pop_cookie_to_write() -> str | None:
    value = _get(_COOKIE)
    st.session_state.pop(_COOKIE, None)
    return value if isinstance(value, str) else None


def refuse_cookie(value: str) -> None:
    st.session_state[_REFUSED] = value


def cookie_refused(value: str) -> bool:
    return bool(_get(_REFUSED) == value)


def show_token_once(token: str) -> None:
    st.session_state[_TOKEN] = token


def pop_token() -> str | None:
    token = _get(_TOKEN)
    st.session_state.pop(_TOKEN, None)
    return token if isinstance(token, str) else None


# -- the chosen project ---------------------------------------------------------------------


def project_id() -> int | None:
    value = _get(_PROJECT)
    return value if isinstance(value, int) else None


def set_project_id(pid: int | None) -> None:
    st.session_state[_PROJECT] = pid


# -- the task on screen ---------------------------------------------------------------------


@dataclass
class Work:
    view: WorkView
    shown_at: float
    extended_at: float


def work() -> Work | None:
    value = _get(_WORK)
    return value if isinstance(value, Work) else None


def set_work(view: WorkView | None) -> Work | None:
    """Put a task on screen (its clock starts now) or clear it."""
    if view is None:
        st.session_state.pop(_WORK, None)
        return None
    now = time.monotonic()
    current = work()
    same_task = current is not None and current.view.task_id == view.task_id
    entry = Work(view=view, shown_at=current.shown_at if same_task and current else now,
                 extended_at=now)
    st.session_state[_WORK] = entry
    return entry


def mark_active() -> None:
    """The person did something on the page (a run of the whole page, not a heartbeat)."""
    st.session_state[_ACTIVE] = time.monotonic()


def idle_seconds() -> float:
    """Seconds since the person last did something on the page."""
    return time.monotonic() - float(_get(_ACTIVE, time.monotonic()))


def mark_extended() -> None:
    current = work()
    if current is not None:
        current.extended_at = time.monotonic()


def seconds_on_task() -> float:
    current = work()
    return 0.0 if current is None else time.monotonic() - current.shown_at


def skipped() -> list[int]:
    return list(_get(_SKIPPED, []))


def add_skipped(item_id: int) -> None:
    """An item the person skipped: not offered again in this session."""
    st.session_state[_SKIPPED] = [*skipped(), item_id][-200:]


def clear_skipped() -> None:
    st.session_state.pop(_SKIPPED, None)


def push_undo(annotation_id: int) -> None:
    st.session_state[_UNDO] = [*undo_stack(), annotation_id][-20:]


def undo_stack() -> list[int]:
    return list(_get(_UNDO, []))


def pop_undo() -> int | None:
    stack = undo_stack()
    if not stack:
        return None
    st.session_state[_UNDO] = stack[:-1]
    return stack[-1]


# -- widget keys and messages ---------------------------------------------------------------


def widget_key(prefix: str, name: str) -> str:
    """The key of a widget that belongs to one task or item (fresh widgets per task)."""
    return f"w:{prefix}:{name}"


def get_widget(prefix: str, name: str, default: Any = None) -> Any:
    return st.session_state.get(widget_key(prefix, name), default)


def set_widget(prefix: str, name: str, value: Any) -> None:
    st.session_state[widget_key(prefix, name)] = value


def clear_widgets(prefix: str) -> None:
    head = widget_key(prefix, "")
    for key in [k for k in st.session_state if str(k).startswith(head)]:
        del st.session_state[key]


def remember(name: str, value: Any) -> None:
    """Keep a page's result (e.g. the last saved diff) for later runs."""
    st.session_state[f"memo:{name}"] = value


def recall(name: str) -> Any:
    return st.session_state.get(f"memo:{name}")


def started_at(name: str) -> float:
    """When something (e.g. reviewing an item) was first shown in this session."""
    key = f"clock:{name}"
    if key not in st.session_state:
        st.session_state[key] = time.monotonic()
    return float(st.session_state[key])


def ask_to_blur() -> None:
    """Take the keyboard focus off the widget just used (e.g. the sidebar's project box), on
    the next run, so keys go to the page's shortcuts."""
    st.session_state["blur"] = True


def pop_blur() -> bool:
    return bool(st.session_state.pop("blur", False))


def tick(name: str) -> None:
    """Count one more run of something (e.g. the workspace drawing its submit gate)."""
    st.session_state[f"ticks:{name}"] = ticks(name) + 1


def ticks(name: str) -> int:
    return int(st.session_state.get(f"ticks:{name}", 0))


def flash(message: str, kind: str = "success") -> None:
    """A message shown once, on the next run (after an st.rerun)."""
    st.session_state[_FLASH] = (kind, message)


def pop_flash() -> tuple[str, str] | None:
    value = _get(_FLASH)
    st.session_state.pop(_FLASH, None)
    if isinstance(value, tuple | list) and len(value) == 2:
        return str(value[0]), str(value[1])
    return None


def show_flash() -> None:
    """Show the pending message (a toast for "toast", else a coloured box)."""
    message = pop_flash()
    if message is None:
        return
    kind, text = message
    if kind == "toast":
        st.toast(text)
        return
    show = {"error": st.error, "warning": st.warning, "info": st.info}.get(kind, st.success)
    show(text)
