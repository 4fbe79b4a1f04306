"""The store against SQLite and PostgreSQL: one turn is one transaction, serialised per
conversation, across threads and processes."""

import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from assistant.desk import staff_audit  # noqa: F401  (puts its table on `metadata`)
from assistant.errors import StoreError
from assistant.model import new_state
from assistant.outbox import outbox  # noqa: F401  (puts its tables on `metadata`)
from assistant.services import SERVICES, ServiceContext  # also puts its tables on `metadata`
from assistant.staff import staff_users  # noqa: F401  (puts its table on `metadata`)
from assistant.store import Store, conversations, metadata

PROJECT = Path(__file__).resolve().parents[2]
SMS, PHONE = "sms", "+85291234567"


class Boom(Exception):
    pass


def row(store, channel=SMS, address=PHONE):
    with store.engine.connect() as conn:
        return conn.execute(select(conversations).where(
            conversations.c.channel == channel, conversations.c.address == address)).one()


def escalated(status, priority=None, reason="asked_for_person", summary=None):
    state = new_state()
    state.update(status=status, procedure="hkid_replacement", step="confirm")
    if priority is not None:
        state["escalation"] = {"reason": reason, "priority": priority, "since": None,
                               "summary": summary or {"procedure": "hkid_replacement"}}
    return state


