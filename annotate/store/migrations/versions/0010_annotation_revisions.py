"""Earlier versions of an answer a person changed from their history (#16 item 3).

- annotation_revisions: one row per change: the answer as it was (value, guideline version,
  seconds, when it was given) and when and by whom it was replaced. The annotation itself
  keeps the current answer, so every reader (agreement, export, routing) counts it once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annotation_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("annotation_id", sa.Integer(),
                  sa.ForeignKey("annotations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("guideline_version", sa.String(64), nullable=True),
        sa.Column("human_seconds", sa.Float(), nullable=True),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(), nullable=False),
        sa.Column("replaced_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_annotation_revisions_annotation", "annotation_revisions",
                    ["annotation_id"])


def downgrade() -> None:
    op.drop_index("ix_annotation_revisions_annotation", "annotation_revisions")
    op.drop_table("annotation_revisions")
