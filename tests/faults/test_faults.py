"""The fault suite's short version (``bench/faults.py --rounds 1``), in CI: gunicorn with 3
workers on a fresh PostgreSQL database, two sms-workers, citizens texting signed webhooks
while workers, a sms-worker and the whole server are killed with -9, the fake Twilio fails
and the database refuses and goes silent; then the database must hold every answered message
once and in order, and each outbox message must have gone out once.

The checks are themselves checked: a doubled line, a lost line, two lines swapped, a
MessageSid answered twice and a message sent twice by Twilio, seeded into the run's results
afterwards, must each be caught. Figures (latencies) are printed by the bench, never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench import faults
from bench.faultkit import (
    ADMIN_URL,
    DbProxy,
    check_database,
    check_outbox,
    fresh_postgres,
    postgres_available,
)
from tests.channels.sms.fake_twilio import AcceptedMessage

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.skipif(not postgres_available(), reason="no PostgreSQL at "
                                 f"{ADMIN_URL.rsplit('@', 1)[-1]}")]

ROOT = Path(__file__).resolve().parents[2]
SHORT = ["--rounds", "1", "--workers", "3", "--numbers", "20", "--burst", "3", "--gap", "3",
         "--twilio-seconds", "6", "--db-seconds", "3", "--outbox", "50",
         "--outage-messages", "40", "--outage-seconds", "4"]


def test_under_kills_and_faults_nothing_is_lost_doubled_or_stuck():
    """One short run (one test: under pytest-xdist a shared fixture would run it once per
    worker), then its checks, then the same checks spoilt on purpose."""
    run = faults.Run(faults.parser().parse_args(SHORT))
    try:
        doc = run.run()
        print(json.dumps({k: doc[k] for k in ("load", "kills", "database", "outbox")}))
        assert doc["problems"] == []
        kills = doc["kills"]
        assert (kills["gunicorn_worker"], kills["whole_server"], kills["sms_worker"]) == (2, 1, 1)
        assert doc["load"]["answered"] > 100 and doc["load"]["resent"] > 0   # the faults bit
        # answered with the service's reply (not with its apology for a database out of reach)
        assert doc["database"]["accepted"] == doc["load"]["answered"] - doc["load"]["apologised"]
        assert doc["outbox"]["sent_once"] + doc["outbox"]["doubled_allowed"] == 140
        # queued during a Twilio outage: all sent once it was back, none charged for the outage
        assert doc["outbox_outage"]["max_attempts_charged"] == 1
        assert doc["outbox_outage"]["drained_after_twilio_back_s"] is not None

        the_checks_catch_a_doubled_a_lost_and_a_reordered_message(run)
        the_outbox_check_catches_a_message_sent_twice_or_not_at_all(run)
    finally:
        run.close()


def _user_lines(url: str, number: str) -> list:
    from assistant.store import conversations, transcript_lines

    engine = sa.create_engine(url)
    c, t = conversations.c, transcript_lines.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.id, t.conversation_id, t.seq, t.text).join(
            conversations, c.id == t.conversation_id).where(
            c.address == number, t.role == "user").order_by(t.seq)).all()
    engine.dispose()
    return rows


def _execute(url: str, statement, params=None) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement), params or {})
    engine.dispose()


def the_checks_catch_a_doubled_a_lost_and_a_reordered_message(run) -> None:
    sent = run.load.sent
    clean = check_database(run.db_url, sent)
    assert (clean["lost"], clean["doubled"], clean["out_of_order"]) == (0, 0, 0)
    # a number that sent one message after the other, each answered
    number = next(m.number for m in sent if m.sequential and m.answered
                  and m.number not in run.load.burst_numbers)
    lines = [r for r in _user_lines(run.db_url, number) if r.text.startswith("hello ")]
    first, second, last = lines[0], lines[1], lines[-1]
    top = max(r.seq for r in _user_lines(run.db_url, number)) + 100

    _execute(run.db_url, "INSERT INTO transcript_lines (conversation_id, seq, role, text, at) "
             "VALUES (:c, :s, 'user', :t, now())",
             {"c": first.conversation_id, "s": top, "t": first.text})
    assert check_database(run.db_url, sent)["doubled"] == 1

    _execute(run.db_url, "DELETE FROM transcript_lines WHERE id = :i", {"i": last.id})
    assert check_database(run.db_url, sent)["lost"] == 1

    # the first two swapped: the first now after the second
    _execute(run.db_url, "UPDATE transcript_lines SET seq = :s WHERE id = :i",
             {"s": top + 1, "i": first.id})
    _execute(run.db_url, "DELETE FROM transcript_lines WHERE conversation_id = :c AND seq = :s",
             {"c": first.conversation_id, "s": top})
    spoiled = check_database(run.db_url, sent)
    assert spoiled["out_of_order"] >= 1 and spoiled["doubled"] == 0
    assert second.seq < top + 1


def the_outbox_check_catches_a_message_sent_twice_or_not_at_all(run) -> None:
    clean = check_outbox(run.db_url, run.fake, run.outbox_bodies, worker_kills=0)
    assert clean["doubled"] == 0 and clean["not_sent"] == 0 and clean["stuck"] == 0
    original = list(run.fake.messages)
    try:
        twice = original[0]
        run.fake.messages.append(AcceptedMessage("SM" + "e" * 32, twice.to, twice.from_,
                                                 twice.body, None))
        spoiled = check_outbox(run.db_url, run.fake, run.outbox_bodies, worker_kills=0)
        assert (spoiled["doubled"], spoiled["doubled_unexplained"]) == (1, 1)
        # within the at-least-once window: one double allowed per sms-worker killed
        allowed = check_outbox(run.db_url, run.fake, run.outbox_bodies, worker_kills=1)
        assert (allowed["doubled_allowed"], allowed["doubled_unexplained"]) == (1, 0)
        run.fake.messages[:] = [m for m in original if m.body != twice.body]
        assert check_outbox(run.db_url, run.fake, run.outbox_bodies, 0)["not_sent"] == 1
    finally:
        run.fake.messages[:] = original
    _execute(run.db_url, "UPDATE outbox SET status = 'sending' WHERE body = :b",
             {"b": run.outbox_bodies[0]})
    stuck = check_outbox(run.db_url, run.fake, run.outbox_bodies, 0)
    assert stuck["stuck"] == 1 and stuck["row_disagrees"] == 1


def test_the_database_proxy_refuses_and_goes_silent():
    import socket
    import threading

    import psycopg

    url, drop = fresh_postgres(seed_days=0)
    proxy = DbProxy().start()
    info = sa.engine.make_url(url)
    conninfo = f"host=127.0.0.1 port={proxy.port} user={info.username} dbname={info.database}"
    try:
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            proxy.silence()
            got = []
            asking = threading.Thread(target=lambda: got.append(
                conn.execute("SELECT 2").fetchone()))
            asking.start()
            asking.join(1.0)
            assert asking.is_alive() and got == []             # no answer while silent
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=1) as raw:
                raw.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")   # SSLRequest
                with pytest.raises(TimeoutError):
                    raw.recv(1)                                 # nor to a new connection
            proxy.restore()
            asking.join(10)
            assert got == [(2,)]                                # held, not lost
        proxy.refuse()
        with pytest.raises(psycopg.OperationalError, match="refused"):
            psycopg.connect(conninfo, connect_timeout=2)
        proxy.restore()
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            assert conn.execute("SELECT 3").fetchone() == (3,)
    finally:
        proxy.close()
        drop()


def test_long_polls_never_take_more_than_the_budget_under_gunicorn(tmp_path):
    """bench_longpoll's quick run: 40 kiosk polls against 3 workers of 8 threads hold at most
    4 threads a worker, the rest are told to come back, and every webhook is answered."""
    out = tmp_path / "longpoll.json"
    done = subprocess.run([sys.executable, "bench/bench_longpoll.py", "--server", "gunicorn",
                           "--seconds", "4", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [run] = json.loads(out.read_text())["runs"]
    assert run["polls"]["held_at_once_max"] <= 3 * 4
    assert run["polls"]["held_at_once_max"] >= 3 * 4 - 2     # the budget is used
    assert run["polls"]["refused_answers"] > 0 and run["polls"]["errors"] == 0
    assert run["idle"]["failed"] == 0 and run["polls_held"]["failed"] == 0
