"""The application factory: one Flask app for every channel (``from channels import create_app``).

Defaults, then the environment (``KAIFONG_*``), then ``test_config``. The assistant (catalogue,
store, services) hangs off ``app.extensions["kaifong"]``; there is no module-level app and no
global client. Channel blueprints register here as their issues land.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from flask import Flask, current_app, jsonify
from sqlalchemy import text

from assistant import Assistant, Desk, load_catalogue, router_for, seed_appointment_slots
from assistant.store import Store, database_url

from .housekeeping import start_housekeeping
from .kiosk import init_app as init_kiosk
from .longpoll import init_app as init_long_polls
from .retention import with_retention_setting
from .simulator import init_app as init_simulators
from .sms.delivery import sms_deliverer
from .sms.views import init_app as init_sms
from .speech import init_app as init_speech
from .staff import init_app as init_staff
from .transparency import init_app as init_transparency
from .voice import init_app as init_voice


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    data_dir = Path(os.environ.get("KAIFONG_DATA_DIR", "var"))
    app.config.from_mapping(
        DATA_DIR=str(data_dir),
        DATABASE_URL=database_url(os.environ),
        PROMPTS_DIR=None,
        LOCALES_DIR=None,
        # 0: workers do not seed appointment slots when they start (several at once would race
        # for the same rows); `kaifong serve` and `kaifong seed-slots` seed them once. Tests
        # and single-process tools may ask for N days here.
        SEED_SLOTS_DAYS=0,
    )
    # every KAIFONG_X becomes config X, as the plain string it is (from_prefixed_env would
    # JSON-decode it: "false" -> False, "0800" -> an error); each reader parses and checks its own
    for name, value in os.environ.items():
        if name.startswith("KAIFONG_") and len(name) > len("KAIFONG_"):
            app.config[name[len("KAIFONG_"):]] = value
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"):
        if key in os.environ:
            app.config[key] = os.environ[key]
    if test_config:
        app.config.from_mapping(test_config)
        # a data directory named without a database has its database there, not in ./var
        if "DATA_DIR" in test_config and "DATABASE_URL" not in test_config \
                and not os.environ.get("KAIFONG_DATABASE_URL"):
            app.config["DATABASE_URL"] = database_url({"KAIFONG_DATA_DIR": app.config["DATA_DIR"]})
    init_long_polls(app)    # how many threads live updates may hold (webhooks keep the rest)
    init_sms(app)       # only with TWILIO_AUTH_TOKEN (no signature check, no endpoint)
    init_assistant(app)
    init_staff(app)     # the console; its secret key from KAIFONG_SECRET_KEY or DATA_DIR
    init_speech(app)    # one synthesiser and audio cache for the kiosk and the phone
    init_kiosk(app)
    init_voice(app)     # only with TWILIO_AUTH_TOKEN, as for SMS
    init_simulators(app)    # only with KAIFONG_SIMULATORS=on, and only for this machine
    init_transparency(app)  # public: the transparency record of every procedure
    app.add_url_rule("/healthz", "healthz", healthz)
    start_housekeeping(app)   # sweeps on a timer; not in test apps unless they ask
    if _gc_freeze(app):
        freeze_long_lived()
    return app


def _gc_freeze(app: Flask) -> bool:
    value = str(app.config.get("GC_FREEZE", "on")).strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0", "yes", "no", ""):
        raise ValueError(f"KAIFONG_GC_FREEZE must be on or off, not {value!r}")
    return value in ("on", "true", "1", "yes", "") and not app.testing


def freeze_long_lived() -> None:
    """Take what exists now (the catalogue, the router's indexes, the templates, SQLAlchemy's
    compiled statements, every module) out of the garbage collector's reach: it lives as long as
    the process, and a full collection would otherwise walk all of it, inside whichever turn
    happens to trigger it (bench/bench_gc.py measures the pauses). Collected first, so that no
    start-up garbage is kept. Called at the end of ``create_app``, in each process that serves:
    ``kaifong serve``, and each gunicorn worker (the project starts them without ``--preload``;
    with it, the master freezes before forking, which also spares the workers' copies of those
    pages). Not in tests (``TESTING``), nor with ``KAIFONG_GC_FREEZE=off``."""
    gc.collect()
    gc.freeze()


def init_assistant(app: Flask) -> None:
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    # the service's retention period (KAIFONG_RETENTION_DAYS): what the collection statement
    # says and what the daily purge keeps to, one number
    catalogue = with_retention_setting(
        load_catalogue(app.config["PROMPTS_DIR"], app.config["LOCALES_DIR"],
                       cache_dir=Path(app.config["DATA_DIR"]) / "catalogue"), app.config)
    store = Store(app.config["DATABASE_URL"])
    if app.config["SEED_SLOTS_DAYS"]:
        seed_appointment_slots(store, catalogue, days=int(app.config["SEED_SLOTS_DAYS"]))
    router_for(catalogue)   # built now, not on the first citizen's free-text request
    assistant = app.extensions["kaifong"] = Assistant(catalogue, store)
    desk = app.extensions["kaifong_desk"] = Desk(assistant)
    # what staff send reaches the citizen through the citizen's own channel; the kiosk shows
    # the transcript on its screen and needs no deliverer
    desk.deliver_with("sms", sms_deliverer(assistant))


#: how long /healthz waits for the database before it says 503
HEALTH_SECONDS = 0.8


def healthz():
    assistant: Assistant = current_app.extensions["kaifong"]
    try:
        assistant.store.call_within(HEALTH_SECONDS, _select_one, assistant.store)
        database = "ok"
    except Exception:  # the body says only that the database is unreachable, nothing more
        database = "unreachable"
    body = {"status": "ok" if database == "ok" else "degraded", "database": database,
            "procedures": len(assistant.catalogue.procedures)}
    return jsonify(body), (200 if database == "ok" else 503)


def _select_one(store) -> None:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
