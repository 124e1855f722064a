"""People who sign in to the UI (tokens stored as sha256 hashes) and their invite links;
indexes for the workspace's hot path

- ix_tasks_claim_order: the claim's ORDER BY (priority DESC, id) within a project, worker
  kind and role, so SQLite finds the next task by walking an index instead of sorting every
  pending task (and running the claim's NOT EXISTS for each): 200 ms -> well under 1 ms
  with 100k pending human tasks (benchmarks/ui_latency.py). On PostgreSQL it is partial
  (open tasks only), so finished tasks are never walked past.
- ix_annotations_annotator: a person's own latest answers (the workspace's history).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invites_person_id"), ["person_id"], unique=False)
    op.create_index("ix_tasks_claim_order", "tasks",
                    ["project_id", "worker_kind", "role", sa.text("priority DESC"), "id",
                     "status"], unique=False,
                    postgresql_where=sa.text("status IN ('pending', 'leased')"))
    op.create_index("ix_annotations_annotator", "annotations", ["annotator_id", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_annotations_annotator", table_name="annotations")
    op.drop_index("ix_tasks_claim_order", table_name="tasks")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invites_person_id"))
    op.drop_table("invites")
    op.drop_table("people")
