"""Distinct, scored helper candidates (#19 items 1 and 2).

- suggestions.stats: how the Helper got its candidates (JSON): how many it was asked for and
  found, its calls, and how many candidates it dropped by reason (copy of the source,
  duplicate, text from the prompt, ...). NULL for suggestions made before this migration.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("stats", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("stats")
