"""Project services: create, find, list, policy, guideline versions and status."""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.errors import Conflict, InvalidInput, NotFound
from annotate.kinds.schema import LabelSchema
from annotate.names import check_project_name
from annotate.projects.policy import RoutingPolicy, default_policy, first_error
from annotate.projects.status_queries import ledger_totals, session_rows, status_counts
from annotate.store.models import GuidelineVersion, Project


def create_project(
    session: Session,
    name: str,
    schema: LabelSchema,
    *,
    policy: RoutingPolicy | None = None,
    guideline: str | None = None,
    budget_usd: float | None = None,
    description: str = "",
) -> Project:
    """Create a project with its schema, policy and first guideline version."""
    if budget_usd is not None and not (math.isfinite(budget_usd) and budget_usd >= 0):
        raise InvalidInput(f"the budget must be a finite number of USD, 0 or more, "
                           f"not {budget_usd}")
    check_project_name(name)
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise Conflict(f"a project named {name!r} already exists")
    project = Project(
        name=name,
        kind=schema.kind,
        schema_json=schema.model_dump(mode="json"),
        policy_json=(policy or default_policy(schema.kind)).model_dump(mode="json"),
        budget_usd=budget_usd,
        description=description,
    )
    session.add(project)
    session.flush()
    from guidelines.document import default_guideline

    save_guideline(session, project, guideline or default_guideline(name, schema), note="initial")
    return project


def get_project(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        known = session.scalars(select(Project.name).order_by(Project.name).limit(10)).all()
        hint = (f" (known: {', '.join(known)})" if known
                else " (no projects yet: annotate project create)")
        raise NotFound(f"no project named {name!r}{hint}")
    return project


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.name)))


def project_schema(project: Project) -> LabelSchema:
    return LabelSchema.model_validate(project.schema_json)


def project_policy(project: Project) -> RoutingPolicy:
    """The stored policy; one stored before its fields had bounds is refused with a fix."""
    try:
        return RoutingPolicy.model_validate(project.policy_json)
    except ValidationError as exc:
        raise InvalidInput(f"the stored policy of project {project.name!r} is invalid "
                           f"({first_error(exc, 'policy')}); replace it: annotate policy set "
                           "NAME FILE") from None


def guideline_hash(content: str) -> str:
    """A guideline's version id: the first 12 hex digits of its content's sha256."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]


def save_guideline(
    session: Session, project: Project, content: str, *, note: str = "", author: str = ""
) -> GuidelineVersion:
    """Store a new guideline version (or return the existing one with the same content)."""
    version = guideline_hash(content)
    existing = session.scalar(
        select(GuidelineVersion).where(
            GuidelineVersion.project_id == project.id, GuidelineVersion.version == version
        )
    )
    if existing is None:
        number = (
            session.scalar(
                select(func.max(GuidelineVersion.number)).where(
                    GuidelineVersion.project_id == project.id
                )
            )
            or 0
        ) + 1
        existing = GuidelineVersion(
            project_id=project.id,
            version=version,
            number=number,
            content=content,
            note=note,
            created_by=author,
        )
        session.add(existing)
        session.flush()
    project.current_guideline_id = existing.id
    session.flush()
    return existing


def current_guideline(session: Session, project: Project) -> GuidelineVersion:
    gid = project.current_guideline_id
    guideline = session.get(GuidelineVersion, gid) if gid is not None else None
    if guideline is None:
        raise NotFound(f"project {project.name!r} has no guideline")
    return guideline


@dataclass
class ProjectStatus:
    name: str
    kind: str
    items: int
    tasks: dict[str, int] = field(default_factory=dict)
    tasks_by_role: dict[str, dict[str, int]] = field(default_factory=dict)
    annotations: dict[str, int] = field(default_factory=dict)
    llm_calls: int = 0
    cost_usd: float = 0.0
    budget_usd: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_status(session: Session, project: Project) -> ProjectStatus:
    """Items, tasks by state (and by role), annotations by annotator kind, cost so far (the
    SQL in :mod:`annotate.projects.status_queries`, shared with `status --json`'s quick path)."""
    counts = status_counts(session_rows(session), project.id)
    return ProjectStatus(name=project.name, kind=project.kind, budget_usd=project.budget_usd,
                         **counts)


def ledger_summary(session: Session, project_id: int) -> dict[str, float]:
    """The project's LLM ledger: calls made (cache hits apart), their cost and tokens, cache
    hits, and calls that failed or gave invalid output. The one place the ledger is summed."""
    return ledger_totals(session_rows(session), project_id)
