"""Store fixtures, run against SQLite (a temporary file) and PostgreSQL (a throw-away database).

PostgreSQL is found at ``KAIFONG_TEST_POSTGRES_URL`` (default: the local server, user postgres,
database ``test``); each test gets its own ``kaifong_test_<random>`` database, dropped afterwards.
When the server cannot be reached, the PostgreSQL half is skipped and says why.
"""

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from assistant.store import Store

POSTGRES_URL = os.environ.get("KAIFONG_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_admin():
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        engine.dispose()
        pytest.skip(f"PostgreSQL not reachable at {engine.url!r} (set KAIFONG_TEST_POSTGRES_URL): "
                    f"{str(error.orig).strip().splitlines()[0]}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """The URL of an empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kaifong.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    name = f"kaifong_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def open_store(db_url):
    """Opens another ``Store`` on the test's database (a restart); all are closed afterwards."""
    opened = []

    def open_() -> Store:
        opened.append(Store(db_url))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store) -> Store:
    return open_store()


def run_together(fn, *calls: tuple) -> list:
    """``fn(*args)`` for each ``args`` in ``calls``, each in its own thread, all released at once.
    Returns their results in order; the first exception in any thread is raised here."""
    start = threading.Barrier(len(calls))

    def run(args):
        start.wait(timeout=30)
        return fn(*args)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls, timeout=120))


@pytest.fixture
def together():
    return run_together
