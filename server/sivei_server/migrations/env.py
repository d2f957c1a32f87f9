"""Alembic environment: run through ``sivei servidor db-upgrade`` (``sivei_server.migrate``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sivei_server.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("sivei_server migrations run through sivei_server.migrate")
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
