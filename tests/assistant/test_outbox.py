"""The outbox against SQLite and PostgreSQL: claims and their leases, the claim as a fence,
expiry, giving up, and delivery reports that only move a message forward. (Sending, through
Twilio, is tested in tests/channels/sms/test_outbound.py.)"""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from assistant.outbox import (
    GIVE_UP_AFTER,
    backoff,
    claim,
    enqueue,
    mark_failed,
    mark_sent,
    opt_in,
    opt_out,
    outbox,
    record_status,
    release,
)
from assistant.store import MIGRATIONS, metadata

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
SMS, PHONE = "sms", "+85291234567"


def queue(store, body="hello", now=NOW, **options) -> int:
    with store.transaction() as session:
        return enqueue(session, SMS, PHONE, body, "staff_reply", now, **options)


def take(store, now=NOW, limit=10):
    with store.transaction() as session:
        return claim(session, SMS, now, limit=limit, lease=LEASE)


def row(store, message_id):
    with store.engine.connect() as conn:
        return conn.execute(sa.select(outbox).where(outbox.c.id == message_id)).one()


def test_backoff_doubles_up_to_ten_minutes():
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [
        5, 10, 20, 40, 80, 160, 320, 600, 600]


def test_a_claim_is_held_until_its_lease_ends(store):
    message_id = queue(store)
    [first] = take(store)
    assert (first.id, first.attempts) == (message_id, 1)
    assert take(store) == []                           # held
    assert take(store, NOW + LEASE - timedelta(seconds=1)) == []
    [again] = take(store, NOW + LEASE)                 # the first worker died: taken over
    assert (again.id, again.attempts) == (message_id, 2)
    # The first worker's late result does not overwrite the second's claim ...
    assert mark_failed_in(store, first, "connection", NOW + LEASE) is None
    assert row(store, message_id).status == "sending"
    with store.transaction() as session:
        assert release(session, first, NOW) is False
    # ... but a message it did send is recorded as sent: it went out.
    with store.transaction() as session:
        assert mark_sent(session, message_id, "SM" + "1" * 32, NOW + LEASE) is True
    assert row(store, message_id).status == "sent"
    assert mark_failed_in(store, again, "connection", NOW + LEASE) is None
    assert row(store, message_id).status == "sent"


def mark_failed_in(store, message, error, now, permanent=False):
    with store.transaction() as session:
        return mark_failed(session, message, error, now, permanent=permanent)


def test_a_failed_send_is_retried_with_backoff(store):
    message_id = queue(store)
    [message] = take(store)
    assert mark_failed_in(store, message, "http:503", NOW) == "queued"
    r = row(store, message_id)
    assert (r.status, r.attempts, r.last_error, r.lease_until) == ("queued", 1, "http:503", None)
    assert r.next_attempt_at == NOW + timedelta(seconds=5)
    assert take(store, NOW + timedelta(seconds=4)) == []
    [message] = take(store, NOW + timedelta(seconds=5))
    assert message.attempts == 2


def test_passing_failures_are_retried_for_two_days_then_given_up(store):
    message_id = queue(store)
    moment = NOW
    for _ in range(20):   # an outage of more than two hours: still waiting for the provider
        [message] = take(store, moment)
        assert mark_failed_in(store, message, "connection", moment) == "queued"
        moment = row(store, message_id).next_attempt_at
    assert moment - NOW > timedelta(hours=2)
    [message] = take(store, NOW + GIVE_UP_AFTER - timedelta(seconds=1))
    assert mark_failed_in(store, message, "connection", NOW + GIVE_UP_AFTER - timedelta(
        seconds=1)) == "queued"
    [message] = take(store, NOW + GIVE_UP_AFTER + timedelta(minutes=10))
    assert mark_failed_in(store, message, "connection", NOW + GIVE_UP_AFTER) == "failed"
    assert take(store, NOW + timedelta(days=30)) == []


def test_a_permanent_failure_is_not_retried(store):
    message_id = queue(store)
    [message] = take(store)
    assert mark_failed_in(store, message, "http:400 twilio:21211", NOW, permanent=True) == "failed"
    assert row(store, message_id).status == "failed"
    assert take(store, NOW + timedelta(days=1)) == []


def test_a_released_message_is_due_again_without_an_attempt_counted(store):
    message_id = queue(store)
    [message] = take(store)
    with store.transaction() as session:
        assert release(session, message, NOW) is True
    r = row(store, message_id)
    assert (r.status, r.attempts, r.lease_until) == ("queued", 0, None)
    [again] = take(store)
    assert again.attempts == 1


def test_a_message_past_its_expiry_is_not_sent(store):
    fresh = queue(store, "fresh", expires_at=NOW + timedelta(hours=1))
    stale = queue(store, "stale", expires_at=NOW)
    assert [m.id for m in take(store)] == [fresh]
    assert row(store, stale).status == "expired"
    # a retry that would come after the expiry is not scheduled: the message fails now
    [message] = take(store, NOW + LEASE)
    assert mark_failed_in(store, message, "connection", NOW + timedelta(minutes=59, seconds=56)
                          ) == "failed"


def test_messages_to_an_opted_out_address_are_cancelled(store):
    with store.transaction() as session:
        opt_out(session, SMS, PHONE, NOW)
    message_id = queue(store)
    assert take(store) == []
    assert row(store, message_id).status == "cancelled"
    with store.transaction() as session:
        opt_in(session, SMS, PHONE)
    later = queue(store, "after opting in")
    assert [m.id for m in take(store)] == [later]


def sent(store, body="hello") -> tuple[int, str]:
    message_id = queue(store, body)
    [message] = take(store)
    sid = f"SM{message_id:032x}"
    with store.transaction() as session:
        mark_sent(session, message.id, sid, NOW)
    return message_id, sid


def report(store, sid, status, error=None) -> bool:
    with store.transaction() as session:
        return record_status(session, sid, status, NOW, error)


def test_delivery_reports_only_move_a_message_forward(store):
    message_id, sid = sent(store)
    assert report(store, sid, "sent") is True
    assert row(store, message_id).status == "sent"
    assert report(store, sid, "delivered") is True
    assert row(store, message_id).status == "delivered"
    assert report(store, sid, "sent") is True          # late, out of order: changes nothing
    assert report(store, sid, "undelivered", "twilio:30003") is True
    r = row(store, message_id)
    assert (r.status, r.last_error) == ("delivered", None)
    assert report(store, "SM" + "0" * 32, "delivered") is False


def test_a_report_never_puts_a_message_back_in_the_queue(store):
    message_id, sid = sent(store)
    with pytest.raises(ValueError):
        report(store, sid, "queued")
    with pytest.raises(ValueError):
        report(store, sid, "sending")
    assert row(store, message_id).status == "sent"
    assert take(store, NOW + timedelta(days=1)) == []


def test_an_undelivered_report_keeps_its_error_code(store):
    message_id, sid = sent(store)
    assert report(store, sid, "undelivered", "twilio:30003") is True
    r = row(store, message_id)
    assert (r.status, r.last_error) == ("undelivered", "twilio:30003")


def test_migration_0003_goes_down_and_up_again(store):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    queue(store)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    with store.engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        columns = [c["name"] for c in sa.inspect(conn).get_columns("outbox")]
    assert "appointment_reminders" not in names and "expires_at" not in columns
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 1
