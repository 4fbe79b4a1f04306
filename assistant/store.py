"""The store: conversations, their transcripts and events, in one SQL database.

One ``Store.turn(channel, address)`` is one transaction. It creates the conversation row if it is
missing, locks it (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every write transaction
starts with ``BEGIN IMMEDIATE``, which serialises writers), yields a ``Turn`` whose ``state`` the
caller replaces, and on leaving the block writes the state, its mirrored query columns, the
transcript lines, the events, the replay records and the channel's document (if it changed), all
in one statement, and commits. A turn reads what it needs together (the conversation, the
channel's document, the replay record of the message it answers, whether the address opted
out): on SQLite one read, on PostgreSQL the lock and one read (``_LOCK`` says why two). So an
SMS turn is at most 4 statements and one commit (tests/channels/sms/test_statements.py). An exception inside the block rolls all of it back
and is re-raised as it was; the database's own errors in loading, committing or reading become
``StoreError``. So turns of one conversation never interleave, across threads and processes alike,
and no update is lost. Inside the turn a channel may also check a replayed message id
(``replay`` / ``remember``) and keep a small document of its own beside the state
(``channel_data`` / ``keep_channel_data``: SMS keeps the pages of a long reply there); the core
never reads either.

The schema is owned by the Alembic migrations in ``assistant/migrations``; ``Store()`` upgrades the
database to head. The tables below (and those of ``assistant.services``, on the same ``metadata``)
mirror them for queries; a test checks that they agree.

Nothing waits on the database without a bound (``Timeouts``, from the environment): connecting,
a pooled connection, each statement (PostgreSQL's ``statement_timeout``; SQLite's busy timeout and
this process's writer lock). A database that goes silent keeps no time of its own, so
``call_within(seconds, fn)`` runs ``fn`` with a deadline: when it passes, the caller gets
``StoreUnavailable`` at once, and a watchdog cuts the socket of any connection ``fn`` still has
busy, so that the turn rolls back instead of committing after its caller has given up.

It must not import Flask, Twilio or anything of a channel, and it never logs personal data or
message text: SQL echo stays off, errors carry no SQL parameters, and the few log lines here
name only error types.
"""

from __future__ import annotations

import ast
import collections
import contextlib
import contextvars
import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from assistant.errors import ReplayConflict, StoreError, StoreUnavailable

log = logging.getLogger(__name__)
#: PostgreSQL's channel for "a turn was committed" (the payload: the conversation's id)
NOTIFY_CHANNEL = "kaifong_changes"

__all__ = ["ROLES", "Event", "Line", "QueueEntry", "Store", "Timeouts", "Turn", "UTCDateTime",
           "channel_state", "database_url", "make_engine", "metadata", "queue_query"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ROLES = ("user", "assistant", "staff", "system")


class UTCDateTime(sa.TypeDecorator):
    """Aware datetimes in, aware UTC ones out. SQLite has no zones: it keeps naive UTC text."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(sa.TypeDecorator):
    """A JSON document kept as text (readable in any SQL client, same on every backend)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


metadata = sa.MetaData()

conversations = sa.Table(
    "conversations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("state", JSONText),
    sa.Column("status", sa.String(16), nullable=False, server_default="bot"),
    sa.Column("locale", sa.String(16)),
    sa.Column("procedure", sa.String(64)),
    sa.Column("step", sa.String(64)),
    sa.Column("escalation_reason", sa.String(64)),
    sa.Column("priority", sa.Integer),
    sa.Column("waiting_since", UTCDateTime),
    sa.Column("turns", sa.Integer, nullable=False, server_default="0"),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    #: the seq of the conversation's last transcript line (migration 0005)
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("channel", "address", name="uq_conversations_channel_address"),
    sa.Index("ix_conversations_queue", "status", "priority", "waiting_since"),
    sa.Index("ix_conversations_updated_at", "updated_at"),   # migration 0007
)
transcript_lines = sa.Table(
    "transcript_lines", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("meta", JSONText),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("conversation_id", "seq", name="uq_transcript_lines_conversation_seq"),
)
events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("data", JSONText),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_events_kind_at", "kind", "at"),   # migration 0009
)


