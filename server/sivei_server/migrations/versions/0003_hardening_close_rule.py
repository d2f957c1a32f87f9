"""Hardening (issue 7): the session that cast a ballot (receipt retries), the reason of a late ballot.

Revision ID: 0003_hardening_close_rule
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_hardening_close_rule"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cast_ballot", sa.String(length=64), nullable=True))
    with op.batch_alter_table("late_ballots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=8), nullable=False, server_default="tarde"))


def downgrade() -> None:
    with op.batch_alter_table("late_ballots", schema=None) as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("cast_ballot")
