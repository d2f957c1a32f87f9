"""Sealed credential tokens: each voter's token (the credential authority's signature binding a public
credential to the voter), sealed under the voter's private credential, served to that voter's booth.

Revision ID: 0004_credential_token_seals
Revises: 0003_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_credential_token_seals"
down_revision: str | None = "0003_hardening"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table("sealed_tokens",
                    sa.Column("voter_id", sa.String(length=64), nullable=False),
                    sa.Column("sealed", sa.LargeBinary(length=92), nullable=False),
                    sa.PrimaryKeyConstraint("voter_id", name=op.f("pk_sealed_tokens")))


def downgrade() -> None:
    op.drop_table("sealed_tokens")
