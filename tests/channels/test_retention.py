"""Retention kept, provably: real procedures walked through the channels (SMS through the signed
webhook, a phone call, the kiosk by touch, a member of staff in the desk) with an identity card number, phone
numbers and free text; the rows aged past the period; the purge; then every column of every
table in the schema scanned for those values. On SQLite and PostgreSQL.

The scan is shown to catch a leftover (a value seeded back into a table is found), so it can
fail; and what must stay stays: a recent conversation, a conversation with an open staff case,
the records (reference, procedure, outcome, dates).
"""

from __future__ import annotations

import re
import wave
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from assistant.retention import PURGED_PREFIX, Retention, last_purge, purge, purge_if_due
from assistant.services import appointments, reports
from assistant.staff import add_staff
from assistant.store import UTCDateTime, conversations, metadata
from assistant.understanding import hkid_check_digit
from channels import create_app
from channels.voice.devtools import TwilioCall
from tests.assistant.conftest import db_url, postgres_admin  # noqa: F401
from tests.channels.kiosk.conftest import Kiosk
from tests.channels.sms.conftest import TOKEN, Phone
from tests.channels.voice.conftest import client_post

pytestmark = pytest.mark.slow


def hkid(prefix: str, digits: str) -> str:
    return f"{prefix}{digits}({hkid_check_digit(prefix, digits)})"


# what the citizens give: each one is searched for in every column of every table afterwards
OLD_HKID = hkid("C", "668142")
OLD_PHONE = "6123 4588"                 # the reminder number given in the identity card procedure
OLD_SENDER = "+85296543219"             # who texted it
REPORTER = "+85297771234"
REPORT_PHONE = "5432 1987"
FREE_TEXT = "a parrot screams at the laundrette every night"
KIOSK_HKID = hkid("K", "515151")
CALLER = "+85293336666"
SPOKEN = "the lift in block seven has been broken for a fortnight"
# kept: a conversation of yesterday, and one with a person still on the case
NEW_HKID = hkid("D", "373737")
NEW_SENDER = "+85290001111"
OPEN_SENDER = "+85290002222"
OPEN_TEXT = "my landlord keeps my rent deposit forever"


class SilentEngine:
    def synthesise(self, text, voice, rate, sample_rate, path):
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(b"\0\0" * 64)


@pytest.fixture
def app(tmp_path, monkeypatch, db_url):  # noqa: F811
    for name in ("KAIFONG_PUBLIC_URL", "KAIFONG_DATABASE_URL", "KAIFONG_RETENTION_DAYS",
                 "KAIFONG_KIOSK_IDS", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url, "TESTING": True,
                      "SEED_SLOTS_DAYS": 14, "TWILIO_AUTH_TOKEN": TOKEN,
                      "SPEECH_ENGINE": SilentEngine(), "KIOSK_IDS": "demo",
                      "KIOSK_LOCALE": "en"})
    yield app
    app.extensions["kaifong"].store.close()


def walk(phone: Phone, app, first: str, values: dict, limit: int = 40) -> list[str]:
    """Text ``first``, then answer whatever the assistant asks from ``values`` (by slot, else
    by the question's type) until the procedure ends and "No, that's all" is said."""
    assistant = app.extensions["kaifong"]
    said = [phone.texts(first)]
    for _ in range(limit):
        state = assistant.store.state("sms", phone.number)
        pending = state.get("pending") or {}
        if state["status"] != "bot":
            return said
        if pending.get("kind") == "ended":
            said.append(phone.texts("2"))
            return said
        answer = "1"                       # consent, read-backs, information, the review
        if pending.get("kind") not in ("consent", "confirm") and state.get("procedure"):
            step = assistant.catalogue.procedures[state["procedure"]].steps[state["step"]]
            if step.kind == "question":
                answer = values.get(step.slot) or values.get(step.type) or "1"
        said.append(phone.texts(answer))
    raise AssertionError(f"the procedure did not end: {said[-3:]}")


def needles(*values: str) -> list[str]:
    """Each value as the database might hold it: letters and digits only, upper case."""
    return [re.sub(r"[^0-9A-Z]", "", v.upper()) for v in values]


