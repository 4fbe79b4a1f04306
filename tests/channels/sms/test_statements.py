"""An SMS turn costs at most 4 SQL statements and one commit, on SQLite and on PostgreSQL
(issue 17): counted with SQLAlchemy's events on the store's engine (every statement sent to the
database, the ``BEGIN IMMEDIATE`` the store sends itself on SQLite included), not timed.

Counted: a first message (the conversation is created), ordinary messages in the middle of a
procedure, one with the channel's document changed (a long answer kept in pages) and read back
("M"), a turn with many events (each kind of row costs one statement however many there are),
and a Twilio retry (answered from the replay record, nothing committed)."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError

from tests.assistant.conftest import POSTGRES_URL

from .conftest import Phone, make_app, new_sid

LIMIT = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def counted(request, tmp_path, monkeypatch):
    """(phone, counts): ``counts()`` gives what the requests since the last call sent."""
    url = f"sqlite:///{tmp_path / 'sms.db'}"
    admin = name = None
    if request.param == "postgresql":
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 5})
        try:
            with admin.connect() as conn:
                name = f"kaifong_test_{uuid.uuid4().hex[:12]}"
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except OperationalError as error:
            admin.dispose()
            pytest.skip(f"PostgreSQL not reachable: {str(error.orig).splitlines()[0]}")
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    app = make_app(tmp_path, monkeypatch, DATABASE_URL=url)
    store = app.extensions["kaifong"].store
    seen: Counter = Counter()

    @event.listens_for(store.engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):
        seen["statements"] += 1
        seen[statement.lstrip().split(None, 1)[0].upper()] += 1

    @event.listens_for(store.engine, "commit")
    def _commit(conn):
        seen["commits"] += 1

    def counts() -> Counter:
        taken = Counter(seen)
        seen.clear()
        return taken

    try:
        yield Phone(app.test_client()), counts
    finally:
        store.close()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def turn(phone: Phone, counts, body: str, **kwargs) -> Counter:
    counts()
    assert phone.texts(body, **kwargs)
    return counts()


def test_a_first_message_costs_at_most_four_statements_and_one_commit(counted):
    phone, counts = counted
    seen = turn(phone, counts, "lost my id card")
    assert seen["statements"] <= LIMIT, seen
    assert seen["commits"] == 1, seen
    assert seen["INSERT"] >= 1, seen   # the conversation is created


def test_ordinary_messages_mid_procedure_cost_at_most_four_statements(counted):
    phone, counts = counted
    turn(phone, counts, "lost my id card")
    for body in ("1", "1", "1"):   # steps of the procedure (no service call among them)
        seen = turn(phone, counts, body)
        assert seen["statements"] <= LIMIT, (body, seen)
        assert seen["commits"] == 1, (body, seen)


def test_help_and_the_next_page_cost_at_most_four_statements(counted):
    phone, counts = counted
    turn(phone, counts, "lost my id card")
    for body in ("HELP", "M", "1"):
        seen = turn(phone, counts, body)
        assert seen["statements"] <= LIMIT, (body, seen)
        assert seen["commits"] == 1, (body, seen)


def test_a_retry_is_answered_in_two_statements_and_commits_nothing(counted):
    phone, counts = counted
    turn(phone, counts, "lost my id card")
    sid = new_sid()
    first = phone.texts("1", sid=sid)
    counts()
    assert phone.texts("1", sid=sid) == first
    seen = counts()
    assert seen["statements"] <= 3, seen   # SQLite: BEGIN and one read; PostgreSQL: two reads
    assert seen["commits"] == 0, seen
