"""Where the platform keeps track of what it pushed to a Label Studio server.

- :class:`LabelStudioProject`: project <-> Label Studio project, per server.
- :class:`LabelStudioTask`: item <-> Label Studio task, with the predictions pushed for it
  (``predictions`` maps a local key, ``a<annotation id>`` or ``s<suggestion id>:<index>``,
  to the Label Studio prediction id, ``None`` until it is known).

The tables are created by migration 0002 (``annotate/store/migrations/versions``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from annotate.store.models import Base, utcnow


class LabelStudioProject(Base):
    __tablename__ = "labelstudio_projects"
    __table_args__ = (UniqueConstraint("project_id", "server"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    server: Mapped[str] = mapped_column(String(500), doc="normalised base URL")
    ls_project_id: Mapped[int] = mapped_column(Integer)
    guideline_version: Mapped[str | None] = mapped_column(String(64), nullable=True,
                                                          doc="shown as the instructions")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    pushed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LabelStudioTask(Base):
    __tablename__ = "labelstudio_tasks"
    __table_args__ = (
        UniqueConstraint("server", "ls_project_id", "item_id"),
        UniqueConstraint("server", "ls_task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    server: Mapped[str] = mapped_column(String(500))
    ls_project_id: Mapped[int] = mapped_column(Integer)
    ls_task_id: Mapped[int] = mapped_column(Integer)
    predictions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
