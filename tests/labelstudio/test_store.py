"""Migration 0002: the Label Studio link tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from annotate.kinds.schema import LabelSchema
from annotate.store.engine import Store, current_revision, head_revision, table_names
from annotate.store.labelstudio_models import LabelStudioProject, LabelStudioTask
from annotate.store.models import Item
from tests.labelstudio.conftest import make_ls_project


def test_migration_creates_the_link_tables(store: Store) -> None:
    assert {"labelstudio_projects", "labelstudio_tasks"} <= set(table_names(store))
    assert current_revision(store) == head_revision(store)


def test_one_task_per_item_and_server_project(store: Store) -> None:
    [item] = make_ls_project(store, "p", LabelSchema(kind="text"), [("1", "t", {})])
    with store.session() as session:
        row = session.get(Item, item)
        assert row is not None
        session.add(LabelStudioProject(project_id=row.project_id, server="http://ls",
                                       ls_project_id=3))
        session.add(LabelStudioTask(project_id=row.project_id, item_id=item, server="http://ls",
                                    ls_project_id=3, ls_task_id=10, predictions={"a1": 5}))
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(LabelStudioTask(project_id=row.project_id, item_id=item, server="http://ls",
                                    ls_project_id=3, ls_task_id=11))
    with store.session() as session:
        [link] = session.query(LabelStudioTask).all()
        assert link.predictions == {"a1": 5}
