"""The SMS outbox worker, sending through the real twilio client and its real HTTP stack to a
local server that answers like Twilio's Messages API (``fake_twilio``), against SQLite and
PostgreSQL. Time is passed in (``now``), never slept through."""

import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from assistant.model import new_state
from assistant.outbox import claim, enqueue, is_opted_out, now_utc, opt_out, outbox
from assistant.services import (
    SERVICES,
    ServiceContext,
    appointment_reminders,
    appointment_slots,
    appointments,
    seed_slots,
)
from assistant.store import Store
from channels.sms.outbound import (
    REMINDER,
    OutboxWorker,
    SmsConfigError,
    SmsSendError,
    _send_error,
    handle_status,
    make_client,
    run_worker_cli,
    start_worker_thread,
    stop_worker_thread,
)
from tests.assistant import conftest as store_fixtures
from tests.assistant.conftest import run_together
from tests.channels.sms import fake_twilio as fake_server

# Fixtures made this module's own: the store on SQLite and on PostgreSQL, and the fake Twilio.
db_url, open_store, postgres_admin, store = (store_fixtures.db_url, store_fixtures.open_store,
                                             store_fixtures.postgres_admin, store_fixtures.store)
fake_twilio = fake_server.fake_twilio

PROJECT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)   # 10:00 on Wednesday 25 November in Hong Kong
SMS, PHONE, OTHER = "sms", "+85291234567", "+85261234567"
PUBLIC_URL = "https://kaifong.example.org"


class Boom(Exception):
    pass


@pytest.fixture
def workers(fake_twilio):
    """Makes workers pointed at the fake Twilio; closes their clients afterwards."""
    made = []

    def make(store, catalogue=None, **options) -> OutboxWorker:
        config = {**fake_twilio.config, "KAIFONG_PUBLIC_URL": PUBLIC_URL}
        made.append(OutboxWorker.from_config(store, config, catalogue=catalogue, **options))
        return made[-1]

    yield make
    for worker in made:
        worker.close()


def queue(store, body, to=PHONE, now=NOW, kind="staff_reply") -> int:
    with store.transaction() as session:
        return enqueue(session, SMS, to, body, kind, now)


def rows(store) -> list:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()


def drain(worker, now=NOW) -> int:
    """Rounds until nothing is due; how many messages this worker claimed."""
    total = 0
    while claimed := worker.run_once(now):
        total += claimed
    return total


# -- the client --------------------------------------------------------------------------------

def test_the_client_is_twilios_own_talking_to_the_api_url(fake_twilio):
    client = make_client(fake_twilio.config)
    try:
        assert isinstance(client, Client)
        message = client.messages.create(to=PHONE, from_=fake_twilio.from_number, body="hi")
    finally:
        client.http_client.session.close()
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.body) == ("queued", PHONE, "hi")
    assert [(m.to, m.from_, m.body) for m in fake_twilio.messages] == [
        (PHONE, fake_twilio.from_number, "hi")]


def test_missing_settings_are_named():
    with pytest.raises(SmsConfigError, match="TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"):
        make_client({})
    with pytest.raises(SmsConfigError, match="TWILIO_AUTH_TOKEN"):
        make_client({"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": " "})
    with pytest.raises(SmsConfigError, match="KAIFONG_TWILIO_API_URL"):
        make_client({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
                     "KAIFONG_TWILIO_API_URL": "localhost:8080"})


def test_a_worker_needs_the_from_number(store, fake_twilio):
    config = {k: v for k, v in fake_twilio.config.items() if k != "TWILIO_FROM_NUMBER"}
    with pytest.raises(SmsConfigError, match="TWILIO_FROM_NUMBER"):
        OutboxWorker.from_config(store, config)


# -- sending -------------------------------------------------------------------------------------

