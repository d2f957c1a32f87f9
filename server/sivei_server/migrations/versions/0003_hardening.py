"""Hardening (issue 7): the session that cast a ballot (receipt retries), the reason of a late ballot,
voters' random usernames (existing voters get one here).

Revision ID: 0003_hardening
Revises: 0002
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

revision: str = "0003_hardening"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cast_ballot", sa.String(length=64), nullable=True))
    with op.batch_alter_table("late_ballots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=8), nullable=False, server_default="tarde"))
    with op.batch_alter_table("voters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    voters = sa.table("voters", sa.column("voter_id", sa.String), sa.column("username", sa.String))
    for (voter_id,) in conn.execute(sa.select(voters.c.voter_id)).all():
        name = "".join(secrets.choice(_CROCKFORD) for _ in range(10))
        conn.execute(voters.update().where(voters.c.voter_id == voter_id).values(username=name))
    with op.batch_alter_table("voters", schema=None) as batch_op:
        batch_op.alter_column("username", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_voters_username"), ["username"])


def downgrade() -> None:
    with op.batch_alter_table("voters", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_voters_username"), type_="unique")
        batch_op.drop_column("username")
    with op.batch_alter_table("late_ballots", schema=None) as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("cast_ballot")
