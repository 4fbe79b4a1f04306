"""Staff console fixtures: the app on a temporary SQLite database with a clock the tests move,
two accounts, and ``sign_in`` that fills the form as a browser would (token from the page)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from assistant.staff import add_staff
from channels import create_app
from tests.conftest import Clock

PASSWORD = "correct horse battery"
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def make_app(tmp_path, monkeypatch, **config):
    for name in ("KAIFONG_PUBLIC_URL", "KAIFONG_SECRET_KEY", "KAIFONG_DATABASE_URL",
                 "KAIFONG_STAFF_SESSION_MINUTES", "KAIFONG_STAFF_LOCK_MINUTES",
                 "KAIFONG_STAFF_MAX_FAILED_LOGINS", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'staff.db'}",
                "SEED_SLOTS_DAYS": 0, "TESTING": True}
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def clock():
    return Clock(START)


def app_with_staff(tmp_path, monkeypatch, accounts: dict[str, str], **config):
    """The app with ``accounts`` (name -> role), each with ``PASSWORD``."""
    app = make_app(tmp_path, monkeypatch, **config)
    engine = app.extensions["kaifong"].store.engine
    for name, role in accounts.items():
        add_staff(engine, name, PASSWORD, role)
    return app


@pytest.fixture
def app(tmp_path, monkeypatch, clock):
    app = app_with_staff(tmp_path, monkeypatch, {"mei": "agent", "wong": "supervisor"},
                         STAFF_CLOCK=clock)
    yield app
    app.extensions["kaifong"].store.close()


@pytest.fixture
def client(app):
    return app.test_client()


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client, username: str = "mei", password: str = PASSWORD):
    page = client.get("/staff/login")
    token = token_in(page.get_data(as_text=True))
    return client.post("/staff/login", data={"csrf_token": token, "username": username,
                                             "password": password})
