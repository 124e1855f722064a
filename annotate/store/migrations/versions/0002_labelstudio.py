"""Label Studio links: project <-> LS project, item <-> LS task (with pushed predictions)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labelstudio_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(length=500), nullable=False),
        sa.Column("ls_project_id", sa.Integer(), nullable=False),
        sa.Column("guideline_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("pushed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "server"),
    )
    op.create_table(
        "labelstudio_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(length=500), nullable=False),
        sa.Column("ls_project_id", sa.Integer(), nullable=False),
        sa.Column("ls_task_id", sa.Integer(), nullable=False),
        sa.Column("predictions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("server", "ls_project_id", "item_id"),
        sa.UniqueConstraint("server", "ls_task_id"),
    )
    with op.batch_alter_table("labelstudio_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labelstudio_tasks_project_id"), ["project_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_labelstudio_tasks_item_id"), ["item_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("labelstudio_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labelstudio_tasks_item_id"))
        batch_op.drop_index(batch_op.f("ix_labelstudio_tasks_project_id"))
    op.drop_table("labelstudio_tasks")
    op.drop_table("labelstudio_projects")
