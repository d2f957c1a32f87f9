"""Operations (issue 9): voters' country of residence (turnout per country), the practice elections
and drills archived before the real election, and the personal-data schedule (LGPDPPSO).

Revision ID: 0006_practice_console_retention
Revises: 0004_credential_token_seals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_practice_console_retention"
down_revision: str | None = "0004_credential_token_seals"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("voters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
    op.create_table(
        "archived_elections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("election_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        sa.Column("election_hash", sa.String(length=64), nullable=True),
        sa.Column("voting_opens", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voting_closes", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_head", sa.String(length=64), nullable=True),
        sa.Column("cast_count", sa.Integer(), nullable=False),
        sa.Column("late_count", sa.Integer(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("record_file", sa.String(length=128), nullable=True),
        sa.Column("record_sha256", sa.String(length=64), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('practice', 'drill')", name=op.f("ck_archived_elections_kind")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"],
                                name=op.f("fk_archived_elections_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archived_elections")),
    )
    op.create_table(
        "data_retention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_by", sa.Integer(), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_by", sa.Integer(), nullable=True),
        sa.Column("export_sha256", sa.String(length=64), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.Integer(), nullable=True),
        sa.Column("summary_json", sa.Text(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_data_retention_single")),
        sa.ForeignKeyConstraint(["scheduled_by"], ["operators.id"],
                                name=op.f("fk_data_retention_scheduled_by_operators")),
        sa.ForeignKeyConstraint(["exported_by"], ["operators.id"],
                                name=op.f("fk_data_retention_exported_by_operators")),
        sa.ForeignKeyConstraint(["deleted_by"], ["operators.id"],
                                name=op.f("fk_data_retention_deleted_by_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_retention")),
    )


def downgrade() -> None:
    op.drop_table("data_retention")
    op.drop_table("archived_elections")
    with op.batch_alter_table("voters", schema=None) as batch_op:
        batch_op.drop_column("country")
