"""A budget that holds under faults: reservations expire, overruns are recorded.

- llm_calls.expires_at: a ``pending`` row (a budget reservation) counts against the budget
  only until then; the gateway pushes it forward while the call is in flight, so the
  reservation of a killed worker is freed after the reservation TTL. Reservations left by
  workers that died before this migration are expired at once.
- llm_calls.overrun_usd: what a call cost above its reservation (a provider that reported
  more tokens than ``max_tokens`` allows).
- projects.budget_overruns: how many calls overran, read with the budget under its lock, so
  every process of a run stops after the first overrun.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("overrun_usd", sa.Float(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("budget_overruns", sa.Integer(), nullable=False,
                                   server_default="0"))
    # pending rows written before expiry existed belong to workers that are gone
    op.execute(sa.text("UPDATE llm_calls SET expires_at = created_at WHERE outcome = 'pending'"))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("budget_overruns")
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("overrun_usd")
        batch.drop_column("expires_at")
