"""Staff sessions end for good: after signing out, the cookie (and any copy of it) opens nothing,
not even a reveal of personal data; a new password ends the user's other sessions and keeps the
one that changed it. The real app, the console's own sign-in, the real SMS webhook."""

from __future__ import annotations

import pytest

from tests.channels.sms.conftest import NUMBER, TOKEN, Phone

from .conftest import PASSWORD, app_with_staff, sign_in, token_in

NEW_PASSWORD = "a brand new staff passphrase"


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = app_with_staff(tmp_path, monkeypatch, {"mei": "agent", "chan": "agent"},
                         TWILIO_AUTH_TOKEN=TOKEN, SEED_SLOTS_DAYS=3)
    yield app
    app.extensions["kaifong"].store.close()


@pytest.fixture
def cid(app) -> int:
    Phone(app.test_client()).conversation("lost my id card", "1", "1", "1", "yes", "A123456(3)",
                                          "yes", "person")
    return app.extensions["kaifong"].store.conversation_id("sms", NUMBER)


def signed_in(app, name="mei"):
    client = app.test_client()
    assert sign_in(client, name).status_code == 303
    return client


def copy_of(app, client):
    """Another browser holding the same cookie (as one copied from a shared computer)."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    return copy


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(app, cid):
    mei = signed_in(app)
    thief = copy_of(app, mei)
    page = thief.get(f"/staff/conversations/{cid}")
    assert page.status_code == 200                      # the copy works while the session lasts
    token = token_in(page.get_data(as_text=True))
    revealed = thief.post(f"/staff/conversations/{cid}/reveal", data={"csrf_token": token})
    assert "A123456(3)" in revealed.get_data(as_text=True)

    own_token = token_in(mei.get("/staff/").get_data(as_text=True))
    assert mei.post("/staff/logout", data={"csrf_token": own_token}).status_code == 303

    # the copy still holds the old cookie, with its user, its CSRF token and its time
    refused = thief.post(f"/staff/conversations/{cid}/reveal", data={"csrf_token": token})
    assert refused.status_code == 401
    assert "A123456(3)" not in refused.get_data(as_text=True)
    assert thief.get(f"/staff/conversations/{cid}").status_code == 303
    assert thief.get("/staff/").headers["Location"].endswith("/staff/login")
    # signing in again works, with a fresh session
    assert signed_in(app).get("/staff/").status_code == 200


def test_the_old_cookie_is_refused_after_sign_out_even_when_replayed_whole(app, cid):
    mei = signed_in(app)
    old = mei.get_cookie("session").value
    token = token_in(mei.get("/staff/").get_data(as_text=True))
    mei.post("/staff/logout", data={"csrf_token": token})
    replay = app.test_client()
    replay.set_cookie("session", old, domain="localhost")
    assert replay.post(f"/staff/conversations/{cid}/reveal",
                       data={"csrf_token": token}).status_code == 401
    assert replay.get("/staff/").status_code == 303


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(app, cid):
    here, elsewhere = signed_in(app), signed_in(app)
    other_user = signed_in(app, "chan")
    token = token_in(here.get("/staff/password").get_data(as_text=True))
    changed = here.post("/staff/password", data={"csrf_token": token, "current": PASSWORD,
                                                 "new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert changed.status_code == 303
    assert here.get(f"/staff/conversations/{cid}").status_code == 200
    assert elsewhere.get(f"/staff/conversations/{cid}").status_code == 303
    assert other_user.get(f"/staff/conversations/{cid}").status_code == 200   # not chan's
    assert sign_in(app.test_client(), "mei", NEW_PASSWORD).status_code == 303
