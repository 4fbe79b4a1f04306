"""When the database refuses or goes silent: Twilio's webhooks still answer with valid TwiML that
apologises (in the message's language, else both), ``/healthz`` says 503, nothing is written late,
and the service recovers when the database returns. A real PostgreSQL behind a TCP proxy that
forwards, goes silent (accepts, then never answers) or refuses (``bench/db_proxy.py``); on SQLite,
a write lock held by another connection. How long each answer takes is measured by
``bench/bench_db_faults.py``, not here."""

from __future__ import annotations

import logging
import sqlite3
import uuid
import xml.etree.ElementTree as ET

import pytest

from bench.db_proxy import DbProxy
from channels.sms.devtools import twilio_form
from tests.assistant import conftest as store_fixtures

from .sms.conftest import sign as sign_sms
from .voice.conftest import TOKEN, make_app

postgres_admin = store_fixtures.postgres_admin
SMS_URL = "http://localhost/sms"
EN = "Sorry, Kaifong cannot answer just now. Please send your message again in a few minutes."
ZH = "對不起，街坊暫時未能回覆。請過幾分鐘再傳送你的訊息。"
NUMBER = "+85291230000"


@pytest.fixture
def proxied(request, tmp_path, monkeypatch):
    """The app on a fresh PostgreSQL database reached through a ``DbProxy``."""
    admin = request.getfixturevalue("postgres_admin")
    name = f"kaifong_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    proxy = DbProxy(admin.url.port or 5432, admin.url.host or "127.0.0.1").start()
    url = admin.url.set(database=name, port=proxy.port)
    app = make_app(tmp_path, monkeypatch, SEED_SLOTS_DAYS=0,
                   DATABASE_URL=url.render_as_string(hide_password=False))
    yield app, proxy
    proxy.stop()
    app.extensions["kaifong"].store.close()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def text_sms(client, body: str, sid: str, number: str = NUMBER):
    form = twilio_form(number, "+85230000000", body, sid)
    return client.post("/sms", data=form, headers={"X-Twilio-Signature": sign_sms(SMS_URL, form,
                                                                                    TOKEN)})


def call(client):
    form = {"CallSid": "CA" + "1" * 32, "From": NUMBER, "To": "+85230000000",
            "CallStatus": "ringing", "AccountSid": "AC" + "0" * 32}
    url = "http://localhost/voice"
    return client.post("/voice", data=form, headers={"X-Twilio-Signature": sign_sms(url, form,
                                                                                      TOKEN)})


def messages(response) -> list[str]:
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response"
    return [m.text for m in root.iter("Message")]


@pytest.mark.postgres
@pytest.mark.parametrize("fault", ["silent", "refuse"])
def test_webhooks_apologise_in_twiml_when_postgresql_is_down(proxied, fault, caplog):
    app, proxy = proxied
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert messages(text_sms(client, "hello", "SM" + "a" * 32))   # the pool has a connection
    proxy.mode = fault
    with caplog.at_level(logging.INFO):
        assert messages(text_sms(client, "你好", "SM" + "b" * 32, "+85291230001")) == [ZH]
        assert messages(text_sms(client, "hello there", "SM" + "c" * 32, "+85291230002")) == [EN]
        assert messages(text_sms(client, "1", "SM" + "d" * 32, "+85291230003")) == [
            f"{ZH}\n{EN}"]
        health = client.get("/healthz")
        spoken = call(client)
    assert health.status_code == 503 and health.get_json()["database"] == "unreachable"
    assert spoken.status_code == 200 and spoken.mimetype == "text/xml"
    root = ET.fromstring(spoken.get_data(as_text=True))
    says = [(s.get("language"), s.text) for s in root.iter("Say")]
    assert says == [("zh-HK", "對不起，我哋暫時未能接聽。請稍後再打嚟。再見。"),
                    ("en-GB", "Sorry, we cannot take your call just now. Please call again "
                              "later. Goodbye.")]
    assert [child.tag for child in root][-1] == "Hangup"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "could not be reached" in logged
    for private in ("+852", "你好", "hello there"):
        assert private not in logged

    proxy.mode = "forward"               # the database is back: so is the service
    assert client.get("/healthz").status_code == 200
    store = app.extensions["kaifong"].store
    # what got an apology was not kept: its number has no conversation
    assert store.conversation_id("sms", "+85291230001") is None
    assert messages(text_sms(client, "你好", "SM" + "e" * 32, "+85291230001"))
    assert store.conversation_id("sms", "+85291230001") is not None


def test_on_sqlite_a_held_write_lock_gets_an_apology_and_no_late_write(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, SEED_SLOTS_DAYS=0, WEBHOOK_DB_SECONDS="0.5")
    client = app.test_client()
    store = app.extensions["kaifong"].store
    other = sqlite3.connect(tmp_path / "voice.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")      # another process is writing, and takes its time
        assert messages(text_sms(client, "hello there", "SM" + "f" * 32)) == [EN]
        other.execute("COMMIT")
        # the next turn waits for the one that was waiting for the lock: that one gave up
        # rather than commit a turn whose answer no one saw
        assert messages(text_sms(client, "good morning", "SM" + "g" * 32)) != [EN]
        said = [line.text for line in store.transcript(store.conversation_id("sms", NUMBER))
                if line.role == "user"]
        assert said == ["good morning"]
    finally:
        other.close()
        store.close()


def test_the_webhook_deadline_must_make_sense(tmp_path, monkeypatch):
    for wrong in ("0", "-1", "soon", "60"):
        with pytest.raises(ValueError, match="KAIFONG_WEBHOOK_DB_SECONDS"):
            make_app(tmp_path, monkeypatch, WEBHOOK_DB_SECONDS=wrong)
