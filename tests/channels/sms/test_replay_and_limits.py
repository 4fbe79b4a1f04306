"""At the SMS webhook's edge, on SQLite and PostgreSQL alike: a MessageSid Twilio sends again
leaves the conversation exactly as it was (``updated_at`` included, so the "welcome back"
greeting after idle time still comes); the same MessageSid from another number is refused (409,
empty TwiML; that number's conversation is not touched and the first number's reply is never
given); and fields longer than Twilio ever sends are refused with 400 before the store sees
them."""

from __future__ import annotations

import sqlalchemy as sa

from assistant.store import conversations
from channels.sms.devtools import messages_in
from channels.sms.mapping import MAX_ADDRESS
from tests.assistant import conftest as store_fixtures

from .conftest import Phone, make_app, new_sid

db_url, postgres_admin = store_fixtures.db_url, store_fixtures.postgres_admin


def row_of(app, number):
    with app.extensions["kaifong"].store.engine.connect() as conn:
        return conn.execute(sa.select(conversations.c.updated_at, conversations.c.version,
                                      conversations.c.turns)
                            .where(conversations.c.address == number)).first()


def test_a_replayed_message_changes_nothing_and_another_number_cannot_replay_it(
        tmp_path, monkeypatch, db_url):
    app = make_app(tmp_path, monkeypatch, DATABASE_URL=db_url, SEED_SLOTS_DAYS=0)
    try:
        client = app.test_client()
        first, other = Phone(client, "+85291110001"), Phone(client, "+85291110002")
        sid = new_sid()
        reply = first.texts("lost my id card", sid=sid)
        before = row_of(app, first.number)
        assert first.texts("lost my id card", sid=sid) == reply        # Twilio's retry
        assert row_of(app, first.number) == before                      # updated_at included

        stolen = other.send("lost my id card", sid=sid)
        assert stolen.status_code == 409 and stolen.mimetype == "text/xml"
        assert messages_in(stolen.get_data(as_text=True)) == []
        assert row_of(app, other.number) is None
        assert row_of(app, first.number) == before
        assert other.texts("lost my id card")          # with its own id, a message as any other
    finally:
        app.extensions["kaifong"].store.close()


def test_fields_longer_than_twilio_sends_are_refused_at_the_edge(tmp_path, monkeypatch, db_url):
    app = make_app(tmp_path, monkeypatch, DATABASE_URL=db_url, SEED_SLOTS_DAYS=0)
    try:
        client = app.test_client()
        for number in ("+852" + "9" * 300, "+852" + "9" * (MAX_ADDRESS - 3)):
            response = Phone(client, number).send("hello")
            assert response.status_code == 400, response.get_data(as_text=True)
            assert row_of(app, number) is None
        longest = "+852" + "9" * (MAX_ADDRESS - 4)
        assert Phone(client, longest).texts("hello")
        assert row_of(app, longest) is not None
        assert Phone(client, "+85291110003").send("hello", sid="SM" + "1" * 200).status_code \
            == 400
    finally:
        app.extensions["kaifong"].store.close()
