"""Initial schema: voters, operators, sessions, rate limits, one-time codes, audit log, the election,
its artifacts, the board's chain head and events, cast ballots, their α keys and late ballots.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table('board_events',
    sa.Column('index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('payload_json', sa.Text(), nullable=True),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('index', name=op.f('pk_board_events')),
    sa.UniqueConstraint('head', name=op.f('uq_board_events_head'))
    )
    op.create_table('chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('next_index', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.Column('cast_count', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_chain_head_single')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_head'))
    )
    op.create_table('election',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('manifest_hash', sa.String(length=64), nullable=False),
    sa.Column('voting_opens', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voting_closes', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('new', 'open', 'paused', 'closed', 'published')", name=op.f('ck_election_state')),
    sa.CheckConstraint('id = 1', name=op.f('ck_election_single')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_election'))
    )
    op.create_table('late_ballots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_late_ballots'))
    )
    op.create_table('one_time_codes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tries_left', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_codes'))
    )
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.create_index('ix_one_time_codes_subject', ['kind', 'subject_id', 'purpose'], unique=False)

    op.create_table('operators',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('totp_secret', sa.String(length=128), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lockout_level', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('administrador', 'observador', 'soporte')", name=op.f('ck_operators_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('username', name=op.f('uq_operators_username'))
    )
    op.create_table('rate_limits',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lockout_level', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limits'))
    )
    op.create_table('voters',
    sa.Column('voter_id', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=8), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('activation_token_hash', sa.String(length=128), nullable=True),
    sa.Column('activation_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('totp_secret', sa.String(length=128), nullable=True),
    sa.Column('second_factor', sa.String(length=8), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lockout_level', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voted', sa.Boolean(), nullable=False),
    sa.Column('voted_on', sa.Date(), nullable=True),
    sa.CheckConstraint("second_factor IS NULL OR second_factor IN ('sms', 'totp')",
                       name=op.f('ck_voters_second_factor')),
    sa.PrimaryKeyConstraint('voter_id', name=op.f('pk_voters')),
    sa.UniqueConstraint('activation_token_hash', name=op.f('uq_voters_activation_token_hash')),
    sa.UniqueConstraint('email', name=op.f('uq_voters_email')),
    sa.UniqueConstraint('phone', name=op.f('uq_voters_phone'))
    )
    with op.batch_alter_table('voters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voters_entity'), ['entity'], unique=False)
        batch_op.create_index('ix_voters_voted_on', ['voted_on'], unique=False)

    op.create_table('web_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('flow', sa.Text(), nullable=True),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('voter', 'operator')", name=op.f('ck_web_sessions_kind')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_web_sessions_subject', ['kind', 'subject_id'], unique=False)

    op.create_table('artifacts',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_artifacts_operator_id_operators')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_artifacts'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('voter_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_audit_log_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('cast_ballots',
    sa.Column('chain_index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('credential', sa.String(length=64), nullable=False),
    sa.Column('ballot_hash', sa.String(length=64), nullable=False),
    sa.Column('tracking_code', sa.String(length=32), nullable=False),
    sa.Column('style', sa.String(length=64), nullable=False),
    sa.Column('ballot_json', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('receipt_json', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['chain_index'], ['board_events.index'],
                            name=op.f('fk_cast_ballots_chain_index_board_events')),
    sa.PrimaryKeyConstraint('chain_index', name=op.f('pk_cast_ballots')),
    sa.UniqueConstraint('ballot_hash', name=op.f('uq_cast_ballots_ballot_hash')),
    sa.UniqueConstraint('credential', name=op.f('uq_cast_ballots_credential')),
    sa.UniqueConstraint('tracking_code', name=op.f('uq_cast_ballots_tracking_code'))
    )
    op.create_table('ballot_alphas',
    sa.Column('alpha_key', sa.LargeBinary(length=32), nullable=False),
    sa.Column('chain_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['chain_index'], ['cast_ballots.chain_index'],
                            name=op.f('fk_ballot_alphas_chain_index_cast_ballots')),
    sa.PrimaryKeyConstraint('alpha_key', name=op.f('pk_ballot_alphas'))
    )
    with op.batch_alter_table('ballot_alphas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_alphas_chain_index'), ['chain_index'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ballot_alphas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_alphas_chain_index'))

    op.drop_table('ballot_alphas')
    op.drop_table('cast_ballots')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('artifacts')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_web_sessions_subject')
        batch_op.drop_index(batch_op.f('ix_web_sessions_expires_at'))

    op.drop_table('web_sessions')
    with op.batch_alter_table('voters', schema=None) as batch_op:
        batch_op.drop_index('ix_voters_voted_on')
        batch_op.drop_index(batch_op.f('ix_voters_entity'))

    op.drop_table('voters')
    op.drop_table('rate_limits')
    op.drop_table('operators')
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_one_time_codes_subject')

    op.drop_table('one_time_codes')
    op.drop_table('late_ballots')
    op.drop_table('election')
    op.drop_table('chain_head')
    op.drop_table('board_events')