def scan(engine, wanted: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every value found in any column of any table."""
    found = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    plain = re.sub(r"[^0-9A-Z]", "", str(value).upper())
                    for needle in wanted:
                        if needle in plain:
                            found.append((table.name, column, needle))
    return found


def age(engine, days: int) -> None:
    """Move every date of every row ``days`` into the past: what time would do."""
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            columns = {c.name: c for c in table.columns if isinstance(c.type, UTCDateTime)}
            if not columns:
                continue
            for row in conn.execute(sa.select(table)).mappings():
                key = [c == row[c.name] for c in table.primary_key.columns]
                conn.execute(sa.update(table).where(*key).values({
                    name: row[name] - timedelta(days=days)
                    for name in columns if row[name] is not None}))


def test_after_a_purge_no_identity_card_phone_number_or_free_text_is_left_anywhere(app):
    client = app.test_client()
    store = app.extensions["kaifong"].store
    desk = app.extensions["kaifong_desk"]

    # the identity card procedure by SMS, to its reference
    said = walk(Phone(client, OLD_SENDER), app, "lost my id card",
                {"hkid": OLD_HKID, "phone": OLD_PHONE, "office": "1"})
    assert any("KF" in m for texts in said for m in texts)
    # a problem report by SMS, with free text and a phone number
    walk(Phone(client, REPORTER), app, "report a problem",
         {"danger": "2", "location": FREE_TEXT, "details": FREE_TEXT, "want_callback": "1",
          "phone": REPORT_PHONE})
    # a second visit of the reporter, handed to a person who replies and closes the case
    reporter = Phone(client, REPORTER)
    reporter.texts(f"person please, about {FREE_TEXT}")
    case = store.conversation_id("sms", REPORTER)
    desk.claim(case, "mei")
    desk.reply(case, "mei", f"About {FREE_TEXT}: we will call {REPORT_PHONE}.")
    desk.close(case, "mei", "resolved", note=f"called {REPORT_PHONE}")
    # internal notes (any time, by anyone; with an assignment too) hold free text: purged alike
    desk.note(case, "wong", f"neighbour says {FREE_TEXT}")
    reporter.texts("person please")
    add_staff(store.engine, "mei", "correct horse battery", "agent")
    desk.assign(case, "wong", "mei", note=f"call {REPORT_PHONE} first")
    desk.close(case, "mei", "resolved")
    # at the kiosk: a visitor keys an identity card number and walks away mid-entry
    kiosk = Kiosk(app.test_client())
    kiosk.start("choose:hkid_replacement")
    kiosk.tap("Continue")
    kiosk.tap("I lost it")
    kiosk.tap("Continue")
    kiosk.tap("Yes")
    kiosk.keys(KIOSK_HKID.replace("(", "").replace(")", ""))
    kiosk.touch("done")
    # by phone: a caller chooses English and says what is wrong
    call = TwilioCall("http://localhost", TOKEN, CALLER, post=client_post(app.test_client()))
    call.start()
    call.press("2")
    call.say(SPOKEN)
    # the scan finds everything before the purge (so it can find a leftover after it)
    old = needles(OLD_HKID, OLD_PHONE, OLD_SENDER, REPORTER, REPORT_PHONE, FREE_TEXT,
                  KIOSK_HKID, CALLER, SPOKEN)
    found_before = {needle for _, _, needle in scan(store.engine, old)}
    assert found_before == set(old)
    tables_before = {table for table, _, _ in scan(store.engine, old)}
    assert {"transcript_lines", "conversations", "inbound_messages", "outbox", "appointments",
            "reports", "channel_state"} <= tables_before
    references = {r.reference for r in _all(store, appointments)} | {
        r.reference for r in _all(store, reports)}

    age(store.engine, 91)
    # after the aging: a citizen of yesterday, and a case still open with a person
    walk(Phone(client, NEW_SENDER), app, "lost my id card",
         {"hkid": NEW_HKID, "phone": "6999 8888", "office": "1"})
    opened = Phone(client, OPEN_SENDER)
    opened.texts(f"person please, {OPEN_TEXT}")
    age(store.engine, 0)
    with store.engine.begin() as conn:      # the open case is old too: kept all the same
        conn.execute(sa.update(conversations).where(
            conversations.c.address == OPEN_SENDER).values(
            created_at=datetime.now(UTC) - timedelta(days=200),
            updated_at=datetime.now(UTC) - timedelta(days=200)))

    dry = purge(store, Retention.of(app.extensions["kaifong"].catalogue), dry_run=True)
    assert dry.transcript_lines > 0 and dry.conversations >= 3
    assert {n for _, _, n in scan(store.engine, old)} == set(old)     # a dry run changes nothing
    result = purge(store, Retention.of(app.extensions["kaifong"].catalogue))
    assert result.counts() == {**dry.counts(), "files": 0}
    assert result.kept_open_cases == 1

    leftovers = scan(store.engine, old)
    assert leftovers == []
    # what must stay: yesterday's citizen and the open case, whole
    assert {n for _, _, n in scan(store.engine, needles(NEW_HKID, NEW_SENDER))} == set(
        needles(NEW_HKID, NEW_SENDER))
    assert {n for _, _, n in scan(store.engine, needles(OPEN_TEXT, OPEN_SENDER))} == set(
        needles(OPEN_TEXT, OPEN_SENDER))
    # and the records: references, procedures, outcomes, dates, without personal values
    assert references <= {r.reference for r in _all(store, appointments)} | {
        r.reference for r in _all(store, reports)}
    purged = [r for r in _all(store, conversations) if r.address.startswith(PURGED_PREFIX)]
    assert len(purged) == result.conversations
    assert any(r.state.get("outcome") == "resolved" for r in purged)
    assert all(r.created_at and r.updated_at for r in purged)
    # the audit log has the counts
    entry = desk.audit_log(limit=1)[0]
    assert entry.action == "purged" and entry.detail["transcript_lines"] == \
        result.transcript_lines
    # a second purge finds nothing more to do
    again = purge(store, Retention.of(app.extensions["kaifong"].catalogue))
    assert sum(again.counts().values()) == again.kept_open_cases

    # the scan catches a leftover: one value put back is found, where it was put
    with store.engine.begin() as conn:
        conn.execute(sa.update(reports).values(details=f"seen again {FREE_TEXT}"))
    assert {(t, c) for t, c, _ in scan(store.engine, old)} == {("reports", "details")}


def _all(store, table):
    with store.engine.connect() as conn:
        return conn.execute(sa.select(table)).all()


def test_the_daily_run_purges_once_a_day_whoever_asks(app):
    store = app.extensions["kaifong"].store
    retention = Retention.of(app.extensions["kaifong"].catalogue)
    now = datetime.now(UTC)
    assert last_purge(store) is None
    assert purge_if_due(store, retention, now=now) is not None
    assert purge_if_due(store, retention, now=now + timedelta(hours=2)) is None
    assert last_purge(store) == now.replace(microsecond=now.microsecond)
    assert purge_if_due(store, retention, now=now + timedelta(hours=24)) is not None


def test_two_processes_asking_at_once_purge_once(app):
    from tests.assistant.conftest import run_together
    store = app.extensions["kaifong"].store
    retention = Retention.of(app.extensions["kaifong"].catalogue)
    results = run_together(lambda: purge_if_due(store, retention), (), (), ())
    assert sum(r is not None for r in results) == 1
    assert [e.action for e in app.extensions["kaifong_desk"].audit_log()] == ["purged"]


def test_kaifong_serve_purges_in_a_thread_unless_told_not_to(app, monkeypatch):
    from channels.retention import start_purge_thread
    app.config["PURGE_DAILY"] = "off"
    thread, _ = start_purge_thread(app)
    assert thread is None
    app.config["PURGE_DAILY"] = "on"
    thread, stop = start_purge_thread(app)
    try:
        for _ in range(200):
            if last_purge(app.extensions["kaifong"].store):
                break
            stop.wait(0.05)
        entry = app.extensions["kaifong_desk"].audit_log(limit=1)[0]
        assert (entry.staff, entry.action) == ("kaifong (daily)", "purged")
    finally:
        stop.set()
        thread.join(10)
