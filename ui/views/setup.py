"""Project setup (owners): create a project, import CSV/JSONL (all or nothing; a bad row is
shown with its line), set the routing policy, export."""

from __future__ import annotations

import json
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

import streamlit as st
from pydantic import ValidationError

from annotate.errors import AnnotateError
from annotate.io.importing import FORMATS
from annotate.kinds.optional import setup_form
from annotate.kinds.schema import TASK_KINDS
from annotate.projects.catalog import create_project, project_policy
from annotate.projects.policy import RoutingPolicy, first_error
from annotate.queue.reconcile import set_policy
from annotate.services.project_files import (
    UPLOAD_SUFFIXES,
    export_bytes,
    import_upload,
    schema_from_form,
)
from annotate.store.engine import Store
from annotate.store.models import Project
from ui import access, state
from ui.resources import get_store

EXPORT_FORMATS = ("jsonl", "csv", "parquet")


def _create(store: Store) -> None:
    kind = st.selectbox("Task kind", TASK_KINDS, key="new_kind")
    asks = setup_form(kind)  # what this kind's schema needs besides a name
    with st.form("create_project"):
        name = st.text_input("Name")
        labels = st.text_input(asks.labels, help="Comma-separated",
                               placeholder="e.g. positive, negative, neutral")
        scale = st.text_input("Rating scale", "1,2,3,4,5") if asks.scale else "1,2,3,4,5"
        tie = st.checkbox("Allow a tie", True) if asks.tie else True
        budget = st.number_input("LLM budget in USD (0 = no cap)", min_value=0.0, value=0.0)
        guideline = st.text_area("Guideline (markdown; empty = a starting draft)")
        if not st.form_submit_button("Create project", type="primary"):
            return
    try:
        schema = schema_from_form(kind, labels, scale, tie)
        with store.session() as session:
            project = create_project(session, name.strip(), schema,
                                     guideline=guideline or None,
                                     budget_usd=budget or None)
            pid = project.id
    except ValidationError as exc:  # the first bad field on one line, not pydantic's dump
        st.error(f"Not created: {first_error(exc, 'project')}")
        return
    except (AnnotateError, ValueError) as exc:
        st.error(f"Not created: {exc}")
        return
    state.set_project_id(pid)
    state.flash(f"Project {name} created. Import items next.")
    st.rerun()


def _import(store: Store, project: Project) -> None:
    upload = st.file_uploader("CSV or JSONL file", type=list(UPLOAD_SUFFIXES),
                              key=f"upload:{project.id}")
    fmt = st.selectbox("Format", ["auto", *FORMATS], key=f"fmt:{project.id}")
    if not st.button("Import", type="primary", disabled=upload is None,
                     icon=":material/upload:"):
        return
    assert upload is not None
    try:
        with st.spinner("Importing..."):
            result: Any = import_upload(store, project.name, upload.name, upload.getvalue(),
                                        fmt=fmt)
    except AnnotateError as exc:
        st.error(f"Nothing was imported. {exc}")
        return
    st.success(f"Imported {result.items} items, {result.annotations} existing answers; "
               f"{result.tasks} tasks created ({result.format}).")
    for note in result.notes:
        st.caption(note)


REDACTION_CHOICES = {"default: on for remote models": None, "on": True,
                     "off: remote models see personal data": False}


NOT_SET = "(not set)"


def allowed_values(annotation: Any) -> list[Any] | None:
    """The values a Literal or Enum field allows (None among them when it is optional), or
    None for a field that is not a choice."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return list(annotation)
    if get_origin(annotation) in (Union, UnionType):
        args = get_args(annotation)
        inner = [allowed_values(a) for a in args if a is not NoneType]
        if len(inner) == 1 and inner[0] is not None and NoneType in args:
            return [*inner[0], None]
    return None


def _choice_input(name: str, info: Any, options: list[Any], current: Any) -> Any:
    """A radio of the allowed values, each with its one-line meaning when the field gives
    them (``json_schema_extra={"choices": {value: meaning}}``)."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    meanings: Any = extra.get("choices") or {}
    shown = [NOT_SET if v is None else str(getattr(v, "value", v)) for v in options]
    return st.radio(name.replace("_", " "), options, index=options.index(current),
                    format_func=lambda v: shown[options.index(v)],
                    captions=[str(meanings.get(text, "")) for text in shown],
                    help=info.description, key=f"pol:{name}", horizontal=True)


