"""The application factory and the health check."""

from __future__ import annotations

import pytest

from channels import create_app


@pytest.fixture
def app(tmp_path):
    return create_app({"DATA_DIR": str(tmp_path),
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
                       "SEED_SLOTS_DAYS": 2, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "procedures": 10}


def test_healthz_says_when_the_database_is_gone(app, client):
    app.extensions["kaifong"].store.engine.dispose()
    app.extensions["kaifong"].store.engine.url = app.extensions["kaifong"].store.engine.url
    store = app.extensions["kaifong"].store
    from sqlalchemy import create_engine
    store.engine = create_engine("sqlite:////nonexistent-dir/x.db")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"
    store.engine.dispose()


def test_factory_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KAIFONG_DATABASE_URL", raising=False)
    app = create_app({"SEED_SLOTS_DAYS": 0, "HOUSEKEEPING": "off"})   # no timers in a test
    assert app.config["DATABASE_URL"].endswith("data/kaifong.db")
    assert (tmp_path / "data").is_dir()


def test_appointment_slots_are_seeded_at_start(app):
    from sqlalchemy import text
    with app.extensions["kaifong"].store.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM appointment_slots")).scalar()
    assert count > 0