inbound_messages = sa.Table(
    "inbound_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("output", JSONText, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("channel", "key", name="uq_inbound_messages_channel_key"),
    sa.Index("ix_inbound_messages_conversation", "conversation_id"),   # migration 0009
)
#: a small JSON document a channel keeps per conversation, beside the core's state (migration
#: 0004): SMS keeps the pages of a long reply not yet sent, and the question last asked
channel_state = sa.Table(
    "channel_state", metadata,
    sa.Column("conversation_id", sa.Integer,
              sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("data", JSONText, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


# -- the statements of a turn, built once: a turn runs on every message, and building a statement
# and its cache key costs SQLAlchemy more than SQLite takes to run it. Values go in bound
# parameters, so each statement is compiled once per engine and then found in its cache.

_conv = conversations.c
_BY_ADDRESS = (_conv.channel == sa.bindparam("channel"), _conv.address == sa.bindparam("address"))
_kept = channel_state.c
_inbound = inbound_messages.c
# opt_outs belongs to assistant.outbox (which imports this module): named here, not imported
_opt_outs = sa.table("opt_outs", sa.column("channel"), sa.column("address"))

# What a turn reads besides its conversation row, as columns of one row: the channel's document
# (kept as text: ``Turn.channel_data`` parses it per call), the answer already given to the
# inbound message ``key`` (if the channel names one) and whether the address has opted out.
_REPLAY_WHERE = (_inbound.channel == sa.bindparam("channel"), _inbound.key == sa.bindparam("key"))
_BESIDE = (
    sa.select(sa.type_coerce(_inbound.output, sa.Text)).where(*_REPLAY_WHERE)
    .scalar_subquery().label("replay_output"),
    sa.select(_inbound.conversation_id).where(*_REPLAY_WHERE)
    .scalar_subquery().label("replay_conversation_id"),
    sa.exists().where(_opt_outs.c.channel == sa.bindparam("channel"),
                      _opt_outs.c.address == sa.bindparam("address")).label("opted_out"),
)
_CHANNEL_TEXT = sa.select(sa.type_coerce(_kept.data, sa.Text)).where(
    _kept.conversation_id == _conv.id).scalar_subquery().label("channel_data")
# SQLite: BEGIN IMMEDIATE has taken the write lock before the first read, so everything the
# turn needs comes in one statement, which always returns one row (the conversation's columns
# are NULL when there is none yet).
_one = sa.select(sa.literal(1).label("one")).subquery("one")
_READ_ALL = (sa.select(conversations, _CHANNEL_TEXT, *_BESIDE)
             .select_from(_one.outerjoin(conversations, sa.and_(*_BY_ADDRESS))))
# PostgreSQL: the lock first, on its own. Under READ COMMITTED a statement reads with the
# snapshot taken when it began: when FOR UPDATE waits for another turn of this conversation,
# the locked row is read again as that turn committed it, but anything else the same statement
# reads (a joined channel_state row, a scalar subquery on inbound_messages or opt_outs) is read
# as it was before that turn committed. That would lose a document just written, answer a
# Twilio retry a second time instead of replaying it, or answer a number that has just opted
# out. Locking those rows too cannot work (FOR UPDATE is refused on the nullable side of an
# outer join, and a replay record or an opt-out not yet there has no row to lock). So the rest
# is read by a second statement, which takes a new snapshot after the lock is held.
_LOCK = sa.select(conversations).where(*_BY_ADDRESS).with_for_update()
_READ_BESIDE = sa.select(
    sa.select(sa.type_coerce(_kept.data, sa.Text)).where(
        _kept.conversation_id == sa.bindparam("conversation_id"))
    .scalar_subquery().label("channel_data"), *_BESIDE)
_CREATE = {dialect.dialect.name: dialect.insert(conversations).on_conflict_do_nothing(
    index_elements=["channel", "address"]).returning(*conversations.c)
    for dialect in (sqlite, postgresql)}
_MIRRORED = ("state", "status", "locale", "procedure", "step", "escalation_reason", "priority",
             "waiting_since", "turns")
_REPLAY = sa.select(_inbound.output, _inbound.conversation_id).where(*_REPLAY_WHERE)
_REMEMBER = sa.insert(inbound_messages)

# -- a turn's writes, in one statement: its transcript lines and its events (however many: each
# kind goes as one JSON array), the replay records, the channel's document when it changed
# ("set" or "drop"; "keep" writes nothing), and the conversation row. Raw SQL in ``sa.text``
# (still executed, cached and typed by SQLAlchemy Core), because Core has no construct for
# either form: PostgreSQL's data-modifying CTEs over json_array_elements, and on SQLite, which
# has no data-modifying CTEs, an INSERT into a TEMP view whose INSTEAD OF trigger (made on each
# connection, see ``_SQLITE_TURN_WRITE``) runs the same writes inside SQLite. One statement
# instead of four or five: each statement costs SQLAlchemy about 60 µs, SQLite far less.
_WRITE_PARAMS = ("conversation_id", "channel", "at", "first_seq", "version", "last_seq", *_MIRRORED,
                 "lines", "events", "inbound", "channel_action", "channel_data")
_WRITE_TYPES = (sa.bindparam("at", type_=UTCDateTime()),
                sa.bindparam("waiting_since", type_=UTCDateTime()),
                sa.bindparam("state", type_=JSONText()))
_SET_CONVERSATION = ", ".join(f"{name} = {{p}}{name}" for name in
                              ("version", "last_seq", *_MIRRORED)) + ", updated_at = {p}at"
_SQLITE_TURN_WRITE = (
    "CREATE TEMP VIEW IF NOT EXISTS kaifong_turn_write AS SELECT "
    + ", ".join(f"NULL AS {name}" for name in _WRITE_PARAMS) + " WHERE 0",
    """CREATE TEMP TRIGGER IF NOT EXISTS kaifong_turn_write_rows
    INSTEAD OF INSERT ON kaifong_turn_write BEGIN
      INSERT INTO transcript_lines (conversation_id, seq, role, text, meta, at)
        SELECT NEW.conversation_id, NEW.first_seq + key, value ->> '$.role', value ->> '$.text',
               value -> '$.meta', NEW.at FROM json_each(NEW.lines);
      INSERT INTO events (conversation_id, kind, data, at)
        SELECT NEW.conversation_id, value ->> '$.kind', value -> '$.data', NEW.at
        FROM json_each(NEW.events);
      INSERT INTO inbound_messages (channel, key, conversation_id, output, received_at)
        SELECT NEW.channel, value ->> '$.key', NEW.conversation_id, value -> '$.output', NEW.at
        FROM json_each(NEW.inbound);
      DELETE FROM channel_state
        WHERE NEW.channel_action = 'drop' AND conversation_id = NEW.conversation_id;
      INSERT INTO channel_state (conversation_id, data, updated_at)
        SELECT NEW.conversation_id, NEW.channel_data, NEW.at WHERE NEW.channel_action = 'set'
        ON CONFLICT (conversation_id)
        DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at;
      UPDATE conversations SET """ + _SET_CONVERSATION.format(p="NEW.") + """
        WHERE id = NEW.conversation_id;
    END""",
)
_WRITE = {
    "sqlite": sa.text(
        "INSERT INTO kaifong_turn_write (" + ", ".join(_WRITE_PARAMS) + ") VALUES ("
        + ", ".join(f":{name}" for name in _WRITE_PARAMS) + ")").bindparams(*_WRITE_TYPES),
    # the NOTIFY goes with the UPDATE (delivered at commit, to every process that listens); its
    # payload is the conversation's id (a number, nothing personal), so that a process waiting
    # for one conversation reads the database only when that one changed
    "postgresql": sa.text(f"""
    WITH lines AS (
      INSERT INTO transcript_lines (conversation_id, seq, role, text, meta, at)
      SELECT :conversation_id, :first_seq - 1 + x.n, x.v ->> 'role', x.v ->> 'text',
             CAST(x.v -> 'meta' AS text), :at
      FROM json_array_elements(CAST(:lines AS json)) WITH ORDINALITY AS x(v, n)),
    added_events AS (
      INSERT INTO events (conversation_id, kind, data, at)
      SELECT :conversation_id, x.v ->> 'kind', CAST(x.v -> 'data' AS text), :at
      FROM json_array_elements(CAST(:events AS json)) WITH ORDINALITY AS x(v, n) ORDER BY x.n),
    inbound AS (
      INSERT INTO inbound_messages (channel, key, conversation_id, output, received_at)
      SELECT :channel, x.v ->> 'key', :conversation_id, CAST(x.v -> 'output' AS text), :at
      FROM json_array_elements(CAST(:inbound AS json)) AS x(v)),
    dropped AS (
      DELETE FROM channel_state
      WHERE CAST(:channel_action AS text) = 'drop' AND conversation_id = :conversation_id),
    kept AS (
      INSERT INTO channel_state (conversation_id, data, updated_at)
      SELECT :conversation_id, CAST(:channel_data AS text), :at
      WHERE CAST(:channel_action AS text) = 'set'
      ON CONFLICT (conversation_id)
      DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at)
    UPDATE conversations SET {_SET_CONVERSATION.format(p=":")}
    WHERE id = :conversation_id
    RETURNING pg_notify('{NOTIFY_CHANNEL}', CAST(id AS text))""").bindparams(*_WRITE_TYPES),
}


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class QueueEntry:
    conversation_id: int
    channel: str
    address: str
    status: str
    reason: str | None
    priority: int | None
    since: datetime | None
    procedure: str | None
    step: str | None
    locale: str | None
    summary: dict


@dataclass(frozen=True)
class Line:
    seq: int
    role: str
    text: str
    at: datetime
    meta: dict


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict
    at: datetime


@dataclass
class Turn:
    """One turn of one conversation, in its transaction: assign ``state``, add lines and events.

    ``session`` is the turn's SQLAlchemy ``Connection``, inside its open transaction: callers
    ``execute``, ``scalar`` and ``begin_nested`` on it, as on a ``Session``."""

    conversation_id: int
    state: dict | None
    session: Connection
    now: datetime
    channel: str = ""
    #: when the conversation last had a turn (None for a new one): channels detect idleness
    last_active: datetime | None = None
    #: the channel's address of the citizen (a phone number, a kiosk id)
    address: str = ""
    #: whether the address has opted out of messages (read with the conversation; the SMS
    #: channel sets it when it records an opt-out or an opt-in in this turn)
    opted_out: bool = False
    _lines: list = field(default_factory=list, repr=False)
    _events: list = field(default_factory=list, repr=False)
    #: replay records to write with the turn: {"key": ..., "output": ...}
    _inbound: list = field(default_factory=list, repr=False)
    #: the channel's document as stored when the turn began (JSON text, None if there is none),
    #: and as the turn leaves it. It cannot change under us: the conversation is locked, and
    #: only its turns write it. Written at commit only if it changed.
    _stored_channel_text: str | None = field(default=None, repr=False)
    _channel_text: str | None = field(default=None, repr=False)
    #: the inbound message id read with the conversation, and its record: (output as JSON
    #: text, conversation id), or None when that id has not been seen
    _replay_key: str | None = field(default=None, repr=False)
    _replayed: tuple | None = field(default=None, repr=False)
    #: nothing of this turn is kept (a replayed message): rolled back, not committed
    _unchanged: bool = field(default=False, repr=False)

    def add_line(self, role: str, text: str, meta: dict | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown transcript role {role!r}")
        json.dumps(meta)  # fail here, at the caller, rather than at commit
        self._lines.append({"role": role, "text": text, "meta": meta or {}})

    def add_event(self, kind: str, data: dict | None = None) -> None:
        """An event, written with the turn: all of a turn's events in one statement."""
        json.dumps(data)
        self._events.append({"kind": kind, "data": data or {}})

    def replay(self, key: str) -> Any:
        """What this turn's channel answered to the inbound message ``key`` before, or None.

        A provider that retries a message (Twilio does, on a slow answer) gets the same answer,
        and the conversation does not move twice: not even its ``updated_at`` (the turn is left
        unchanged, as if it had not happened). The same ``key`` from another address is no
        retry: ``ReplayConflict``, and the other conversation's answer is never given. A ``key``
        given to ``Store.turn`` was read with the conversation, under its lock; another one is
        read now."""
        if key == self._replay_key:
            found = self._replayed
            output = None if found is None else json.loads(found[0])
        else:
            row = self.session.execute(_REPLAY, {"channel": self.channel, "key": key}).first()
            found, output = (None, None) if row is None else (row, row.output)
        if found is None:
            return None
        if found[1] != self.conversation_id:
            raise ReplayConflict("this message id was already used by another address")
        self._unchanged = True
        return output

    def remember(self, key: str, output: Any) -> None:
        """Keep the answer to inbound message ``key``, committed with the turn."""
        json.dumps(output)
        self._inbound.append({"key": key, "output": output})

    def channel_data(self) -> dict:
        """What the channel kept for this conversation with ``keep_channel_data`` ({} if none).
        The core never reads it."""
        # parsed on each call, so that a caller changing what it got changes nothing kept
        return (json.loads(self._channel_text) if self._channel_text else None) or {}

    def keep_channel_data(self, data: dict) -> None:
        """Replace the channel's document for this conversation (an empty one removes it),
        committed with the turn (and only if it differs from what was kept)."""
        self._channel_text = _json(data) if data else None

    def _channel_action(self) -> str:
        if self._channel_text == self._stored_channel_text:
            return "keep"
        return "drop" if self._channel_text is None else "set"


@dataclass(frozen=True)
class Timeouts:
    """How long, in seconds, the store waits for the database before giving up.

    ``connect``: a new connection (PostgreSQL's driver counts whole seconds, at least 2);
    ``statement``: one statement (PostgreSQL's ``statement_timeout``, which includes waiting for
    a row lock; on SQLite the busy timeout and the wait for this process's writer lock);
    ``pool``: a free connection from the pool. From ``KAIFONG_DB_CONNECT_TIMEOUT``,
    ``KAIFONG_DB_STATEMENT_TIMEOUT`` and ``KAIFONG_DB_POOL_TIMEOUT``."""

    connect: float = 2.0
    statement: float = 5.0
    pool: float = 5.0

    @classmethod
    def from_env(cls, environ=os.environ) -> Timeouts:
        values = {}
        for name in ("connect", "statement", "pool"):
            key = f"KAIFONG_DB_{name.upper()}_TIMEOUT"
            raw = (environ.get(key) or "").strip()
            if not raw:
                continue
            try:
                values[name] = float(raw)
            except ValueError:
                values[name] = 0.0
            if not 0 < values[name] <= 3600:
                raise ValueError(f"{key} must be a number of seconds above 0, not {raw!r}")
        return cls(**values)


#: the moment (time.monotonic) by which the current ``call_within`` must be done, or None
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "kaifong_store_deadline", default=None)
#: the longest a pooled connection's liveness check may take before the connection is dropped
PING_LIMIT = 2.0


class Store:
    def __init__(self, url: str, timeouts: Timeouts | None = None):
        self.timeouts = timeouts or Timeouts.from_env()
        self._watchdog = _Watchdog()
        self.engine = make_engine(url, self.timeouts, self._watchdog)
        self.sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Threads of this process queue on a lock of our own:
        # SQLite's busy handler would make them sleep and poll (1, 2, 5 ... 100 ms), which is
        # what a waiting writer costs without it. Other processes still meet busy_timeout.
        self._writer = (_WriterLock(self.timeouts.statement) if self.sqlite
                        else contextlib.nullcontext())
        self._calls: ThreadPoolExecutor | None = None
        self._calls_lock = threading.Lock()
        #: notified after every committed turn of this process: a wake-up for the staff
        #: console's live views, never their source of truth (other processes' turns are seen
        #: by reading the database; see ``assistant.desk.Desk.wait_for_change``)
        self.committed = threading.Condition()
        #: the latest commits heard, numbered: (number, conversation id or None)
        self._changes: collections.deque = collections.deque(maxlen=1024)
        self._change_no = 0
        self._listener: _Listener | None = None
        self._listener_lock = threading.Lock()
        try:
            self._migrate()
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def from_env(cls, environ=os.environ) -> Store:
        return cls(database_url(environ))

    def _migrate(self) -> None:
        # Alembic (about 0.1 s to import, more to load its scripts) only when the database is
        # not at the code's one head: a process opening an up-to-date database (every worker,
        # every CLI command after the first) reads the version row and goes on.
        if self._at_head():
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:  # one transaction: concurrent starters wait their turn
            if not self.sqlite:   # behind other starters' migrations: longer than a statement
                conn.execute(sa.text("SET LOCAL statement_timeout = '300s'"))
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242001)"))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def _at_head(self) -> bool:
        """Whether the database's Alembic version is exactly the migrations' one head. Anything
        else (no version table yet, an older version, several heads, scripts that could not be
        read) says no, and Alembic decides."""
        heads = migration_heads()
        if len(heads) != 1:
            return False
        try:
            with self.engine.connect() as conn:
                conn.execution_options(kaifong_read_only=True)
                versions = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                return frozenset(versions.scalars()) == heads
        except SQLAlchemyError:
            return False    # a new database: no version table yet

    @contextmanager
    def turn(self, channel: str, address: str, key: str | None = None) -> Iterator[Turn]:
        """One turn of the conversation (``channel``, ``address``), in one transaction. ``key``:
        the id of the inbound message this turn answers, read with the conversation (see
        ``Turn.replay``).

        Statements: on SQLite ``BEGIN IMMEDIATE``, one read, one write; on PostgreSQL the lock,
        one read, one write (see ``_LOCK``); a first turn adds the INSERT of its conversation."""
        # A Connection, not a Session: a turn writes no ORM objects, and the Session's own work
        # cost more than the statements. An exception from the caller's block leaves through
        # ``with connect()``, which rolls back.
        with self._writer, self._connect() as conn:
            with _store_errors("load the conversation"):
                conn.begin()
                now = datetime.now(UTC)
                where = {"channel": channel, "address": address, "key": key}
                if self.sqlite:
                    row = beside = conn.execute(_READ_ALL, where).one()
                    if row.id is None:   # a first turn (the write lock is ours: no race)
                        row = conn.execute(self._create, self._new(where, now)).one()
                else:
                    row = conn.execute(_LOCK, where).one_or_none()
                    if row is None:  # a first turn; if another one races it, this insert does nothing
                        row = conn.execute(self._create, self._new(where, now)).one_or_none()
                        if row is None:
                            row = conn.execute(_LOCK, where).one()
                    beside = conn.execute(_READ_BESIDE, {**where, "conversation_id": row.id}).one()
            turn = Turn(row.id, row.state, conn, now, channel,
                        row.updated_at if row.state is not None else None, address,
                        opted_out=bool(beside.opted_out),
                        _replay_key=key,
                        _replayed=(None if beside.replay_conversation_id is None else
                                   (beside.replay_output, beside.replay_conversation_id)))
            turn._stored_channel_text = turn._channel_text = beside.channel_data
            yield turn
            if turn._unchanged:
                conn.rollback()
                return
            _check_deadline()   # the caller has given up: a late commit would act unseen
            with _store_errors("commit the turn"):
                self._write(turn, row)
                conn.commit()
        self._changed(row.id)

    @staticmethod
    def _new(where: dict, now: datetime) -> dict:
        return {"channel": where["channel"], "address": where["address"], "created_at": now,
                "updated_at": now}

    def _changed(self, conversation_id: int | None) -> None:
        """A commit (None: of unknown conversations): noted, and every waiter woken."""
        with self.committed:
            self._change_no += 1
            self._changes.append((self._change_no, conversation_id))
            self.committed.notify_all()

    def _connect(self) -> Connection:
        with _store_errors("reach the database"):
            return self.engine.connect()

    def call_within(self, seconds: float, fn, *args):
        """``fn(*args)``, given at most ``seconds`` to finish; raises ``StoreUnavailable`` as soon
        as they have passed. ``fn`` runs on a small pool of this store's threads, in a copy of
        the caller's context (a Flask request's included); whatever connection it still has
        busy at the deadline is cut, so a turn it had open rolls back. A commit under way at
        that very moment may still land: the caller cannot know, as with any lost answer."""
        deadline = time.monotonic() + seconds
        context = contextvars.copy_context()

        def run():
            if time.monotonic() >= deadline:     # waited in the queue for all its time
                raise StoreUnavailable("no time left to reach the database")
            _deadline.set(deadline)              # in the copied context only
            return fn(*args)

        future = self._executor().submit(context.run, run)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            future.cancel()
            raise StoreUnavailable("the database did not answer in time") from None

    def _executor(self) -> ThreadPoolExecutor:
        with self._calls_lock:
            if self._calls is None:
                self._calls = ThreadPoolExecutor(max_workers=16,
                                                 thread_name_prefix="kaifong-store-call")
            return self._calls
    def change_mark(self) -> int:
        """Where the commits heard so far end (for ``changed_since``)."""
        with self.committed:
            return self._change_no

    def changed_since(self, mark: int) -> tuple[int, frozenset | None]:
        """The conversations committed since ``mark`` (heard in this process, or from others
        on PostgreSQL), and the new mark. None when it is not known which (a commit of
        unknown conversations, or more commits than are remembered): read the database."""
        with self.committed:
            if self._change_no == mark:
                return mark, frozenset()
            if not self._changes or self._changes[0][0] > mark + 1:
                return self._change_no, None
            ids = {cid for no, cid in self._changes if no > mark}
            return self._change_no, (None if None in ids else frozenset(ids))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction not tied to a conversation (seeding slots, admin jobs)."""
        with self._writer, Session(self.engine) as session, _store_errors("write"), \
                session.begin():
            yield session

    @property
    def _create(self):
        return _CREATE[self.engine.dialect.name]

    def _write(self, turn: Turn, row) -> None:
        """Everything the turn changed, in one statement (``_WRITE``)."""
        now, state = turn.now, turn.state
        values: dict[str, Any] = {
            "conversation_id": row.id, "channel": turn.channel, "at": now,
            "first_seq": row.last_seq + 1, "version": row.version + 1,
            "last_seq": row.last_seq + len(turn._lines),
            "lines": _json(turn._lines), "events": _json(turn._events),
            "inbound": _json(turn._inbound), "channel_action": turn._channel_action(),
            "channel_data": turn._channel_text}
        if state is None:   # nothing to mirror: the columns stay as they are
            values.update({name: getattr(row, name) for name in _MIRRORED})
        else:
            status = state.get("status") or "bot"
            escalation = state.get("escalation") or {}
            priority = escalation.get("priority")
            since = row.waiting_since
            if status == "waiting" and since is None:
                since = now
            elif status == "bot":
                since = None
            values.update(
                state=state, status=status, locale=state.get("locale"),
                procedure=state.get("procedure"), step=state.get("step"),
                escalation_reason=escalation.get("reason"),
                priority=None if priority is None else int(priority),
                waiting_since=since, turns=int(state.get("turns") or 0))
        if self.sqlite:
            _sqlite_turn_write(turn.session)
        turn.session.execute(_WRITE[self.engine.dialect.name], values)

    # -- reads: a plain (deferred) transaction, so that they never wait for the write lock on SQLite

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _store_errors("read"), self.engine.connect() as conn:
            conn.execution_options(kaifong_read_only=True)
            yield conn

    def state(self, channel: str, address: str) -> dict | None:
        with self._read() as conn:
            return conn.scalar(sa.select(conversations.c.state).where(
                conversations.c.channel == channel, conversations.c.address == address))

    def conversation_id(self, channel: str, address: str) -> int | None:
        with self._read() as conn:
            return conn.scalar(sa.select(conversations.c.id).where(
                conversations.c.channel == channel, conversations.c.address == address))

    def address_of(self, conversation_id: int) -> tuple[str, str] | None:
        """(channel, address) of a conversation, or None if there is no such conversation."""
        with self._read() as conn:
            row = conn.execute(sa.select(conversations.c.channel, conversations.c.address)
                               .where(conversations.c.id == conversation_id)).first()
        return (row.channel, row.address) if row else None

    def queue(self, statuses=("waiting",), limit: int = 100) -> list[QueueEntry]:
        """Most urgent first (priority 0 before 1), then whoever has waited longest."""
        with self._read() as conn:
            rows = conn.execute(queue_query(statuses, limit)).all()
        return [QueueEntry(
            conversation_id=r.id, channel=r.channel, address=r.address, status=r.status,
            reason=r.escalation_reason, priority=r.priority, since=r.waiting_since,
            procedure=r.procedure, step=r.step, locale=r.locale,
            summary=((r.state or {}).get("escalation") or {}).get("summary") or {},
        ) for r in rows]

    def transcript(self, conversation_id: int, after_seq: int = 0) -> list[Line]:
        """The lines after ``after_seq`` (all of them by default), in order."""
        t = transcript_lines.c
        query = sa.select(t.seq, t.role, t.text, t.at, t.meta).where(
            t.conversation_id == conversation_id, t.seq > after_seq).order_by(t.seq)
        with self._read() as conn:
            return [Line(r.seq, r.role, r.text, r.at, r.meta or {}) for r in conn.execute(query)]

    def events(self, conversation_id: int) -> list[Event]:
        e = events.c
        query = (sa.select(e.kind, e.data, e.at).where(e.conversation_id == conversation_id)
                 .order_by(e.id))
        with self._read() as conn:
            return [Event(r.kind, r.data or {}, r.at) for r in conn.execute(query)]

    def wait_committed(self, timeout: float) -> bool:
        """Sleep until a turn commits, or ``timeout`` seconds pass (then False). In this
        process a commit wakes it at once; on PostgreSQL, so does another process's
        (LISTEN/NOTIFY). Callers check the database after waking: a wake-up is a hint, never
        the news itself."""
        if not self.sqlite:
            self._listen()
        with self.committed:
            return self.committed.wait(timeout)

    @property
    def hears_other_processes(self) -> bool:
        """True while commits of other processes wake ``wait_committed`` (PostgreSQL, with the
        listener connected); else they are seen only by reading the database again."""
        return self._listener is not None and self._listener.connected.is_set()

    def _listen(self) -> None:
        with self._listener_lock:
            if self._listener is None:
                self._listener = _Listener(self.engine.url, self._changed)
                self._listener.start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        if self._calls is not None:
            self._calls.shutdown(wait=False, cancel_futures=True)
        self._watchdog.stop()
        self.engine.dispose()


class _WriterLock:
    """This process's SQLite writer lock, waited for no longer than a statement may take."""

    def __init__(self, timeout: float):
        self._lock = threading.RLock()
        self.timeout = timeout

    def __enter__(self):
        if not self._lock.acquire(timeout=self.timeout):
            raise StoreUnavailable("the database is busy: no turn to write within the time allowed")
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()


class _Watchdog:
    """Cuts the socket of a PostgreSQL connection still busy after its deadline.

    ``statement_timeout`` is kept by the server: a server that has gone silent (a stopped host, a
    partition where something still accepts the TCP connection) answers nothing, ever, and the
    driver would wait with it. Cutting the socket (``shutdown``) makes the driver's call fail at
    once; SQLAlchemy then throws that connection away. One thread per store, started on first
    use, asleep while nothing is watched."""

    def __init__(self):
        self._watched: dict[int, tuple[float, Any]] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def watch(self, dbapi_connection, deadline: float) -> None:
        with self._changed:
            self._watched[id(dbapi_connection)] = (deadline, dbapi_connection)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="kaifong-store-watchdog",
                                                daemon=True)
                self._thread.start()
            self._changed.notify()

    def unwatch(self, dbapi_connection) -> None:
        with self._changed:
            self._watched.pop(id(dbapi_connection), None)

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while not self._stopping:
                now = time.monotonic()
                overdue = [key for key, (at, _) in self._watched.items() if at <= now]
                for key in overdue:
                    _cut(self._watched.pop(key)[1])
                soonest = min((at for at, _ in self._watched.values()), default=now + 60)
                self._changed.wait(max(0.01, soonest - now))


def _cut(dbapi_connection) -> None:
    raw = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    try:
        fd = raw.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as sock:   # shutdown acts on the shared socket
            sock.shutdown(socket.SHUT_RDWR)
        log.warning("store: a database connection was cut after its deadline")
    except Exception as error:  # already closed: nothing to cut
        log.debug("store: nothing to cut (%s)", type(error).__name__)


class _Listener(threading.Thread):
    """One connection per process that LISTENs for other processes' commits on PostgreSQL and
    tells the store which conversation each one changed (``Store._changed``). When the connection fails it says so once, and tries again every
    few seconds; meanwhile waiters fall back to reading the database on a short period."""

    def __init__(self, url, changed: Callable[[int | None], None]):
        super().__init__(name="kaifong-store-listener", daemon=True)
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.changed = changed
        self.connected = threading.Event()
        self._stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        failed_before = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.changed(None)  # anything committed while we were not listening
                    self.connected.set()
                    failed_before = False
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.changed(int(note.payload) if note.payload.isdigit() else None)
            except psycopg.Error as error:
                if not failed_before:
                    log.warning("store: cannot listen for other processes' changes (%s); "
                                "live views read the database every half second meanwhile",
                                type(error).__name__)
                failed_before = True
            finally:
                self.connected.clear()
            self._stopping.wait(3)

    def stop(self) -> None:
        self._stopping.set()


def queue_query(statuses, limit: int):
    """The conversations in ``statuses``, most urgent first (priority 0 before 1), then whoever
    has waited longest: the one order of every queue (the store's, the staff desk's)."""
    c = conversations.c
    return (sa.select(conversations).where(c.status.in_(list(statuses)))
            .order_by(c.priority.is_(None), c.priority, c.waiting_since.is_(None),
                      c.waiting_since, c.id)
            .limit(limit))


@functools.cache
def migration_heads() -> frozenset[str]:
    """The head revisions of ``assistant/migrations/versions``, read from each script's
    ``revision`` and ``down_revision`` assignments without importing Alembic (a test checks
    this against Alembic's own ``ScriptDirectory``). Empty when a script cannot be read so."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        if path.name == "__init__.py":
            continue
        found: dict[str, Any] = {}
        try:
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.AnnAssign | ast.Assign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if (isinstance(target, ast.Name) and node.value is not None
                                and target.id in ("revision", "down_revision")):
                            found[target.id] = ast.literal_eval(node.value)
        except (OSError, SyntaxError, ValueError):
            return frozenset()
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str):
            return frozenset()
        revisions.add(revision)
        replaced.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - replaced)


def make_engine(url: str, timeouts: Timeouts | None = None,
                watchdog: _Watchdog | None = None) -> Engine:
    """An engine set up as the store needs it (also used by the Alembic command line), with
    ``timeouts`` (default: from the environment) on every wait for the database."""
    timeouts = timeouts or Timeouts.from_env()
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):  # psycopg 3 is the PostgreSQL driver we ship
        url = url.set(drivername="postgresql+psycopg")
    # hide_parameters: errors must not carry message text or personal data into anyone's logs.
    if url.get_backend_name() != "sqlite":
        statement_ms = int(timeouts.statement * 1000)
        connect_args = {
            "connect_timeout": max(2, round(timeouts.connect)),
            # an idle transaction holds its row locks: a client that vanished mid-turn must not
            # keep the conversation locked for long
            "options": f"-c statement_timeout={statement_ms} "
                       f"-c idle_in_transaction_session_timeout={max(60_000, 6 * statement_ms)}",
            "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
            "keepalives_count": 3,
        }
        engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True,
                                  pool_timeout=timeouts.pool, connect_args=connect_args)
        if url.get_backend_name() == "postgresql" and watchdog is not None:
            _watch_connections(engine, watchdog)
        return engine
    engine = sa.create_engine(url, hide_parameters=True)
    busy_ms = int(timeouts.statement * 1000)
    sa.event.listen(engine, "connect", lambda conn, record: _sqlite_connect(conn, busy_ms))
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _watch_connections(engine: Engine, watchdog: _Watchdog) -> None:
    """A connection checked out under a ``call_within`` deadline is cut when it passes; every
    pooled connection's liveness check (``pool_pre_ping``) has ``PING_LIMIT`` at most."""

    @sa.event.listens_for(engine, "checkout")
    def checkout(dbapi_connection, record, proxy):
        deadline = _deadline.get()
        if deadline is not None:
            watchdog.watch(dbapi_connection, deadline)

    @sa.event.listens_for(engine, "checkin")
    def checkin(dbapi_connection, record):
        if dbapi_connection is not None:
            watchdog.unwatch(dbapi_connection)

    @sa.event.listens_for(engine, "invalidate")
    def invalidate(dbapi_connection, record, exception):
        if dbapi_connection is not None:
            watchdog.unwatch(dbapi_connection)

    dialect = engine.dialect
    ping = dialect.do_ping

    def do_ping(dbapi_connection):
        deadline = time.monotonic() + PING_LIMIT
        if _deadline.get() is not None:
            deadline = min(deadline, _deadline.get())
        watchdog.watch(dbapi_connection, deadline)
        try:
            return ping(dbapi_connection)
        finally:
            watchdog.unwatch(dbapi_connection)

    dialect.do_ping = do_ping


def database_url(environ=os.environ) -> str:
    """``KAIFONG_DATABASE_URL``, else SQLite in ``<KAIFONG_DATA_DIR or ./var>/kaifong.db``; the
    data directory is made if it is missing."""
    if environ.get("KAIFONG_DATABASE_URL"):
        return environ["KAIFONG_DATABASE_URL"]
    data_dir = Path(environ.get("KAIFONG_DATA_DIR") or "var").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'kaifong.db'}"


