"""Claim indexes for a million items (#17 item 4).

At 1M items (benchmarks/million.py) the workspace's next task took 0.3-0.9 s:

- on SQLite, ix_tasks_claim_order held done tasks too (it was partial on PostgreSQL only), so
  the claim walked every done task of the project before the first open one; it is now
  partial on SQLite as well (the claim says ``status IN ('pending', 'leased')`` so both
  databases can use it);
- on PostgreSQL, the check that a person never fills two slots of one item (``NOT EXISTS``
  a task of theirs on the item) was planned as a scan of every task for ``lease_owner``;
  (lease_owner, item_id) answers it from an index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'leased')"
CLAIM_ORDER: list[str | sa.TextClause] = ["project_id", "worker_kind", "role", sa.text("priority DESC"), "id", "status"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_tasks_claim_order", table_name="tasks")
        op.create_index("ix_tasks_claim_order", "tasks", CLAIM_ORDER,
                        sqlite_where=sa.text(OPEN))
    op.create_index("ix_tasks_worker_items", "tasks", ["lease_owner", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_worker_items", table_name="tasks")
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_tasks_claim_order", table_name="tasks")
        op.create_index("ix_tasks_claim_order", "tasks", CLAIM_ORDER)