def test_a_message_queued_in_a_turn_commits_and_rolls_back_with_it(store, workers, fake_twilio):
    with store.turn(SMS, PHONE) as turn:
        turn.state = new_state()
        turn.add_line("staff", "Your form is ready.")
        enqueue(turn.session, SMS, PHONE, "Your form is ready.", "staff_reply", NOW,
                conversation_id=turn.conversation_id)
    with pytest.raises(Boom), store.turn(SMS, PHONE) as turn:
        turn.state = new_state()
        enqueue(turn.session, SMS, PHONE, "Never sent.", "staff_reply", NOW)
        raise Boom
    assert [r.body for r in rows(store)] == ["Your form is ready."]
    assert drain(workers(store)) == 1
    assert fake_twilio.bodies() == ["Your form is ready."]


def test_the_worker_sends_through_twilio_and_records_the_sid(store, workers, fake_twilio):
    first, second = queue(store, "First"), queue(store, "Second", to=OTHER)
    worker = workers(store)
    assert worker.run_once(NOW) == 2
    assert [(m.to, m.from_, m.body, m.status_callback) for m in fake_twilio.messages] == [
        (PHONE, fake_twilio.from_number, "First", f"{PUBLIC_URL}/sms/status"),
        (OTHER, fake_twilio.from_number, "Second", f"{PUBLIC_URL}/sms/status")]
    assert [(r.id, r.status, r.attempts, r.provider_id, r.sent_at) for r in rows(store)] == [
        (first, "sent", 1, fake_twilio.messages[0].sid, NOW),
        (second, "sent", 1, fake_twilio.messages[1].sid, NOW)]
    assert worker.run_once(NOW + timedelta(days=1)) == 0
    assert fake_twilio.requests == 2


def test_without_a_public_url_no_status_callback_is_asked_for(store, fake_twilio):
    queue(store, "Hello")
    worker = OutboxWorker.from_config(store, fake_twilio.config)
    try:
        worker.run_once(NOW)
    finally:
        worker.close()
    assert fake_twilio.messages[0].status_callback is None


def test_an_outage_pauses_sending_without_burning_attempts(store, workers, fake_twilio):
    bodies = [f"Message {i}" for i in range(3)]
    for body in bodies:
        queue(store, body)
    worker = workers(store)

    fake_twilio.down()                                    # connection refused
    assert worker.run_once(NOW) == 1                      # one try, then the worker pauses
    # the message tried is back in its place, the try not counted; the others untouched
    assert [(r.status, r.attempts, r.last_error) for r in rows(store)] == [
        ("queued", 0, "connection"), ("queued", 0, None), ("queued", 0, None)]
    assert {r.next_attempt_at for r in rows(store)} == {NOW}
    assert worker.paused_until == NOW + timedelta(seconds=2)
    assert worker.run_once(NOW + timedelta(seconds=1)) == 0    # paused

    fake_twilio.up()
    fake_twilio.down(refuse=False)                        # up, but answering 503
    assert worker.run_once(NOW + timedelta(seconds=2)) == 1
    assert fake_twilio.requests == 1                      # one probe, nothing more
    assert rows(store)[0].last_error == "http:503"
    assert worker.paused_until == NOW + timedelta(seconds=6)   # twice as long in a row
    assert [r.attempts for r in rows(store)] == [0, 0, 0]

    fake_twilio.up()
    assert worker.run_once(NOW + timedelta(seconds=5)) == 0
    assert worker.run_once(NOW + timedelta(seconds=6)) == 3
    assert fake_twilio.bodies() == bodies                 # each once, in order
    assert [(r.status, r.attempts, r.last_error) for r in rows(store)] == [
        ("sent", 1, None)] * 3
    assert worker.paused_until is None and worker.outages == 0   # sent: the pause is over


def test_the_pause_grows_to_its_cap_and_a_long_outage_still_gives_up(store, workers,
                                                                     fake_twilio):
    queue(store, "Hello")
    worker = workers(store)
    fake_twilio.down()
    now, pauses = NOW, []
    for _ in range(7):
        worker.run_once(now)
        pauses.append((worker.paused_until - now).total_seconds())
        now = worker.paused_until
    assert pauses == [2, 4, 8, 10, 10, 10, 10]
    [r] = rows(store)
    assert (r.status, r.attempts) == ("queued", 0)
    worker.run_once(NOW + timedelta(days=2))             # queued two days ago: given up
    [r] = rows(store)
    assert (r.status, r.last_error) == ("failed", "connection")