def test_schema_from_migrations_matches_the_tables(store):
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_sqlite_is_set_up_for_concurrent_turns(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'kaifong.db'}")
    other = sqlite3.connect(tmp_path / "kaifong.db", timeout=0, isolation_level=None)
    try:
        with store.engine.connect() as conn:
            values = [conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                      for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")]
        assert values == ["wal", 5000, 1, 1]  # synchronous 1 is NORMAL; busy: Timeouts.statement
        with store.turn(SMS, PHONE):  # BEGIN IMMEDIATE: a turn holds the write lock from its start
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            # ...while readers go on
            assert other.execute("SELECT count(*) FROM conversations").fetchone() == (0,)
    finally:
        other.close()
        store.close()


def test_first_turn_creates_the_conversation(store):
    assert store.conversation_id(SMS, PHONE) is None
    assert store.state(SMS, PHONE) is None
    with store.turn(SMS, PHONE) as turn:
        assert turn.state is None
        assert turn.now.tzinfo is UTC
        first_id = turn.conversation_id
        turn.state = new_state("zh-HK")
    assert store.conversation_id(SMS, PHONE) == first_id
    with store.turn(SMS, PHONE) as turn:
        assert turn.conversation_id == first_id
        assert turn.state == new_state("zh-HK")
    with store.turn("kiosk", PHONE) as turn:  # same address, other channel: another conversation
        assert turn.state is None and turn.conversation_id != first_id


def test_state_round_trips_and_mirrors_its_columns(store):
    state = new_state("zh-HK")
    state.update(procedure="senior_citizen_card", step="ask_age", turns=3,
                 slots={"name": "陳大文", "age": 72, "nested": {"list": [1, None, True]}})
    with store.turn(SMS, PHONE) as turn:
        turn.state = state
    assert store.state(SMS, PHONE) == state
    r = row(store)
    assert (r.status, r.locale, r.procedure, r.step, r.turns, r.version) == (
        "bot", "zh-HK", "senior_citizen_card", "ask_age", 3, 1)
    assert (r.escalation_reason, r.priority, r.waiting_since) == (None, None, None)
    with store.turn(SMS, PHONE) as turn:
        assert turn.state == state
        turn.state = dict(turn.state, step="ask_hkid")
    assert row(store).version == 2
    assert row(store).step == "ask_hkid"


def test_lines_and_events_commit_with_the_state(store):
    with store.turn(SMS, PHONE) as turn:
        turn.state = new_state()
        turn.add_line("user", "我想預約")
        turn.add_line("assistant", "Which office?", {"step": "office"})
        turn.add_event("procedure_started", {"procedure": "book_appointment"})
        turn.add_event("step_entered")
        # Nothing is visible to others before the turn commits.
        assert store.state(SMS, PHONE) is None
        assert store.transcript(turn.conversation_id) == []
        assert store.events(turn.conversation_id) == []
        conversation_id, first_now = turn.conversation_id, turn.now
    lines = store.transcript(conversation_id)
    assert [(l.seq, l.role, l.text, l.meta) for l in lines] == [
        (1, "user", "我想預約", {}), (2, "assistant", "Which office?", {"step": "office"})]
    assert all(l.at == first_now for l in lines)
    assert [(e.kind, e.data) for e in store.events(conversation_id)] == [
        ("procedure_started", {"procedure": "book_appointment"}), ("step_entered", {})]
    with store.turn(SMS, PHONE) as turn:
        turn.add_line("staff", "Hello, I am Ms Wong")
        turn.add_line("system", "handed over")
    assert [l.seq for l in store.transcript(conversation_id)] == [1, 2, 3, 4]


def test_unknown_role_is_refused(store):
    with pytest.raises(ValueError), store.turn(SMS, PHONE) as turn:
        turn.add_line("robot", "beep")


def test_exception_in_a_turn_rolls_back_everything(store):
    with store.turn(SMS, PHONE) as turn:
        turn.state = new_state()
        turn.add_line("user", "hi")
        turn.add_event("started")
        conversation_id = turn.conversation_id
    with pytest.raises(Boom), store.turn(SMS, PHONE) as turn:
        turn.state = dict(turn.state, step="changed")
        turn.add_line("user", "lost")
        turn.add_event("lost")
        SERVICES["issue_reference"](ServiceContext.from_turn(turn), {})
        raise Boom
    assert store.state(SMS, PHONE) == new_state()
    assert [l.text for l in store.transcript(conversation_id)] == ["hi"]
    assert [e.kind for e in store.events(conversation_id)] == ["started"]
    assert row(store).version == 1
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM reference_numbers").scalar() == 0
    # A brand-new conversation whose first turn fails leaves no row behind.
    with pytest.raises(Boom), store.turn(SMS, "+85290000000"):
        raise Boom
    assert store.conversation_id(SMS, "+85290000000") is None


def test_failure_while_writing_rolls_back_what_was_already_written(store):
    with pytest.raises(StoreError) as raised, store.turn(SMS, PHONE) as turn:
        turn.add_line("user", "my HKID is A123456(7)")
        turn.add_event("started")
        turn.state = {"status": "bot", "bad": object()}  # written after the lines and events
    assert store.conversation_id(SMS, PHONE) is None
    assert isinstance(raised.value.__cause__, StatementError)
    assert "A123456" not in str(raised.value) + str(raised.value.__cause__)  # no message text


def test_data_that_is_not_json_is_refused_at_once(store):
    with store.turn(SMS, PHONE) as turn:
        with pytest.raises(TypeError):
            turn.add_event("bad", {"when": object()})
        with pytest.raises(TypeError):
            turn.add_line("user", "hi", {"when": object()})
    assert store.events(store.conversation_id(SMS, PHONE)) == []


def test_a_new_store_on_the_same_url_sees_the_state(store, open_store):
    with store.turn(SMS, PHONE) as turn:
        turn.state = escalated("waiting", priority=1)
        turn.add_line("user", "I need a person")
    store.close()
    again = open_store()  # migrations already at head: a no-op
    assert again.state(SMS, PHONE) == escalated("waiting", priority=1)
    assert [e.conversation_id for e in again.queue()] == [again.conversation_id(SMS, PHONE)]


def test_channel_data_is_kept_with_the_turn_and_rolled_back_with_it(store):
    with store.turn(SMS, PHONE) as turn:
        assert turn.channel_data() == {}
        turn.keep_channel_data({"pages": ["(2/2)"], "question": "Yes or no?"})
    with pytest.raises(RuntimeError), store.turn(SMS, PHONE) as turn:
        turn.keep_channel_data({"pages": []})
        raise RuntimeError("the turn fails")
    with store.turn(SMS, PHONE) as turn:
        assert turn.channel_data() == {"pages": ["(2/2)"], "question": "Yes or no?"}
        turn.keep_channel_data({})
    with store.turn(SMS, PHONE) as turn:
        assert turn.channel_data() == {}
    with store.turn(SMS, "+85290000000") as other:
        assert other.channel_data() == {}


def test_from_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = Store.from_env({})
    try:
        assert store.engine.url.database == str(tmp_path / "var" / "kaifong.db")
    finally:
        store.close()
    store = Store.from_env({"KAIFONG_DATA_DIR": str(tmp_path / "data" / "here")})
    try:
        assert (tmp_path / "data" / "here" / "kaifong.db").exists()
    finally:
        store.close()
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    store = Store.from_env({"KAIFONG_DATABASE_URL": url, "KAIFONG_DATA_DIR": str(tmp_path / "no")})
    try:
        assert str(store.engine.url) == url and not (tmp_path / "no").exists()
    finally:
        store.close()


WRITER = """
import sys
from assistant.store import Store
store = Store(sys.argv[1])
with store.turn("sms", "+85291234567") as turn:
    turn.state = {"status": "bot", "counter": 41, "greeting": "你好"}
    turn.add_line("user", "written by another process")
store.close()
"""
READER = """
import json, sys
from assistant.store import Store
store = Store(sys.argv[1])
conversation_id = store.conversation_id("sms", "+85291234567")
print(json.dumps({"state": store.state("sms", "+85291234567"),
                  "lines": [line.text for line in store.transcript(conversation_id)]}))
store.close()
"""


@pytest.mark.slow
def test_another_process_reads_what_a_process_wrote(db_url):
    def run(code):
        return subprocess.run([sys.executable, "-c", code, db_url], cwd=PROJECT, check=True,
                              capture_output=True, text=True, timeout=60).stdout

    run(WRITER)
    assert json.loads(run(READER)) == {"state": {"status": "bot", "counter": 41, "greeting": "你好"},
                                       "lines": ["written by another process"]}


def test_concurrent_turns_on_one_conversation_lose_no_update(store, together):
    def fifty_turns(name):
        for _ in range(50):
            with store.turn(SMS, PHONE) as turn:
                counter = (turn.state or {}).get("counter", 0)
                time.sleep(0.001)  # widen the window a lost update would need
                turn.state = {"status": "bot", "counter": counter + 1}
                turn.add_line("user", f"{name} {counter + 1}")

    together(fifty_turns, ("a",), ("b",))
    assert store.state(SMS, PHONE)["counter"] == 100
    lines = store.transcript(store.conversation_id(SMS, PHONE))
    assert [l.seq for l in lines] == list(range(1, 101))
    assert sorted(int(l.text.split()[1]) for l in lines) == list(range(1, 101))
    assert row(store).version == 100


def test_queue_is_ordered_by_priority_then_waiting_time(store):
    for address, status, priority in [("a", "waiting", 1), ("b", "waiting", 0), ("c", "waiting", 1),
                                      ("d", "waiting", 0), ("e", "bot", None),
                                      ("f", "with_staff", 0), ("g", "waiting", None)]:
        with store.turn(SMS, address) as turn:
            turn.state = escalated(status, priority, summary={"who": address})
    queue = store.queue()
    assert [e.address for e in queue] == ["b", "d", "a", "c", "g"]
    first = queue[0]
    assert (first.channel, first.status, first.reason, first.priority, first.procedure, first.step,
            first.locale, first.summary) == (SMS, "waiting", "asked_for_person", 0,
                                             "hkid_replacement", "confirm", "en", {"who": "b"})
    assert first.since.tzinfo is UTC and first.since < queue[1].since
    assert queue[-1].summary == {}
    assert [e.address for e in store.queue(limit=2)] == ["b", "d"]
    both = store.queue(("waiting", "with_staff"))
    assert [e.address for e in both] == ["b", "d", "f", "a", "c", "g"]
    assert store.queue(("closed",)) == []


def test_waiting_since_is_set_on_waiting_and_cleared_back_with_the_bot(store):
    def turn_to(status):
        with store.turn(SMS, PHONE) as turn:
            turn.state = escalated(status, priority=2 if status != "bot" else None)
            return turn.now

    turn_to("bot")
    assert row(store).waiting_since is None
    since = turn_to("waiting")
    assert row(store).waiting_since == since
    turn_to("waiting")
    assert row(store).waiting_since == since  # still waiting: keeps its place in the queue
    turn_to("with_staff")
    assert row(store).waiting_since == since
    turn_to("bot")
    assert row(store).waiting_since is None
    again = turn_to("waiting")
    assert again > since and row(store).waiting_since == again


def test_migration_0005_numbers_new_lines_after_the_existing_ones(db_url):
    from alembic import command
    from alembic.config import Config

    from assistant.store import MIGRATIONS, make_engine

    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:  # a database from before 0005, with two lines
            config.attributes["connection"] = conn
            command.upgrade(config, "0004_channel_state")
            conn.exec_driver_sql(
                "INSERT INTO conversations (id, channel, address, created_at, updated_at) "
                "VALUES (1, 'sms', '+85291234567', '2026-11-25 00:00:00', '2026-11-25 00:00:00')")
            conn.exec_driver_sql(
                "INSERT INTO transcript_lines (conversation_id, seq, role, text, at) VALUES "
                "(1, 1, 'user', 'hi', '2026-11-25 00:00:00'), "
                "(1, 2, 'assistant', 'hello', '2026-11-25 00:00:00')")
    finally:
        engine.dispose()
    store = Store(db_url)
    try:
        with store.turn(SMS, PHONE) as turn:
            turn.add_line("user", "again")
        assert [(l.seq, l.text) for l in store.transcript(1)] == [
            (1, "hi"), (2, "hello"), (3, "again")]
        assert row(store).last_seq == 3
    finally:
        store.close()


def test_channel_data_reads_what_this_turn_kept(store):
    with store.turn(SMS, PHONE) as turn:
        turn.keep_channel_data({"question": "Yes or no?"})
        assert turn.channel_data() == {"question": "Yes or no?"}
        turn.channel_data()["question"] = "changed by the caller"  # a copy: nothing kept changes
        turn.keep_channel_data({"pages": ["(2/2)"]})
        assert turn.channel_data() == {"pages": ["(2/2)"]}
    with store.turn(SMS, PHONE) as turn:
        assert turn.channel_data() == {"pages": ["(2/2)"]}
        turn.keep_channel_data({})
        assert turn.channel_data() == {}
    with store.turn(SMS, PHONE) as turn:
        turn.keep_channel_data({"question": "Which office?"})  # before any read of it
    with store.turn(SMS, PHONE) as turn:
        assert turn.channel_data() == {"question": "Which office?"}


def counting(store):
    """A Counter of the statements and commits ``store`` sends from now on (SQLAlchemy events)."""
    from collections import Counter

    from sqlalchemy import event

    seen = Counter()

    @event.listens_for(store.engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):
        seen["statements"] += 1

    @event.listens_for(store.engine, "commit")
    def _commit(conn):
        seen["commits"] += 1

    return seen


def test_a_turn_writes_all_it_changed_in_one_statement_however_many_events(store):
    with store.turn(SMS, PHONE) as turn:
        turn.state = new_state("en")
        turn.add_line("user", "first")
    seen = counting(store)
    with store.turn(SMS, PHONE, key="SM1") as turn:
        assert turn.replay("SM1") is None
        turn.state = escalated("waiting", priority=1)
        for n in range(5):
            turn.add_line("assistant" if n % 2 else "user", f"line {n} 你好", {"n": n})
        for n in range(7):
            turn.add_event(f"kind{n}", {"n": n, "text": "街坊"})
        turn.keep_channel_data({"pages": ["(2/2)"]})
        turn.remember("SM1", {"messages": ["答"]})
    # SQLite: BEGIN IMMEDIATE, the read, the write; PostgreSQL: the lock, the read, the write
    assert (seen["statements"], seen["commits"]) == (3, 1)
    cid = store.conversation_id(SMS, PHONE)
    assert [(line.seq, line.text, line.meta) for line in store.transcript(cid)] == [
        (1, "first", {}), *[(n + 2, f"line {n} 你好", {"n": n}) for n in range(5)]]
    assert [(e.kind, e.data) for e in store.events(cid)] == [
        (f"kind{n}", {"n": n, "text": "街坊"}) for n in range(7)]
    assert row(store).last_seq == 6 and row(store).status == "waiting"
    assert [e.conversation_id for e in store.queue()] == [cid]
    seen.clear()
    with store.turn(SMS, PHONE, key="SM1") as turn:
        assert turn.replay("SM1") == {"messages": ["答"]}
        assert turn.channel_data() == {"pages": ["(2/2)"]}
    assert (seen["statements"], seen["commits"]) == (2, 0)   # read, nothing written


def test_a_channel_document_left_as_it_was_is_not_written(store):
    from assistant.store import channel_state

    def kept_at():
        with store.engine.connect() as conn:
            return conn.execute(select(channel_state.c.updated_at)).scalar_one()

    with store.turn(SMS, PHONE) as turn:
        turn.keep_channel_data({"question": "Yes or no?"})
    before = kept_at()
    time.sleep(0.01)
    with store.turn(SMS, PHONE) as turn:
        turn.keep_channel_data(turn.channel_data())
    assert kept_at() == before
    with store.turn(SMS, PHONE) as turn:
        turn.keep_channel_data({"question": "1 or 2?"})
    assert kept_at() > before


def test_what_a_waiting_turn_reads_is_what_the_turn_before_it_committed(store):
    """A retry of a message still being answered waits for the lock, then replays the stored
    answer; an opt-out and a channel document committed meanwhile are seen (on PostgreSQL the
    lock and the read are two statements for this: see ``_LOCK``)."""
    import threading

    from assistant.outbox import opt_out

    with store.turn(SMS, PHONE) as turn:
        turn.state = new_state("en")
    inside = threading.Event()
    seen = {}

    def first():
        with store.turn(SMS, PHONE, key="SM9") as turn:
            inside.set()
            time.sleep(0.5)        # the second turn is waiting for the lock meanwhile
            turn.keep_channel_data({"pages": ["(2/2)"]})
            opt_out(turn.session, SMS, PHONE, turn.now)
            turn.remember("SM9", {"messages": ["once"]})

    def second():
        inside.wait(10)
        with store.turn(SMS, PHONE, key="SM9") as turn:
            seen.update(opted_out=turn.opted_out, kept=turn.channel_data(),
                        replayed=turn.replay("SM9"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert seen == {"opted_out": True, "kept": {"pages": ["(2/2)"]},
                    "replayed": {"messages": ["once"]}}
