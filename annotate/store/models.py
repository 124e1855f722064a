"""The data model (SQLAlchemy 2.x typed ORM). One schema for SQLite and PostgreSQL.

Times are naive UTC datetimes (``utcnow()``) so SQLite and PostgreSQL compare them alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Now as a naive UTC datetime (the one time format stored everywhere)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    schema_json: Mapped[dict[str, Any]] = mapped_column("schema", JSON)
    policy_json: Mapped[dict[str, Any]] = mapped_column("policy", JSON)
    budget_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    budget_overruns: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0",
        doc="calls that cost more than their reservation (a provider over max_tokens)")
    description: Mapped[str] = mapped_column(Text, default="")
    current_guideline_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GuidelineVersion(Base):
    """A versioned guideline: markdown that is both the people's instruction and the prompt."""

    __tablename__ = "guideline_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64), doc="content hash (sha256, 12 hex)")
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("project_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    annotations: Mapped[list[Annotation]] = relationship(back_populates="item")


class Task(Base):
    """One slot of work on an item for a kind of worker, claimed with a lease."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("item_id", "role", "worker_kind", "slot"),
        Index("ix_tasks_claim", "project_id", "status", "worker_kind", "role", "priority"),
        # migration 0003: the claim's ORDER BY, open tasks only on PostgreSQL
        Index("ix_tasks_claim_order", "project_id", "worker_kind", "role",
              text("priority DESC"), "id", "status",
              postgresql_where=text("status IN ('pending', 'leased')"),
              sqlite_where=text("status IN ('pending', 'leased')")),  # SQLite: 0012
        # migration 0012: "has this person a task on this item" without a scan (PostgreSQL)
        Index("ix_tasks_worker_items", "lease_owner", "item_id"),
        # migration 0004: claims across projects walk open tasks in claim order
        Index("ix_tasks_open_any", "worker_kind", text("priority DESC"), "id",
              postgresql_where=text("status IN ('pending', 'leased')"),
              sqlite_where=text("status IN ('pending', 'leased')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    worker_kind: Mapped[str] = mapped_column(String(16))
    slot: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Annotation(Base):
    """The one record shape for every answer, human or LLM, with its full provenance."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_annotator", "annotator_id", "id"),  # 0003
                      # 0011: `annotate status` counts answers by kind from the index alone
                      Index("ix_annotations_project_kind", "project_id", "annotator_kind",
                            "annotator_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True, nullable=True)
    annotator_id: Mapped[str] = mapped_column(String(200))
    annotator_kind: Mapped[str] = mapped_column(String(16), doc="human | llm")
    role: Mapped[str] = mapped_column(String(32), default="annotator")
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence_estimator: Mapped[str | None] = mapped_column(
        String(32), nullable=True, doc="verbalized | logprob | consistency | distilled (0008)")
    confidence_raw: Mapped[float | None] = mapped_column(
        Float, nullable=True, doc="the estimator's signal before calibration (0008)")
    guideline_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prompt_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    human_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    suggestion_visible: Mapped[bool] = mapped_column(Boolean, default=False)
    suggestion_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phase: Mapped[str] = mapped_column(String(16), default="final", doc="final | blind")
    source: Mapped[str] = mapped_column(String(32), default="queue")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    item: Mapped[Item] = relationship(back_populates="annotations")


class AnnotationRevision(Base):
    """An answer as it was before its author changed it from their history (0010); the
    annotation holds the current answer."""

    __tablename__ = "annotation_revisions"
    __table_args__ = (Index("ix_annotation_revisions_annotation", "annotation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"))
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    guideline_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    human_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    given_at: Mapped[datetime] = mapped_column(DateTime)
    replaced_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    replaced_by: Mapped[str] = mapped_column(String(200))


class Suggestion(Base):
    """Candidates the Helper prepared for an item, for people to choose from, edit or reject."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    candidates: Mapped[list[Any]] = mapped_column(JSON, doc="[{value, text, score}]")
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    guideline_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prompt_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stats: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, nullable=True, doc="asked, found, calls, dropped by reason (0009)")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Report(Base):
    """The result of a whole-project run (e.g. a pilot), as JSON, with where its files went."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_project_kind", "project_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Calibrator(Base):
    """A fitted map from an estimator's raw confidence to the probability of a right answer,
    per project, model, estimator and guideline version; the newest row of a key applies."""

    __tablename__ = "calibrators"
    __table_args__ = (Index("ix_calibrators_key", "project_id", "model", "estimator",
                            "guideline_version", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    estimator: Mapped[str] = mapped_column(String(32))
    guideline_version: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16), doc="isotonic | platt")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    n: Mapped[int] = mapped_column(Integer, doc="labelled answers it was fitted on")
    ece_raw: Mapped[float | None] = mapped_column(Float, nullable=True)
    ece_calibrated: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ProjectCount(Base):
    """A project's items, tasks by (role, status) and answers by annotator kind, kept by
    database triggers (migration 0013; ``annotate status`` sums ``n`` per key). On SQLite one
    row per key (the index is unique there); on PostgreSQL delta rows the triggers fold."""

    __tablename__ = "project_counts"
    __table_args__ = (Index("ix_project_counts_key", "project_id", "what", "k1", "k2"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer, doc="no FK: a project's rows go with it")
    what: Mapped[str] = mapped_column(String(16), doc="items | tasks | annotations")
    k1: Mapped[str] = mapped_column(String(32), doc="a task's role, an answer's kind, or ''")
    k2: Mapped[str] = mapped_column(String(16), doc="a task's status, or ''")
    n: Mapped[int] = mapped_column(BigInteger)


class LLMCall(Base):
    """Ledger of every model call: tokens, cost, latency, cache hit, outcome with raw text."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64), index=True)
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(16), doc="ok | invalid | error")
    error_kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(
        DateTime, nullable=True, doc="a pending reservation counts against the budget until")
    overrun_usd: Mapped[float] = mapped_column(
        Float, default=0.0, server_default="0", doc="cost above the call's reservation")