def _check_deadline() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() >= deadline:
        raise StoreUnavailable("the time allowed ran out before the turn could be committed")


@contextmanager
def _store_errors(what: str) -> Iterator[None]:
    """The database's own errors become ``StoreError`` (the original one is its ``__cause__``)."""
    try:
        yield
    except (OperationalError, PoolTimeout) as error:   # refused, silent, cut or timed out
        raise StoreUnavailable(f"the store could not {what}: the database is unavailable") \
            from error
    except SQLAlchemyError as error:
        raise StoreError(f"the store could not {what}") from error


# SQLAlchemy's documented pysqlite recipe: take transaction control away from the sqlite3 module,
# then begin every write transaction with BEGIN IMMEDIATE so that writers queue up at the start
# (waiting up to busy_timeout) instead of failing when a read lock would be upgraded.

def _sqlite_connect(dbapi_connection, busy_ms: int) -> None:
    dbapi_connection.isolation_level = None
    for pragma in (f"busy_timeout = {busy_ms}", "journal_mode = WAL", "foreign_keys = ON",
                   "synchronous = NORMAL"):
        dbapi_connection.execute(f"PRAGMA {pragma}").close()


def _sqlite_turn_write(conn: Connection) -> None:
    """The TEMP view and trigger through which a turn writes in one statement (``_WRITE``), made
    once per pooled connection, at its first turn (not at connect: a TEMP trigger naming a table
    stops Alembic's batch migrations from renaming it). Through the DBAPI connection: DDL of
    this connection only, no migration, and not one of the turn's statements."""
    info = conn.connection.info
    if not info.get("kaifong_turn_write"):
        raw = conn.connection.driver_connection
        for statement in _SQLITE_TURN_WRITE:
            raw.execute(statement).close()
        info["kaifong_turn_write"] = True


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get("kaifong_read_only")
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
