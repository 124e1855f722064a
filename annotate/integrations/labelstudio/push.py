"""Push a project to Label Studio: the labeling config, the items as tasks, the LLM answers as
predictions. Idempotent: pushing again creates only what is missing.

- The item <-> task links live in ``labelstudio_tasks``; each link records the predictions
  pushed for its task, keyed ``a<annotation id>`` (an LLM annotator's answer) or
  ``s<suggestion id>:<n>`` (the Helper's n-th candidate, for text projects).
- Predictions are imported in bulk, so their ids are learned afterwards by matching
  (task, model_version, result) against Label Studio's list; the same matching adopts a
  prediction (or a task, by its ``annotate_item_id``) that an interrupted push already sent.
- Network calls happen outside database transactions (no lock is held while waiting).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.client import (
    ConfigMismatch,
    LabelStudioError,
    LabelStudioServer,
    connect,
)
from annotate.integrations.labelstudio.config import config_signature, labeling_config
from annotate.integrations.labelstudio.convert import LabelStudioCheck, task_data, to_result
from annotate.kinds.optional import candidate_value
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import current_guideline, get_project, project_schema
from annotate.store.engine import Store
from annotate.store.labelstudio_models import LabelStudioProject, LabelStudioTask
from annotate.store.models import Annotation, Item, Suggestion, utcnow

Progress = Callable[[int, int], None]
PredictionIndex = dict[tuple[int, str, str], list[int]]


@dataclass
class PushReport:
    server: str
    ls_project_id: int
    project_created: bool = False
    tasks_created: int = 0
    tasks_existing: int = 0
    predictions_created: int = 0
    predictions_existing: int = 0
    invalid: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedPrediction:
    key: str
    result: list[dict[str, Any]]
    score: float | None
    model_version: str

    def match_key(self, ls_task_id: int) -> tuple[int, str, str]:
        return (ls_task_id, self.model_version, canonical(self.result))


@dataclass(frozen=True)
class _Project:
    id: int
    name: str
    description: str
    schema: LabelSchema
    config: str
    guideline: str
    guideline_version: str
    check: LabelStudioCheck


def canonical(result: Any) -> str:
    return json.dumps(result, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def model_version(model: str | None, guideline_version: str | None, prefix: str = "") -> str:
    """``model@guideline`` (what Label Studio groups predictions by)."""
    return f"{prefix}{model or 'unknown-model'}@{guideline_version or 'no-guideline'}"


def plan_predictions(
    schema: LabelSchema, text: str, annotations: Iterable[Annotation],
    suggestion: Suggestion | None, check: LabelStudioCheck,
) -> tuple[list[PlannedPrediction], list[tuple[str, str]]]:
    """The predictions an item should carry, and the answers that failed validation."""
    planned: list[PlannedPrediction] = []
    invalid: list[tuple[str, str]] = []
    for ann in annotations:
        key = f"a{ann.id}"
        try:
            result = check.check(to_result(schema, ann.value, text))
        except InvalidInput as exc:
            invalid.append((key, str(exc)))
            continue
        planned.append(PlannedPrediction(key, result, ann.confidence,
                                         model_version(ann.model, ann.guideline_version)))
    to_value = candidate_value(schema)  # None: the kind's config takes no candidates
    if suggestion is not None and to_value is not None:
        version = model_version(suggestion.model, suggestion.guideline_version, "helper:")
        for index, candidate in enumerate(suggestion.candidates):
            key = f"s{suggestion.id}:{index}"
            try:
                result = check.check(
                    to_result(schema, to_value(_candidate_text(candidate)), text))
            except InvalidInput as exc:
                invalid.append((key, str(exc)))
                continue
            score = candidate.get("score") if isinstance(candidate, dict) else None
            planned.append(PlannedPrediction(key, result, score, version))
    return planned, invalid


def _candidate_text(candidate: Any) -> str:
    if isinstance(candidate, dict):
        return str(candidate.get("text") or candidate.get("value") or "")
    return str(candidate)


def candidate_texts(suggestion: Suggestion | None) -> list[str]:
    return [_candidate_text(c) for c in suggestion.candidates] if suggestion else []


def push(
    store: Store, project: str, url: str, token: str, ls_project: int | None = None,
    on_progress: Progress | None = None, *, batch_size: int = 100,
) -> PushReport:
    """Create or update the Label Studio project and bring its tasks and predictions up to date."""
    client = connect(url, token)
    info = _load_project(store, project)
    ls_pid, created = _ensure_ls_project(store, client, info, ls_project)
    report = PushReport(server=client.server, ls_project_id=ls_pid, project_created=created)
    with store.session() as session:
        item_ids = list(session.scalars(
            select(Item.id).where(Item.project_id == info.id).order_by(Item.id)))
    adoptable = {} if created else _adoptable_tasks(store, client, info, ls_pid)
    index = {} if created else index_predictions(client.list_predictions(ls_pid))
    for start in range(0, len(item_ids), batch_size):
        batch = item_ids[start:start + batch_size]
        _push_batch(store, client, info, ls_pid, batch, adoptable, index, report)
        if on_progress:
            on_progress(min(start + batch_size, len(item_ids)), len(item_ids))
    _learn_prediction_ids(store, client, info, ls_pid)
    return report


def _load_project(store: Store, name: str) -> _Project:
    with store.session() as session:
        project = get_project(session, name)
        schema = project_schema(project)
        guideline = current_guideline(session, project)
        config = labeling_config(schema)
        return _Project(project.id, project.name, project.description, schema, config,
                        guideline.content, guideline.version, LabelStudioCheck(config))


def _ensure_ls_project(store: Store, client: LabelStudioServer, info: _Project,
                       ls_project: int | None) -> tuple[int, bool]:
    """The Label Studio project to push into, created or brought to the current config."""
    with store.session() as session:
        link = _link(session, info.id, client.server)
        target = ls_project if ls_project is not None else (link.ls_project_id if link else None)
    fields = {"label_config": info.config, "expert_instruction": info.guideline,
              "show_instruction": True}
    current = _existing(client, target, forgive_missing=ls_project is None)
    if current is None:
        if target is not None:  # the project we linked to was deleted in Label Studio
            _forget_tasks(store, client.server, target)
        target = client.create_project(title=info.name[:50], description=info.description,
                                       **fields)
    else:
        assert target is not None
        if config_signature(str(current.get("label_config") or "")) != config_signature(
                info.config):
            reason = client.check_config(target, info.config)
            if reason:
                raise ConfigMismatch(f"Label Studio project {target} cannot take the labeling "
                                     f"config of {info.name!r}: {reason}")
        client.update_project(target, **fields)
    with store.session() as session:
        link = _link(session, info.id, client.server)
        if link is None:
            link = LabelStudioProject(project_id=info.id, server=client.server,
                                      ls_project_id=target)
            session.add(link)
        link.ls_project_id = target
        link.guideline_version = info.guideline_version
        link.pushed_at = utcnow()
    return target, current is None


def _existing(client: LabelStudioServer, target: int | None,
              forgive_missing: bool) -> dict[str, Any] | None:
    if target is None:
        return None
    try:
        return client.get_project(target)
    except LabelStudioError as exc:
        if exc.status == 404 and forgive_missing:
            return None
        raise


def _forget_tasks(store: Store, server: str, ls_pid: int) -> None:
    with store.session() as session:
        session.execute(delete(LabelStudioTask).where(LabelStudioTask.server == server,
                                                      LabelStudioTask.ls_project_id == ls_pid))


def _link(session: Session, project_id: int, server: str) -> LabelStudioProject | None:
    return session.scalar(select(LabelStudioProject).where(
        LabelStudioProject.project_id == project_id, LabelStudioProject.server == server))


def _adoptable_tasks(store: Store, client: LabelStudioServer, info: _Project,
                     ls_pid: int) -> dict[int, int]:
    """Item id -> task id for tasks Label Studio has but the links lack (an interrupted push)."""
    with store.session() as session:
        linked = session.scalar(select(func.count()).select_from(LabelStudioTask).where(
            LabelStudioTask.server == client.server, LabelStudioTask.ls_project_id == ls_pid))
    if int(client.get_project(ls_pid).get("task_number") or 0) <= int(linked or 0):
        return {}
    found: dict[int, int] = {}
    for task in client.iter_tasks(ls_pid):
        item_id = (task.get("data") or {}).get("annotate_item_id")
        if isinstance(item_id, int):
            found.setdefault(item_id, int(task["id"]))
    return found


def index_predictions(predictions: Iterable[dict[str, Any]]) -> PredictionIndex:
    """(task, model_version, result) -> prediction ids, oldest first."""
    index: PredictionIndex = defaultdict(list)
    for pred in sorted(predictions, key=lambda p: int(p["id"])):
        key = (int(pred["task"]), str(pred.get("model_version") or ""),
               canonical(pred.get("result") or []))
        index[key].append(int(pred["id"]))
    return index


@dataclass
class _Planned:
    item_id: int
    data: dict[str, Any]
    predictions: list[PlannedPrediction]


def _plan_batch(session: Session, info: _Project, item_ids: Sequence[int],
                report: PushReport) -> list[_Planned]:
    items = session.scalars(select(Item).where(Item.id.in_(item_ids)).order_by(Item.id)).all()
    answers: dict[int, list[Annotation]] = defaultdict(list)
    for ann in session.scalars(select(Annotation).where(
            Annotation.item_id.in_(item_ids), Annotation.annotator_kind == "llm",
            Annotation.role == "annotator").order_by(Annotation.id)):
        answers[ann.item_id].append(ann)
    suggestions: dict[int, Suggestion] = {}
    if candidate_value(info.schema) is not None:
        for found in session.scalars(select(Suggestion).where(
                Suggestion.item_id.in_(item_ids)).order_by(Suggestion.id)):
            suggestions[found.item_id] = found  # the newest wins
    planned = []
    for item in items:
        sug: Suggestion | None = suggestions.get(item.id)
        preds, invalid = plan_predictions(info.schema, item.text, answers[item.id], sug,
                                          info.check)
        report.invalid.extend(invalid)
        data = task_data(info.schema, item.id, item.external_id, item.text, item.data,
                         candidate_texts(sug))
        planned.append(_Planned(item.id, data, preds))
    return planned


def _push_batch(store: Store, client: LabelStudioServer, info: _Project, ls_pid: int,
                item_ids: Sequence[int], adoptable: dict[int, int], index: PredictionIndex,
                report: PushReport) -> None:
    """Push one batch: create missing tasks, send missing predictions, save the links."""
    with store.session() as session:
        planned = _plan_batch(session, info, item_ids, report)
        links = {row.item_id: (row.ls_task_id, dict(row.predictions)) for row in session.scalars(
            select(LabelStudioTask).where(LabelStudioTask.server == client.server,
                                          LabelStudioTask.ls_project_id == ls_pid,
                                          LabelStudioTask.item_id.in_(item_ids)))}
    new = [p for p in planned if p.item_id not in links and p.item_id not in adoptable]
    report.tasks_existing += len(planned) - len(new)
    task_ids = dict(zip([p.item_id for p in new],
                        client.import_tasks(ls_pid, [{"data": p.data} for p in new]) if new else [],
                        strict=True))
    report.tasks_created += len(new)
    task_of = {p.item_id: (links[p.item_id] if p.item_id in links else
                           (adoptable.get(p.item_id) or task_ids[p.item_id], {}))
               for p in planned}
    to_send, updates = _missing_predictions(planned, task_of, index, report)
    if to_send:
        client.import_predictions(ls_pid, to_send)
        report.predictions_created += len(to_send)
    _save_links(store, info, client.server, ls_pid, updates)


def _missing_predictions(
    planned: Sequence[_Planned], task_of: dict[int, tuple[int, dict[str, Any]]],
    index: PredictionIndex, report: PushReport,
) -> tuple[list[dict[str, Any]], dict[int, tuple[int, dict[str, Any]]]]:
    """The predictions to send, and each item's (task, pushed predictions) afterwards.

    A prediction already recorded, or found in Label Studio with the same task, model
    version and result (sent by an interrupted push), is not sent again.
    """
    to_send: list[dict[str, Any]] = []
    updates: dict[int, tuple[int, dict[str, Any]]] = {}
    for plan in planned:
        task_id, known = task_of[plan.item_id]
        for pred in plan.predictions:
            same = index.get(pred.match_key(task_id)) if pred.key not in known else None
            if pred.key in known or same:
                known.setdefault(pred.key, same.pop(0) if same else None)
                report.predictions_existing += 1
                continue
            known[pred.key] = None
            to_send.append({"task": task_id, "result": pred.result, "score": pred.score,
                            "model_version": pred.model_version})
        updates[plan.item_id] = (task_id, known)
    return to_send, updates


def _save_links(store: Store, info: _Project, server: str, ls_pid: int,
                updates: dict[int, tuple[int, dict[str, Any]]]) -> None:
    with store.session() as session:
        rows = {row.item_id: row for row in session.scalars(select(LabelStudioTask).where(
            LabelStudioTask.server == server, LabelStudioTask.ls_project_id == ls_pid,
            LabelStudioTask.item_id.in_(list(updates))))}
        for item_id, (task_id, predictions) in updates.items():
            row = rows.get(item_id)
            if row is None:
                session.add(LabelStudioTask(project_id=info.id, item_id=item_id, server=server,
                                            ls_project_id=ls_pid, ls_task_id=task_id,
                                            predictions=predictions))
            else:
                row.predictions = predictions


def _learn_prediction_ids(store: Store, client: LabelStudioServer, info: _Project,
                          ls_pid: int) -> None:
    """Fill in the ids of predictions sent in bulk by matching Label Studio's list."""
    with store.session() as session:
        rows = session.scalars(select(LabelStudioTask).where(
            LabelStudioTask.server == client.server,
            LabelStudioTask.ls_project_id == ls_pid)).all()
        if not any(None in row.predictions.values() for row in rows):
            return
    index = index_predictions(client.list_predictions(ls_pid))
    with store.session() as session:
        rows = session.scalars(select(LabelStudioTask).where(
            LabelStudioTask.server == client.server,
            LabelStudioTask.ls_project_id == ls_pid)).all()
        taken = {pid for row in rows for pid in row.predictions.values() if pid is not None}
        for ids in index.values():
            ids[:] = [i for i in ids if i not in taken]
        pending = [row for row in rows if None in row.predictions.values()]
        planned = {p.item_id: p for p in _plan_batch(
            session, info, [row.item_id for row in pending], PushReport(client.server, ls_pid))}
        for row in pending:
            preds = {p.key: p for p in planned[row.item_id].predictions}
            updated: dict[str, Any] = {}
            for key, pid in row.predictions.items():
                if pid is not None:
                    updated[key] = pid
                elif key in preds:  # an answer deleted here since is forgotten
                    same = index.get(preds[key].match_key(row.ls_task_id))
                    updated[key] = same.pop(0) if same else None
            row.predictions = updated
