"""Tracking codes: an index, not a UNIQUE constraint (a 100-bit code is a lookup key; the full ballot
hash is the unique one).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("cast_ballots", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_cast_ballots_tracking_code"), type_="unique")
        batch_op.create_index(batch_op.f("ix_cast_ballots_tracking_code"), ["tracking_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cast_ballots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cast_ballots_tracking_code"))
        batch_op.create_unique_constraint(batch_op.f("uq_cast_ballots_tracking_code"), ["tracking_code"])