def test_one_failure_defers_no_one_else(store, workers, fake_twilio):
    """A message refused for its own passing reason (21611: the From number's queue is full)
    is retried with backoff and counted; the rest of the round goes out."""
    fake_twilio.reject(PHONE, 21611, "This 'From' number has exceeded the maximum number of "
                       "queued messages")
    queue(store, "Busy now")
    queue(store, "For someone else", to=OTHER)
    worker = workers(store)
    assert worker.run_once(NOW) == 2
    assert [(r.status, r.attempts, r.last_error) for r in rows(store)] == [
        ("queued", 1, "http:400 twilio:21611"), ("sent", 1, None)]
    assert rows(store)[0].next_attempt_at == NOW + timedelta(seconds=5)
    assert worker.paused_until is None
    fake_twilio._rejections.clear()
    assert worker.run_once(NOW + timedelta(seconds=5)) == 1
    assert fake_twilio.bodies() == ["For someone else", "Busy now"]


def test_a_worker_killed_mid_send_holds_only_that_message(db_url, open_store, workers,
                                                          fake_twilio):
    """Claims are one at a time: a worker that dies while Twilio has its request holds one
    message for its lease, and another worker sends all the rest meanwhile."""
    first, second = open_store(), open_store()
    for i in range(10):
        queue(first, f"Message {i}")
    dying = workers(first)

    class Killed(BaseException):
        pass

    send = dying._send

    def send_then_die(message):
        send(message)
        raise Killed                       # dies after Twilio took it, before recording it

    dying._send = send_then_die
    with pytest.raises(Killed):
        dying.run_once(NOW)
    assert [r.status for r in rows(first)].count("sending") == 1
    other = workers(second)
    assert other.run_once(NOW + timedelta(seconds=1)) == 9     # all but the one held
    assert other.run_once(NOW + dying.lease) == 1              # and that one after the lease
    assert fake_twilio.bodies().count("Message 0") == 2        # the at-least-once window
    assert {r.status for r in rows(first)} == {"sent"}


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_rate_limits_and_server_errors_are_retried(store, workers, fake_twilio, status):
    message_id = queue(store, "Hello")
    fake_twilio.fail_next(1, status)
    worker = workers(store)
    worker.run_once(NOW)
    [r] = rows(store)
    assert (r.status, r.last_error.split()[0]) == ("queued", f"http:{status}")
    assert (r.attempts, r.next_attempt_at) == (0, NOW)    # an outage: not counted
    worker.run_once(worker.paused_until)
    [r] = rows(store)
    assert (r.id, r.status, r.attempts) == (message_id, "sent", 1)
    assert fake_twilio.bodies() == ["Hello"]


def test_refused_credentials_are_retried_not_dropped(store, fake_twilio):
    queue(store, "Hello")
    wrong = {**fake_twilio.config, "TWILIO_AUTH_TOKEN": "not-the-token"}
    worker = OutboxWorker.from_config(store, wrong)
    try:
        worker.run_once(NOW)
    finally:
        worker.close()
    [r] = rows(store)
    assert (r.status, r.last_error) == ("queued", "http:401 twilio:20003")
    assert fake_twilio.messages == []


def test_an_invalid_number_fails_for_good_and_the_others_still_go(store, workers, fake_twilio):
    bad = "+85290000000"
    fake_twilio.invalid_number(bad)
    queue(store, "To a bad number", to=bad)
    queue(store, "To a good number")
    worker = workers(store)
    assert worker.run_once(NOW) == 2
    assert [(r.status, r.last_error) for r in rows(store)] == [
        ("failed", "http:400 twilio:21211"), ("sent", None)]
    assert worker.run_once(NOW + timedelta(days=3)) == 0
    assert fake_twilio.requests == 2
    assert fake_twilio.bodies() == ["To a good number"]


def test_an_unsubscribed_recipient_is_opted_out(store, workers, fake_twilio):
    fake_twilio.unsubscribed(PHONE)
    queue(store, "First")
    worker = workers(store)
    worker.run_once(NOW)
    assert [(r.status, r.last_error) for r in rows(store)] == [("failed", "http:400 twilio:21610")]
    with store.transaction() as session:
        assert is_opted_out(session, SMS, PHONE)
    queue(store, "Second")
    worker.run_once(NOW)
    assert [r.status for r in rows(store)] == ["failed", "cancelled"]
    assert fake_twilio.requests == 1


