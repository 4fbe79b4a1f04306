"""The floors for the SMS benchmark (see bench_sms.py), served by the same gunicorn set-up:

* ``create_bare_app``: a Flask endpoint that returns a fixed TwiML message, with nothing else
  (no signature check, no database): the floor of the web stack alone, as the issue asks.
* ``create_persisting_app``: the same, plus what any webhook that may not lose a message must
  do: check Twilio's signature with the twilio library's ``RequestValidator`` and commit the
  message to SQLite (WAL, synchronous=NORMAL, one transaction per message, one writer at a time
  behind a lock of the process, as the store does) before answering. No dialogue, no state.

The second floor exists because the first has no commit at all: a handler that must persist
each message durably pays for a transaction that the bare endpoint never does, so the ratio to
the bare endpoint mixes the cost of the dialogue with the cost of durability. Both are reported.
"""

import os
import sqlite3
import threading
from pathlib import Path

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

FIXED = str(MessagingResponse().message("Hello, I am Kaifong. Reply 1 for the menu."))


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.post("/sms")
    def sms():
        return Response(FIXED, mimetype="text/xml")

    app.add_url_rule("/healthz", "healthz", _healthz)
    return app


def create_persisting_app() -> Flask:
    app = Flask(__name__)
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    public_url = os.environ["KAIFONG_PUBLIC_URL"].rstrip("/")
    path = Path(os.environ["KAIFONG_DATA_DIR"]) / "floor.db"
    writer = threading.Lock()
    local = threading.local()

    def connection() -> sqlite3.Connection:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(path, isolation_level=None,
                                                check_same_thread=False)
            for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = NORMAL"):
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("CREATE TABLE IF NOT EXISTS messages (sid TEXT PRIMARY KEY, "
                         "address TEXT NOT NULL, body TEXT NOT NULL)")
        return conn

    @app.post("/sms")
    def sms():
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(public_url + request.path, request.form, signature):
            return Response("forbidden\n", 403, mimetype="text/plain")
        conn = connection()
        with writer:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT OR IGNORE INTO messages VALUES (?, ?, ?)",
                         (request.form["MessageSid"], request.form["From"],
                          request.form.get("Body", "")))
            conn.execute("COMMIT")
        return Response(FIXED, mimetype="text/xml")

    app.add_url_rule("/healthz", "healthz", _healthz)
    return app


def _healthz():
    return {"status": "ok"}
