"""Alembic environment: runs against the connection that `api.migrate` passes in."""

from __future__ import annotations

from alembic import context

from api.migrate import target_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
