"""Alembic environment: run with the connection that sohoa.records.db hands over."""

from alembic import context

from sohoa.records.models import Base
from sohoa.records.search.schema import compare_filter

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    include_object=compare_filter,  # the search engines' own tables and columns
)
with context.begin_transaction():
    context.run_migrations()
