"""Access that holds: per-project membership, server-side sign-in sessions and the one-time
setup token for the first owner.

- project_members: which people may see and work on which project (owners see all). On
  upgrade every existing person becomes a member of every existing project, so an upgrade
  locks nobody out; projects created later start with no members but the owners.
- sign_in_sessions: a browser's signed-in session (sha256 of its id; expires; deleted on
  sign-out).
- setup_tokens: the one-time token `annotate ui` prints while there is no owner (sha256;
  expires; used once).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.Integer(),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("person_id", sa.Integer(),
                  sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_project_members_person", "project_members", ["person_id"])
    op.create_table(
        "sign_in_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(),
                  sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_sign_in_sessions_person", "sign_in_sessions", ["person_id"])
    op.create_table(
        "setup_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    # nobody is locked out by the upgrade: everyone keeps every project they could see
    op.execute(sa.text(
        "INSERT INTO project_members (project_id, person_id, created_by, created_at) "
        "SELECT projects.id, people.id, 'migration 0006', CURRENT_TIMESTAMP "
        "FROM projects CROSS JOIN people"))


def downgrade() -> None:
    op.drop_table("setup_tokens")
    op.drop_index("ix_sign_in_sessions_person", table_name="sign_in_sessions")
    op.drop_table("sign_in_sessions")
    op.drop_index("ix_project_members_person", table_name="project_members")
    op.drop_table("project_members")
