"""Alembic environment for the store's schema.

``Store`` runs the migrations itself, inside its own transaction, by passing that connection in
``config.attributes["connection"]``. From the command line
(``alembic -c assistant/migrations/alembic.ini upgrade head``) the database is the one the
application would use: ``KAIFONG_DATABASE_URL``, else the SQLite file in the data directory.
No logging configuration here: the application owns logging.
"""

from alembic import context

from assistant import desk, outbox, services, staff  # noqa: F401  (their tables join the store's metadata)
from assistant.store import Timeouts, database_url, make_engine, metadata

config = context.config
options = {"target_metadata": metadata, "render_as_batch": True}  # batch: SQLite can't ALTER much


def run_online(connection) -> None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():  # a no-op when the caller's transaction is already open
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=database_url(), literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()
elif "connection" in config.attributes:
    run_online(config.attributes["connection"])
else:
    # by hand (alembic upgrade head): a migration may take longer than a statement of the app
    engine = make_engine(database_url(), Timeouts(statement=3600))
    try:
        with engine.connect() as conn:
            run_online(conn)
    finally:
        engine.dispose()
