"""Partial index for claims that are not filtered by project (open tasks only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'leased')"


def upgrade() -> None:
    op.create_index("ix_tasks_open_any", "tasks",
                    ["worker_kind", sa.text("priority DESC"), "id"], unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("ix_tasks_open_any", table_name="tasks")