def test_messages_to_someone_who_opted_out_are_cancelled_never_sent(store, workers, fake_twilio):
    with store.transaction() as session:
        opt_out(session, SMS, PHONE, NOW)
    queue(store, "Not for them")
    queue(store, "For someone else", to=OTHER)
    assert workers(store).run_once(NOW) == 1
    assert [(r.status, r.last_error) for r in rows(store)] == [
        ("cancelled", "opted_out"), ("sent", None)]
    assert fake_twilio.bodies() == ["For someone else"]


def test_twilio_errors_are_mapped_with_their_cause(store, workers, fake_twilio):
    fake_twilio.invalid_number(PHONE)
    queue(store, "Hello")
    worker = workers(store)
    with store.transaction() as session:
        [message] = claim(session, SMS, NOW)
    with pytest.raises(SmsSendError) as raised:
        worker._send(message)
    assert isinstance(raised.value.__cause__, TwilioRestException)
    assert (raised.value.code, raised.value.permanent) == ("http:400 twilio:21211", True)
    assert PHONE not in str(raised.value)


@pytest.mark.parametrize(("error", "code", "permanent", "outage"), [
    (TwilioRestException(400, "/Messages.json", "bad 'To'", 21211, "POST"),
     "http:400 twilio:21211", True, False),
    (TwilioRestException(400, "/Messages.json", "unsubscribed", 21610, "POST"),
     "http:400 twilio:21610", True, False),
    (TwilioRestException(400, "/Messages.json", "queue full", 21611, "POST"),
     "http:400 twilio:21611", False, False),
    (TwilioRestException(400, "/Messages.json", "bad 'From'", 21606, "POST"),
     "http:400 twilio:21606", False, True),
    (TwilioRestException(401, "/Messages.json", "auth", 20003, "POST"),
     "http:401 twilio:20003", False, True),
    (TwilioRestException(429, "/Messages.json", "slow down", 20429, "POST"),
     "http:429 twilio:20429", False, True),
    (TwilioRestException(503, "/Messages.json", "down", 503, "POST"), "http:503", False, True),
    (requests.ConnectTimeout(), "timeout", False, True),
    (requests.ReadTimeout(), "timeout", False, True),
    (requests.ConnectionError(), "connection", False, True),
    (requests.TooManyRedirects(), "request", False, True),
    (TwilioException("no status"), "bad_response", False, True),
    (ValueError("not JSON"), "bad_response", False, True),
])
def test_every_vendor_error_is_mapped(error, code, permanent, outage):
    mapped = _send_error(error)
    assert (mapped.code, mapped.permanent, mapped.outage) == (code, permanent, outage)
    assert mapped.unsubscribed == (code == "http:400 twilio:21610")


