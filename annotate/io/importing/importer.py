"""``import_file``: read a file, validate every row, store it all in one transaction.

Read (format-specific, streaming) -> validate (against the project's schema) -> write
(batched inserts, then the policy's tasks). The first bad row stops the import, nothing is
stored, and :class:`~annotate.errors.InvalidInput` says ``FILE:LINE: what is wrong``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from annotate.errors import InvalidInput
from annotate.io.importing.context import ReadContext
from annotate.io.importing.fast_path import FAST_FORMATS, NotFast, read_fast, store_fast
from annotate.io.importing.formats import Reader, detect_format, load_reader
from annotate.io.importing.records import RowError, check_record
from annotate.io.importing.schema_extension import save_widened
from annotate.io.importing.writer import BatchWriter
from annotate.projects.catalog import get_project, project_policy, project_schema
from annotate.store.engine import Store
from annotate.store.models import Project

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class ImportResult:
    """What one import stored, and the answers it left out on purpose (e.g. empty labels)."""

    format: str
    items: int
    annotations: int
    tasks: int
    skipped: int = 0
    notes: list[str] = field(default_factory=list)  # the first few, as FILE:LINE: what
    labels_added: list[str] = field(default_factory=list)  # by extend_schema


def import_file(
    target: Store | Session,
    project: Project | str,
    path: str | os.PathLike[str],
    *,
    fmt: str = "auto",
    plan_tasks: bool = True,
    on_progress: ProgressCallback | None = None,
    batch_size: int = 2000,
    extend_schema: bool = False,
    fast: bool = True,
) -> ImportResult:
    """Import ``path`` into ``project`` (a Project or its name) all or nothing.

    ``target`` is a Store (the import is its own transaction) or a Session (the import runs
    in a savepoint of the caller's transaction). ``fmt`` is ``"auto"`` or a format name
    (:data:`annotate.io.importing.FORMATS`, or one a plugin registers). ``on_progress(n)`` is
    called after each batch with the number of items stored so far. With ``extend_schema``
    labels the answers use that the schema lacks are added to it (a new guideline version
    lists them: :mod:`annotate.io.importing.schema_extension`) instead of refused. Plain
    CSV and JSONL files go by :mod:`annotate.io.importing.fast_path` when it can read them
    exactly; ``fast=False`` always takes the row path (the same items and tasks, slower).
    """
    if fmt != "auto":
        load_reader(fmt)  # an unknown format or a broken plugin fails before any work
    source = Path(path)
    run = _Run(source, fmt, load_reader, plan_tasks, on_progress, batch_size, extend_schema,
               fast)
    if isinstance(target, Store):
        with target.session() as session:
            return run(session, project)
    with target.begin_nested():
        return run(target, project)


@dataclass(frozen=True)
class _Run:
    path: Path
    fmt: str
    reader: Callable[[str], Reader]  # only the chosen format's plugin is ever loaded
    plan_tasks: bool
    on_progress: ProgressCallback | None
    batch_size: int
    extend_schema: bool = False
    fast: bool = True

    def __call__(self, session: Session, project: Project | str) -> ImportResult:
        if isinstance(project, str):
            project = get_project(session, project)
        else:
            project = session.get_one(Project, project.id)
        ctx = ReadContext(path=self.path, schema=project_schema(project))
        try:
            return self._import(session, project, ctx)
        except RowError as exc:
            raise InvalidInput(f"{self.path}:{ctx.place(exc.line)}: {exc.message}") from None
        except OSError as exc:
            raise InvalidInput(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        except (IntegrityError, DataError) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise InvalidInput(f"{self.path}: the database refused the rows: {reason}") from None

    def _import(self, session: Session, project: Project, ctx: ReadContext) -> ImportResult:
        fmt = detect_format(self.path, ctx.schema) if self.fmt == "auto" else self.fmt
        if self.fast and fmt in FAST_FORMATS:
            fast = self._import_fast(session, project, ctx, fmt)
            if fast is not None:
                return fast
        writer = BatchWriter(session, project, ctx.schema, project_policy(project),
                             plan_tasks=self.plan_tasks, batch_size=self.batch_size,
                             on_progress=self.on_progress, extend_schema=self.extend_schema)
        with self.path.open("rb") as stream:
            for record in self.reader(fmt)(stream, ctx):
                check_record(record)
                writer.add(record)
        writer.finish()
        if writer.items == 0:
            raise RowError(1, "no items in the file")
        if writer.labels_added:
            save_widened(session, project, writer.schema, writer.labels_added, self.path.name)
        return ImportResult(format=fmt, items=writer.items, annotations=writer.annotations,
                            tasks=writer.tasks, skipped=ctx.skipped.count,
                            notes=[f"{self.path}:{ctx.place(line)}: {what}"
                                   for line, what in ctx.skipped.notes],
                            labels_added=list(writer.labels_added))

    def _import_fast(self, session: Session, project: Project, ctx: ReadContext,
                     fmt: str) -> ImportResult | None:
        """The import by :mod:`.fast_path`, or None when the file needs the row path."""
        try:
            columns = read_fast(ctx, fmt)
            stored = store_fast(session, project, project_policy(project), columns,
                                plan_tasks=self.plan_tasks, batch_size=self.batch_size,
                                on_progress=self.on_progress)
        except NotFast:
            return None
        return ImportResult(format=fmt, items=stored.items, annotations=0, tasks=stored.tasks)
