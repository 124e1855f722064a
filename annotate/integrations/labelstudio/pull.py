"""Pull the people's annotations from Label Studio back as human annotations, idempotently.

Each Label Studio annotation becomes (or updates) one :class:`Annotation` with
``idempotency_key = "ls:<annotation id>"``, ``source = "labelstudio"`` and its provenance:
who (the Label Studio user's email), when (its ``created_at``), the lead time as
``human_seconds``, and in ``meta`` the prediction it started from (with the local LLM answer
or Helper candidate behind it). Skipped (cancelled) annotations are counted, never stored as
labels; one that is gone from Label Studio, skipped or no longer valid loses its local copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.errors import Conflict, InvalidInput
from annotate.integrations.labelstudio.client import ConfigMismatch, LabelStudioError, connect
from annotate.integrations.labelstudio.config import describe_difference, labeling_config
from annotate.integrations.labelstudio.convert import from_result
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import get_project, project_schema
from annotate.store.engine import Store
from annotate.store.labelstudio_models import LabelStudioProject, LabelStudioTask
from annotate.store.models import Annotation, Item

SOURCE = "labelstudio"


@dataclass
class PullReport:
    server: str
    ls_project_id: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    unknown_tasks: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Link:
    item_id: int
    predictions: dict[int, str]  # Label Studio prediction id -> local key


@dataclass(frozen=True)
class _Pulled:
    link: _Link
    task: dict[str, Any]
    annotation: dict[str, Any]


def idempotency_key(ls_annotation_id: int) -> str:
    return f"ls:{ls_annotation_id}"


def pull(store: Store, project: str, url: str, token: str,
         ls_project: int | None = None, *,
         on_phase: Callable[[str], None] | None = None) -> PullReport:
    """Bring the Label Studio project's annotations into the store; safe to repeat.
    ``on_phase(text)`` hears of each step (reading tasks, storing annotations)."""
    client = connect(url, token)
    with store.session() as session:
        proj = get_project(session, project)
        project_id, schema = proj.id, project_schema(proj)
        link = session.scalar(select(LabelStudioProject).where(
            LabelStudioProject.project_id == project_id,
            LabelStudioProject.server == client.server))
        guideline_version = link.guideline_version if link else None
        ls_pid = ls_project if ls_project is not None else (link.ls_project_id if link else None)
        if ls_pid is None:
            raise LabelStudioError(f"project {project!r} was never pushed to {client.server}: "
                                   "run `annotate ls push` first")
        links = _task_links(session, client.server, ls_pid)
    remote = client.get_project(ls_pid)
    difference = describe_difference(labeling_config(schema), str(remote.get("label_config")))
    if difference:
        raise ConfigMismatch(f"the labeling config of Label Studio project {ls_pid} does not "
                             f"match project {project!r} ({difference}); push again to reset it")
    report = PullReport(server=client.server, ls_project_id=ls_pid)
    if on_phase is not None:
        on_phase(f"reading the tasks of Label Studio project {ls_pid}")
    pulled = _collect(client.iter_tasks(ls_pid), links, report)
    users = client.user_names() if pulled else {}
    context = _Context(project_id, schema, client.server, ls_pid, guideline_version, users)
    if on_phase is not None:
        on_phase(f"storing {len(pulled)} annotations")
    with store.session() as session:
        _apply(session, context, pulled, report)
    return report


def _task_links(session: Session, server: str, ls_pid: int) -> dict[int, _Link]:
    rows = session.scalars(select(LabelStudioTask).where(
        LabelStudioTask.server == server, LabelStudioTask.ls_project_id == ls_pid))
    return {row.ls_task_id: _Link(row.item_id, {int(pid): key for key, pid
                                                in row.predictions.items() if pid is not None})
            for row in rows}


def _collect(tasks: Any, links: dict[int, _Link], report: PullReport) -> list[_Pulled]:
    pulled = []
    for task in tasks:
        annotations = task.get("annotations") or []
        link = links.get(int(task["id"]))
        if link is None:
            report.unknown_tasks += 1 if annotations else 0
            continue
        for annotation in annotations:
            pulled.append(_Pulled(link, task, annotation))
    return pulled


@dataclass(frozen=True)
class _Context:
    project_id: int
    schema: LabelSchema
    server: str
    ls_pid: int
    guideline_version: str | None
    users: dict[int, str]


def _apply(session: Session, ctx: _Context, pulled: list[_Pulled], report: PullReport) -> None:
    texts = {item_id: text for item_id, text in session.execute(select(Item.id, Item.text).where(
        Item.id.in_({p.link.item_id for p in pulled})))}
    mine = _local_copies(session, ctx)
    keep: set[str] = set()
    for entry in pulled:
        ann = entry.annotation
        ls_id = int(ann["id"])
        if ann.get("was_cancelled"):
            report.skipped += 1
            continue
        try:
            columns = _columns(ctx, entry, texts[entry.link.item_id])
        except InvalidInput as exc:
            report.invalid.append((ls_id, str(exc)))
            continue
        key = idempotency_key(ls_id)
        keep.add(key)
        _upsert(session, ctx, key, mine.get(key), columns, report)
    for key, annotation in mine.items():
        if key not in keep:
            session.delete(annotation)
            report.deleted += 1


def _local_copies(session: Session, ctx: _Context) -> dict[str, Annotation]:
    """The annotations an earlier pull stored from this Label Studio project."""
    found = session.scalars(select(Annotation).where(
        Annotation.project_id == ctx.project_id, Annotation.source == SOURCE))
    return {a.idempotency_key: a for a in found if a.idempotency_key
            and a.meta.get("ls_server") == ctx.server and a.meta.get("ls_project") == ctx.ls_pid}


def _columns(ctx: _Context, entry: _Pulled, text: str) -> dict[str, Any]:
    ann = entry.annotation
    parent = ann.get("parent_prediction")
    parent_key = entry.link.predictions.get(int(parent)) if parent is not None else None
    candidate = int(parent_key.split(":")[1]) if parent_key and parent_key[0] == "s" else None
    candidates = (entry.task.get("data") or {}).get("candidate_texts") or []
    value = from_result(ctx.schema, list(ann.get("result") or []), text,
                        candidates=[str(c) for c in candidates], started_from=candidate)
    user = _user_id(ann.get("completed_by"))
    meta: dict[str, Any] = {
        "ls_server": ctx.server, "ls_project": ctx.ls_pid, "ls_task": int(entry.task["id"]),
        "ls_annotation": int(ann["id"]), "ls_user": user,
        "ls_updated_at": str(ann.get("updated_at") or ""),
        "parent_prediction": parent, "ground_truth": bool(ann.get("ground_truth")),
    }
    if parent_key and parent_key[0] == "a":
        meta["parent_annotation_id"] = int(parent_key[1:])
    if candidate is not None:
        meta["parent_candidate"] = candidate
    lead = ann.get("lead_time")
    return {
        "item_id": entry.link.item_id,
        "value": value,
        "annotator_id": ctx.users.get(user, f"ls-user-{user}") if user is not None else "ls-user",
        "human_seconds": float(lead) if lead is not None else None,
        "suggestion_visible": parent is not None,
        "created_at": _naive_utc(ann.get("created_at")),
        "meta": meta,
    }


def _user_id(completed_by: Any) -> int | None:
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("id")
    return int(completed_by) if completed_by is not None else None


def _naive_utc(raw: Any) -> datetime | None:
    when: datetime | None = raw if isinstance(raw, datetime) else None
    if isinstance(raw, str) and raw:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if when is not None and when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def _upsert(session: Session, ctx: _Context, key: str, local: Annotation | None,
            columns: dict[str, Any], report: PullReport) -> None:
    if local is None:
        other = session.scalar(select(Annotation).where(Annotation.idempotency_key == key))
        if other is not None:
            raise Conflict(f"annotation {key} was already pulled from another Label Studio "
                           f"project or server (local annotation {other.id})")
        fields = {k: v for k, v in columns.items() if k != "created_at" or v is not None}
        session.add(Annotation(
            project_id=ctx.project_id, idempotency_key=key, annotator_kind="human",
            role="annotator", source=SOURCE, phase="final",
            guideline_version=ctx.guideline_version, **fields,
        ))
        report.created += 1
        return
    changed = False
    for name in ("value", "annotator_id", "human_seconds", "meta"):
        if getattr(local, name) != columns[name]:
            setattr(local, name, columns[name])
            changed = True
    report.updated += changed
    report.unchanged += not changed