def test_logs_carry_no_number_and_no_text(store, workers, fake_twilio, caplog):
    caplog.set_level(logging.DEBUG)
    fake_twilio.invalid_number(OTHER)
    queue(store, "Secret body one")
    queue(store, "Secret body two", to=OTHER)
    worker = workers(store)
    fake_twilio.down()
    worker.run_once(NOW)
    fake_twilio.up()
    worker.run_once(NOW + timedelta(minutes=1))
    assert [r.status for r in rows(store)] == ["sent", "failed"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "the provider is out (connection)" in logged
    assert "giving up (http:400 twilio:21211)" in logged
    for secret in ("91234567", "61234567", "Secret body"):
        assert secret not in logged


def test_a_stopping_worker_puts_the_rest_of_its_batch_back(store, workers, fake_twilio):
    for i in range(3):
        queue(store, f"Message {i}", now=now_utc())
    stop = threading.Event()
    fake_twilio.on_message = lambda message: stop.set()   # stop while the first is sent
    workers(store).run_forever(stop, interval=0.01)
    assert fake_twilio.bodies() == ["Message 0"]
    assert [(r.status, r.attempts, r.lease_until) for r in rows(store)] == [
        ("sent", 1, None), ("queued", 0, None), ("queued", 0, None)]


def test_the_worker_carries_on_when_the_database_fails(tmp_path, fake_twilio, caplog):
    store = Store(f"sqlite:///{tmp_path / 'kaifong.db'}")
    worker = OutboxWorker.from_config(store, fake_twilio.config)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE opt_outs")   # every claim now fails
        queue(store, "Hello")
        stop = threading.Event()
        rounds = []
        original = worker.run_once

        def counted(now=None):
            rounds.append(now)
            if len(rounds) == 3:
                stop.set()
            return original(now)

        worker.run_once = counted
        worker.run_forever(stop, interval=0.01)
    finally:
        worker.close()
        store.close()
    assert len(rounds) == 3          # it went on after a failed round
    assert "the database is unavailable" in caplog.text
    assert "Hello" not in caplog.text


# -- more than one worker, and restarts --------------------------------------------------------

def test_two_workers_send_each_message_once(db_url, open_store, workers, fake_twilio):
    first, second = open_store(), open_store()   # two engines, as two processes would have
    bodies = [f"Message {i:02d}" for i in range(50)]
    for body in bodies:
        queue(first, body)
    one, two = workers(first, batch=5), workers(second, batch=5)
    claimed = run_together(drain, (one,), (two,))
    assert sum(claimed) == 50
    assert Counter(fake_twilio.bodies()) == Counter(bodies)          # each exactly once
    assert {(r.status, r.attempts) for r in rows(first)} == {("sent", 1)}
    assert len({r.provider_id for r in rows(first)}) == 50


RESTART = """
import os, sys
from datetime import datetime
from assistant.model import new_state
from assistant.outbox import enqueue
from assistant.store import Store
from channels.sms.outbound import OutboxWorker

now, phone = datetime.fromisoformat(sys.argv[1]), sys.argv[2]
store = Store(os.environ["KAIFONG_DATABASE_URL"])
with store.turn("sms", phone) as turn:
    turn.state = new_state()
    for i in range(3):
        enqueue(turn.session, "sms", phone, f"Before the restart {i}", "staff_reply", now,
                conversation_id=turn.conversation_id)
worker = OutboxWorker.from_config(store, os.environ)
print(worker.run_once(now))
worker.close()
store.close()
"""


def subprocess_env(fake_twilio, db_url, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAIFONG_", "TWILIO_"))}
    return {**env, **fake_twilio.config, "KAIFONG_DATABASE_URL": db_url, **extra}


@pytest.mark.slow
def test_messages_queued_before_a_restart_are_sent_after_it(db_url, open_store, workers,
                                                            fake_twilio):
    fake_twilio.down()   # the first process cannot send: it queues, tries once, and exits
    done = subprocess.run([sys.executable, "-c", RESTART, NOW.isoformat(), PHONE], cwd=PROJECT,
                          env=subprocess_env(fake_twilio, db_url), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1"]                   # one try, then a pause
    assert "the provider is out (connection)" in done.stderr
    assert PHONE not in done.stderr and "Before the restart" not in done.stderr

    fake_twilio.up()
    store = open_store()   # a new process: a new store and a new worker on the same database
    assert workers(store).run_once(NOW + timedelta(seconds=5)) == 3
    assert fake_twilio.bodies() == [f"Before the restart {i}" for i in range(3)]
    assert [(r.status, r.attempts) for r in rows(store)] == [("sent", 1)] * 3


@pytest.mark.slow
def test_the_worker_runs_alone_until_sigterm(db_url, open_store, fake_twilio):
    store = open_store()
    queue(store, "Alone one", now=now_utc())
    queue(store, "Alone two", now=now_utc())
    script = "from channels.sms.outbound import run_worker_cli; raise SystemExit(run_worker_cli())"
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT,
                              env=subprocess_env(fake_twilio, db_url), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert fake_twilio.wait_for(2)
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert sorted(fake_twilio.bodies()) == ["Alone one", "Alone two"]
    assert [r.status for r in rows(store)] == ["sent", "sent"]
    assert "2 sent" in err and "worker stopped" in err
    assert PHONE not in err and "91234567" not in err and "Alone" not in err


def test_the_worker_alone_names_missing_settings():
    with pytest.raises(SmsConfigError, match="TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and "
                                             "TWILIO_FROM_NUMBER"):
        run_worker_cli({}, stop=threading.Event())


# -- in `kaifong serve` --------------------------------------------------------------------------

@pytest.fixture
def app_with(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("KAIFONG_", "TWILIO_")):
            monkeypatch.delenv(name)
    made = []

    def make(**config):
        from channels import create_app
        made.append(create_app({"DATA_DIR": str(tmp_path), "SEED_SLOTS_DAYS": 0,
                                "DATABASE_URL": f"sqlite:///{tmp_path / 'kaifong.db'}",
                                **config}))
        return made[-1]

    yield make
    for app in made:
        app.extensions["kaifong"].store.close()


def test_serve_runs_a_worker_thread(app_with, fake_twilio):
    app = app_with(**fake_twilio.config, KAIFONG_SMS_WORKER_INTERVAL="0.05")
    store = app.extensions["kaifong"].store
    thread, stop = start_worker_thread(app)
    try:
        assert thread.daemon and thread.is_alive()
        queue(store, "From the staff console", now=datetime.now(UTC))
        assert fake_twilio.wait_for(1)
    finally:
        stop_worker_thread(thread, stop, timeout=60)
    assert not thread.is_alive()
    assert fake_twilio.bodies() == ["From the staff console"]
    assert [r.status for r in rows(store)] == ["sent"]


@pytest.mark.parametrize("off", ["off", "false", "0", "no"])
def test_serve_without_a_worker_when_it_is_switched_off(app_with, fake_twilio, off):
    app = app_with(**fake_twilio.config, KAIFONG_SMS_WORKER=off)
    thread, stop = start_worker_thread(app)
    assert thread is None and not stop.is_set()


def test_a_worker_switch_that_is_neither_on_nor_off_is_an_error(app_with, fake_twilio):
    app = app_with(**fake_twilio.config, KAIFONG_SMS_WORKER="maybe")
    with pytest.raises(SmsConfigError, match="KAIFONG_SMS_WORKER must be on or off"):
        start_worker_thread(app)


def test_serve_without_twilio_settings_warns_and_keeps_the_messages(app_with, caplog):
    app = app_with()
    with caplog.at_level(logging.WARNING, logger="channels.sms.outbound"):
        thread, _ = start_worker_thread(app)
    assert thread is None
    assert ("sending SMS needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
            in caplog.text)


# -- delivery reports ---------------------------------------------------------------------------

def test_status_callbacks_record_delivery(store, workers, fake_twilio):
    queue(store, "Hello")
    worker = workers(store)
    worker.run_once(NOW)
    sid = fake_twilio.messages[0].sid
    assert handle_status(store, {"MessageSid": sid, "MessageStatus": "sent"}) is True
    assert rows(store)[0].status == "sent"
    assert handle_status(store, {"MessageSid": sid, "MessageStatus": "delivered"}) is True
    assert rows(store)[0].status == "delivered"
    assert handle_status(store, {"MessageSid": sid, "MessageStatus": "sent"}) is True  # late
    assert rows(store)[0].status == "delivered"


def test_a_queued_report_does_not_send_the_message_again(store, workers, fake_twilio):
    queue(store, "Hello")
    worker = workers(store)
    worker.run_once(NOW)
    sid = fake_twilio.messages[0].sid
    for reported in ("queued", "sending", "accepted", "receiving"):
        assert handle_status(store, {"MessageSid": sid, "MessageStatus": reported}) is True
    assert rows(store)[0].status == "sent"
    assert worker.run_once(NOW + timedelta(days=1)) == 0
    assert fake_twilio.bodies() == ["Hello"]


def test_an_undelivered_report_keeps_twilios_error_code(store, workers, fake_twilio):
    queue(store, "Hello")
    workers(store).run_once(NOW)
    sid = fake_twilio.messages[0].sid
    assert handle_status(store, {"MessageSid": sid, "MessageStatus": "undelivered",
                                 "ErrorCode": "30003"}) is True
    assert (rows(store)[0].status, rows(store)[0].last_error) == ("undelivered", "twilio:30003")


@pytest.mark.parametrize("form", [
    {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"},   # not ours
    {"MessageSid": "SM" + "0" * 32, "MessageStatus": "receiving"},
    {"MessageSid": "not-a-sid", "MessageStatus": "delivered"},
    {"MessageSid": "SM" + "0" * 5000, "MessageStatus": "delivered"},
    {"MessageStatus": "delivered"},
])
def test_a_report_for_an_unknown_message_is_refused(store, form):
    assert handle_status(store, form) is False


# -- appointment reminders ------------------------------------------------------------------------

def booking(store, starts: str, phone: str | None, locale: str | None = None,
            address: str | None = None, cancel: bool = False) -> str:
    """Book the slot at ``starts`` (Hong Kong time, "2026-11-26 10:30") at Sham Shui Po."""
    moment = datetime.fromisoformat(starts + "+08:00")
    with store.transaction() as session:
        slot = session.scalar(sa.select(appointment_slots.c.id).where(
            appointment_slots.c.starts_at == moment))
    conversation_id = None
    if locale is not None:
        with store.turn(SMS, address) as turn:
            turn.state = new_state(locale)
            conversation_id = turn.conversation_id
    with store.transaction() as session:
        ctx = ServiceContext(session, conversation_id, NOW)
        result = SERVICES["book_slot"](ctx, {"slot_id": str(slot), "phone": phone})
        assert result.ok
        if cancel:
            assert SERVICES["cancel_booking"](ctx, {"reference": result.data["reference"]}).ok
    return result.data["reference"]


@pytest.fixture
def bookings(store):
    with store.transaction() as session:
        seed_slots(session, ["sham_shui_po"], date(2026, 11, 25), 3, ["10:30", "15:30"], 9)
    return {
        "en": booking(store, "2026-11-26 10:30", "91234567", "en", "+85291234567"),
        "zh": booking(store, "2026-11-26 15:30", "61234567", "zh-HK", "+85261234567"),
        "unknown": booking(store, "2026-11-26 10:30", "5123 4567"),
        "fixed_line": booking(store, "2026-11-26 10:30", "23456789"),
        "no_phone": booking(store, "2026-11-26 10:30", None),
        "cancelled": booking(store, "2026-11-26 10:30", "91112222", cancel=True),
        "day_after": booking(store, "2026-11-27 10:30", "92223333"),
        "today": booking(store, "2026-11-25 15:30", "93334444"),
    }


def english(reference, when):
    return (f"Reminder: your appointment {reference} is tomorrow, {when}, at Sham Shui Po "
            f"District Office. Reply to this message if you need help.")


def chinese(reference, when):
    return f"提醒你：你嘅預約{reference}係聽日，{when}，喺深水埗民政事務處。有咩需要幫手，可以回覆呢個短訊。"


def test_reminders_go_out_once_the_day_before(store, workers, fake_twilio, bookings, catalogue):
    assert REMINDER == english("{reference}", "{when}").replace("Sham Shui Po District Office",
                                                                "{office}")
    worker = workers(store, catalogue=catalogue)
    assert worker.run_once(NOW) == 3
    assert sorted((m.to, m.body) for m in fake_twilio.messages) == sorted([
        ("+85291234567", english(bookings["en"], "Thursday 26 November, 10:30 am")),
        ("+85261234567", chinese(bookings["zh"], "11月26日（星期四）下午3時30分")),
        ("+85251234567", chinese(bookings["unknown"], "11月26日（星期四）上午10時30分") + "\n\n"
         + english(bookings["unknown"], "Thursday 26 November, 10:30 am")),
    ])
    assert worker.run_once(NOW + timedelta(hours=3)) == 0
    assert len(fake_twilio.messages) == 3
    assert {r.kind for r in rows(store)} == {"reminder"}
    with store.engine.connect() as conn:   # the fixed line was looked at once, and left
        assert conn.scalar(sa.select(sa.func.count()).select_from(appointment_reminders)) == 4


def test_reminders_wait_for_the_morning(store, workers, fake_twilio, bookings, catalogue):
    worker = workers(store, catalogue=catalogue)
    night = datetime(2026, 11, 25, 0, 59, tzinfo=UTC) - timedelta(hours=8)  # 00:59 in HK
    assert worker.queue_reminders(night) == 0
    assert worker.queue_reminders(datetime(2026, 11, 25, 0, 59, tzinfo=UTC)) == 0  # 08:59
    assert worker.queue_reminders(datetime(2026, 11, 25, 1, 0, tzinfo=UTC)) == 3   # 09:00
    assert worker.queue_reminders(datetime(2026, 11, 25, 11, 0, tzinfo=UTC)) == 0  # done


def test_a_reminder_not_sent_by_midnight_is_not_sent(store, workers, fake_twilio, bookings,
                                                     catalogue):
    worker = workers(store, catalogue=catalogue)
    fake_twilio.down()
    worker.run_once(NOW)
    fake_twilio.up()
    midnight = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)    # 00:00 on the 26th in Hong Kong
    assert worker.run_once(midnight) == 0
    assert {r.status for r in rows(store)} == {"expired"}
    assert fake_twilio.messages == []


def test_a_reminder_of_an_appointment_cancelled_meanwhile_is_cancelled(
        store, workers, fake_twilio, bookings, catalogue):
    worker = workers(store, catalogue=catalogue)
    fake_twilio.down()
    worker.run_once(NOW)
    with store.transaction() as session:
        ctx = ServiceContext(session, None, NOW)
        assert SERVICES["cancel_booking"](ctx, {"reference": bookings["en"]}).ok
    fake_twilio.up()
    assert worker.run_once(NOW + timedelta(minutes=5)) == 2
    assert "+85291234567" not in [m.to for m in fake_twilio.messages]
    with store.engine.connect() as conn:
        cancelled = conn.execute(sa.select(outbox.c.status, outbox.c.last_error).join(
            appointment_reminders, appointment_reminders.c.outbox_id == outbox.c.id).join(
            appointments, appointments.c.id == appointment_reminders.c.appointment_id).where(
            appointments.c.reference == bookings["en"])).one()
    assert tuple(cancelled) == ("cancelled", "appointment_cancelled")


def test_two_workers_queue_each_reminder_once(store, open_store, workers, fake_twilio,
                                              bookings, catalogue):
    one = workers(store, catalogue=catalogue)
    two = workers(open_store(), catalogue=catalogue)
    queued = run_together(lambda worker: worker.queue_reminders(NOW), (one,), (two,))
    assert sorted(queued) in ([0, 3], [1, 2], [2, 1], [3, 0]) and sum(queued) == 3
    run_together(drain, (one,), (two,))
    assert len(fake_twilio.messages) == 3


def test_a_send_the_database_could_not_record_is_recorded_next_round(tmp_path, fake_twilio):
    """Twilio took the message, then the database failed: the worker keeps the sid and records
    it before anything else, so the message is not sent again when its lease ends."""
    store = Store(f"sqlite:///{tmp_path / 'kaifong.db'}")
    worker = OutboxWorker.from_config(store, fake_twilio.config)
    try:
        queue(store, "Hello")
        original = store.transaction
        calls = []

        def failing_once():
            calls.append(1)
            if len(calls) == 2:             # the claim works; recording the send does not
                from assistant.errors import StoreError
                raise StoreError("the database is unavailable")
            return original()

        store.transaction = failing_once
        with pytest.raises(Exception, match="unavailable"):
            worker.run_once(NOW)
        store.transaction = original
        [r] = rows(store)
        assert r.status == "sending" and fake_twilio.bodies() == ["Hello"]
        assert worker.run_once(NOW + timedelta(seconds=1)) == 0
        [r] = rows(store)
        assert (r.status, r.provider_id) == ("sent", fake_twilio.messages[0].sid)
        assert worker.run_once(NOW + worker.lease) == 0          # nothing sent twice
        assert fake_twilio.bodies() == ["Hello"]
    finally:
        worker.close()
        store.close()
