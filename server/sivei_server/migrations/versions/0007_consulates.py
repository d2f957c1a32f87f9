"""In-person voting at consulates (issue 10 item 3): the roll's consulate and keyed voter-ID hash, the
consulate staff role, kiosks, the people each consulate served, and one-time kiosk sessions.

Revision ID: 0007_consulates
Revises: 0006_practice_console_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_consulates"
down_revision: str | None = "0006_practice_console_retention"
branch_labels: str | None = None
depends_on: str | None = None

_ROLES_BEFORE = "role IN ('administrador', 'observador', 'soporte')"
_ROLES_AFTER = "role IN ('administrador', 'observador', 'soporte', 'consulado')"


def upgrade() -> None:
    with op.batch_alter_table("voters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consulate", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("card_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_voters_card_hash"), ["card_hash"])
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consulate", sa.String(length=8), nullable=True))
        batch_op.drop_constraint(op.f("ck_operators_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_operators_role"), _ROLES_AFTER)
    op.create_table(
        "kiosks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consulate", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enrolled_by", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["enrolled_by"], ["operators.id"], name=op.f("fk_kiosks_enrolled_by_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosks")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_kiosks_token_hash")),
    )
    op.create_index(op.f("ix_kiosks_consulate"), "kiosks", ["consulate"], unique=False)
    op.create_table(
        "consulate_served",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consulate", sa.String(length=8), nullable=False),
        sa.Column("voter_id", sa.String(length=64), nullable=True),
        sa.Column("card_hash", sa.String(length=64), nullable=True),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("voted", sa.Boolean(), nullable=False),
        sa.CheckConstraint("(voter_id IS NULL AND card_hash IS NOT NULL) OR "
                           "(voter_id IS NOT NULL AND card_hash IS NULL)",
                           name=op.f("ck_consulate_served_who")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"],
                                name=op.f("fk_consulate_served_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consulate_served")),
        sa.UniqueConstraint("voter_id", name=op.f("uq_consulate_served_voter_id")),
        sa.UniqueConstraint("card_hash", name=op.f("uq_consulate_served_card_hash")),
    )
    op.create_index(op.f("ix_consulate_served_consulate"), "consulate_served", ["consulate"], unique=False)
    op.create_table(
        "kiosk_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=False),
        sa.Column("served_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cast_ballot", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.id"], name=op.f("fk_kiosk_sessions_kiosk_id_kiosks")),
        sa.ForeignKeyConstraint(["served_id"], ["consulate_served.id"],
                                name=op.f("fk_kiosk_sessions_served_id_consulate_served")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_sessions")),
        sa.UniqueConstraint("kiosk_id", name=op.f("uq_kiosk_sessions_kiosk_id")),
        sa.UniqueConstraint("served_id", name=op.f("uq_kiosk_sessions_served_id")),
    )


def downgrade() -> None:
    op.drop_table("kiosk_sessions")
    op.drop_index(op.f("ix_consulate_served_consulate"), table_name="consulate_served")
    op.drop_table("consulate_served")
    op.drop_index(op.f("ix_kiosks_consulate"), table_name="kiosks")
    op.drop_table("kiosks")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_operators_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_operators_role"), _ROLES_BEFORE)
        batch_op.drop_column("consulate")
    with op.batch_alter_table("voters", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_voters_card_hash"), type_="unique")
        batch_op.drop_column("card_hash")
        batch_op.drop_column("consulate")
