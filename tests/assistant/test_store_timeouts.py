"""The store's bounds on waiting for the database, on SQLite and PostgreSQL: from the
environment, applied to every connection, and ``call_within`` gives up on time, with
``StoreUnavailable``, and leaves nothing committed late."""

from __future__ import annotations

import threading

import pytest

from assistant.errors import StoreUnavailable
from assistant.store import Store, Timeouts


def test_timeouts_come_from_the_environment_and_are_checked():
    assert Timeouts.from_env({}) == Timeouts(connect=2.0, statement=5.0, pool=5.0)
    assert Timeouts.from_env({"KAIFONG_DB_STATEMENT_TIMEOUT": "3",
                              "KAIFONG_DB_POOL_TIMEOUT": "0.5"}) == Timeouts(2.0, 3.0, 0.5)
    for wrong in ("0", "-1", "soon", "99999"):
        with pytest.raises(ValueError, match="KAIFONG_DB_CONNECT_TIMEOUT"):
            Timeouts.from_env({"KAIFONG_DB_CONNECT_TIMEOUT": wrong})


def test_every_connection_carries_the_statement_timeout(db_url):
    store = Store(db_url, Timeouts(statement=3))
    try:
        with store.engine.connect() as conn:
            if store.sqlite:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 3000
            else:
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "3s"
                assert conn.exec_driver_sql(
                    "SHOW idle_in_transaction_session_timeout").scalar() == "1min"
    finally:
        store.close()


def test_call_within_gives_up_on_time_and_the_late_turn_is_not_committed(db_url):
    store = Store(db_url)
    release = threading.Event()
    try:
        def slow_turn():
            with store.turn("sms", "+85291112222") as t:
                t.add_line("user", "hello")
                release.wait(10)        # the database (or the caller's code) takes its time

        with pytest.raises(StoreUnavailable):
            store.call_within(0.3, slow_turn)
        release.set()
        assert store.call_within(5, lambda: None) is None
        # the pool's thread finished the turn after the deadline: it rolled back
        with store.turn("sms", "+85291112222"):   # waits for that turn's lock
            pass
        cid = store.conversation_id("sms", "+85291112222")
        assert cid is None or store.transcript(cid) == []
        assert store.call_within(5, lambda x: x + 1, 41) == 42
    finally:
        store.close()
