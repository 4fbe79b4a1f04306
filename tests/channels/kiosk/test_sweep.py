"""A kiosk visit abandoned without Finish is wiped on the server once its time is over, by the
housekeeping sweep, whether or not its cookie ever comes back; a visit still in use, and one
waiting for staff, are left alone. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from channels.housekeeping import Housekeeping, housekeeping_jobs
from channels.kiosk.session import address_for
from channels.kiosk.visit import sweep_expired_visits
from tests.assistant import conftest as store_fixtures

from .conftest import Kiosk, make_app

postgres_admin = store_fixtures.postgres_admin


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def kiosk_app(request, tmp_path, monkeypatch, clock):
    url = f"sqlite:///{tmp_path / 'kiosk.db'}"
    name = None
    if request.param == "postgresql":
        admin = request.getfixturevalue("postgres_admin")
        name = f"kaifong_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    app = make_app(tmp_path, monkeypatch, KIOSK_CLOCK=clock, DATABASE_URL=url)
    yield app
    app.extensions["kaifong"].store.close()
    if name:
        with request.getfixturevalue("postgres_admin").connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_abandoned_visit_is_wiped_by_the_sweep(kiosk_app, clock):
    app = kiosk_app
    store, config = app.extensions["kaifong"].store, app.extensions["kaifong_kiosk"]
    left = Kiosk(app.test_client())
    left.start("choose:hkid_replacement")
    left.tap("Continue")
    left.tap("I lost it")                              # a partial answer, then gone
    left_address = address_for("demo", left.client.get_cookie(
        "kaifong_kiosk", path="/kiosk/demo/").value)
    assert store.state("kiosk", left_address)["slots"] == {"what_happened": "lost"}
    waiting = Kiosk(app.test_client(), "ssp-2")
    waiting.start("choose:hkid_replacement")
    waiting.touch("person")
    waiting_address = address_for("ssp-2", waiting.client.get_cookie(
        "kaifong_kiosk", path="/kiosk/ssp-2/").value)

    clock.advance(seconds=config.expiry_seconds - 10)
    assert sweep_expired_visits(app.extensions["kaifong"], config, clock()) == 0
    clock.advance(seconds=20)
    staying = Kiosk(app.test_client())
    staying.start("choose:hkid_replacement")          # a new visitor, just now

    # the housekeeping thread's own job, as it runs it on its timer
    [job] = [j for j in housekeeping_jobs(app) if j.name == "kiosk_visits"]
    Housekeeping.run_job(job)
    # as Finish would have left it: the screen's document gone, the conversation closed
    assert store.state("kiosk", left_address)["status"] == "closed"
    with store.turn("kiosk", left_address) as t:
        assert t.channel_data() == {"wiped": True}
    cid = store.conversation_id("kiosk", left_address)
    assert store.transcript(cid)[-1].text.startswith("(the kiosk session ended")
    assert left.screen().heading == "Hello. What do you need help with today?"
    assert store.state("kiosk", waiting_address)["status"] == "waiting"
    assert staying.screen().heading == "Replace an identity card"
    assert sweep_expired_visits(app.extensions["kaifong"], config, clock()) == 0   # once