def _field_input(name: str, info: Any, current: Any) -> Any:
    label = name.replace("_", " ")
    help_text = info.description
    if name == "redact_personal_data":  # three states: the default, on, off
        shown = next(k for k, v in REDACTION_CHOICES.items() if v is current)
        choice = st.selectbox(label, list(REDACTION_CHOICES), index=list(
            REDACTION_CHOICES).index(shown), help=help_text, key=f"pol:{name}")
        return REDACTION_CHOICES[choice]
    options = allowed_values(info.annotation)
    if options is not None:
        return _choice_input(name, info, options, current)
    return _value_input(label, help_text, name, current)


def _value_input(label: str, help_text: str | None, name: str, current: Any) -> Any:
    """A number, a flag, JSON or text, by the type of the current value."""
    if isinstance(current, bool):
        return st.checkbox(label, current, help=help_text, key=f"pol:{name}")
    if isinstance(current, int):
        return st.number_input(label, value=current, step=1, help=help_text, key=f"pol:{name}")
    if isinstance(current, float):
        return st.number_input(label, value=current, step=0.05, help=help_text,
                               key=f"pol:{name}")
    if isinstance(current, dict | list):
        return _json_input(label, help_text, name, current)
    text = st.text_input(label, "" if current is None else str(current), help=help_text,
                         key=f"pol:{name}")
    return text or None


def _json_input(label: str, help_text: str | None, name: str, current: Any) -> Any:
    """A mapping or a list, edited as JSON; text that is not JSON goes to the policy's own
    validation, which says what is wrong with it (or reads it, as `context_fields` does)."""
    raw = st.text_input(label, json.dumps(current, ensure_ascii=False), help=help_text,
                        key=f"pol:{name}")
    try:
        return json.loads(raw) if raw.strip() else type(current)()
    except json.JSONDecodeError:
        return raw


def _policy(store: Store, project: Project) -> None:
    policy = project_policy(project)
    st.caption("Personal data sent to remote models: "
               + policy.setting_text("redact_personal_data"))
    with st.form(f"policy:{project.id}"):
        values = {name: _field_input(name, info, getattr(policy, name))
                  for name, info in RoutingPolicy.model_fields.items()}
        if not st.form_submit_button("Save policy", type="primary"):
            return
    try:
        new = RoutingPolicy.model_validate(values)
        from roles.stages import check_cascade

        check_cascade(new)  # an unknown cascade annotator: said before anything changes
        with store.session() as session:
            change = set_policy(session, session.get_one(Project, project.id), new)
    except ValidationError as exc:  # the first bad field on one line, not pydantic's dump
        st.error(f"Not saved: {first_error(exc, 'policy')}")
        return
    except AnnotateError as exc:
        st.error(f"Not saved: {exc}")
        return
    st.success(f"Policy saved; for the items already imported it {change.describe()}.")


def _export(store: Store, project: Project) -> None:
    fmt = st.selectbox("Export format", EXPORT_FORMATS, key=f"export_fmt:{project.id}")
    if st.button("Prepare export", icon=":material/inventory_2:"):
        try:
            data = export_bytes(store, project.name, fmt)
        except AnnotateError as exc:
            st.error(str(exc))
            return
        st.download_button(f"Download {project.name}.{fmt}", data,
                           file_name=f"{project.name}.{fmt}", icon=":material/download:")


def render() -> None:
    store = get_store()
    access.require_owner()
    project = access.current_project(store)
    tabs = st.tabs(["Create", "Import", "Policy", "Export"])
    with tabs[0]:
        _create(store)
    if project is None:
        for tab in tabs[1:]:
            tab.info("Create or choose a project first.")
        return
    with tabs[1]:
        _import(store, project)
    with tabs[2]:
        _policy(store, project)
    with tabs[3]:
        _export(store, project)


if __name__ == "__main__":
    render()
