"""Confidence you can route on (#18 items 1 and 2).

- annotations.confidence_estimator: how the confidence of an LLM answer was made
  (``verbalized``, ``logprob``, ``consistency``, ``distilled``); NULL for people and for rows
  written before this migration.
- annotations.confidence_raw: the estimator's signal before calibration (``confidence`` is
  the calibrated value once a calibrator applies).
- calibrators: fitted maps from raw signal to probability of a right answer, per project,
  model, estimator and guideline version (a new guideline version means a refit); versioned
  by id, the newest row of a key applies.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("confidence_estimator", sa.String(32), nullable=True))
        batch.add_column(sa.Column("confidence_raw", sa.Float(), nullable=True))
    op.create_table(
        "calibrators",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("estimator", sa.String(32), nullable=False),
        sa.Column("guideline_version", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("ece_raw", sa.Float(), nullable=True),
        sa.Column("ece_calibrated", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_calibrators_key", "calibrators",
                    ["project_id", "model", "estimator", "guideline_version", "id"])


def downgrade() -> None:
    op.drop_index("ix_calibrators_key", table_name="calibrators")
    op.drop_table("calibrators")
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("confidence_raw")
        batch.drop_column("confidence_estimator")
