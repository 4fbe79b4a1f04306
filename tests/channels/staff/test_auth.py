"""Signing in and out of the staff console: the guard on every route, the generic refusal,
lock-out, CSRF, idle expiry and the session cookie's flags."""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa

from assistant.staff import authenticate, staff_users
from channels import create_app
from channels.staff.views import SECURITY_HEADERS

from .conftest import PASSWORD, make_app, sign_in, token_in

REFUSED = "That user name and password did not work."


def signed_in_as(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("user")


def test_every_staff_route_but_login_refuses_an_anonymous_request(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff")]
    assert {r.endpoint for r in rules} >= {"staff.login", "staff.logout", "staff.home"}
    client = app.test_client()
    checked = 0
    for rule in rules:
        if rule.endpoint == "staff.login":
            continue
        url = rule.build({arg: "1" for arg in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            if method == "GET":
                assert response.status_code == 303, (method, url)
                assert response.headers["Location"].endswith("/staff/login")
            else:
                assert response.status_code == 401, (method, url)
            checked += 1
    assert checked >= 2


def test_the_login_page_is_open_and_labelled(client):
    page = client.get("/staff/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="en">' in html
    assert '<label for="username">' in html and '<label for="password">' in html
    assert "http://" not in html and "https://" not in html     # no external resources


def test_sign_in_shows_who_and_their_role(client):
    response = sign_in(client, "wong")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/")
    home = client.get("/staff/")
    html = home.get_data(as_text=True)
    assert home.status_code == 200
    assert "<strong>wong</strong>" in html and "(supervisor)" in html


def test_wrong_password_and_unknown_user_read_the_same(client, caplog):
    caplog.set_level(logging.INFO)
    wrong = sign_in(client, "mei", "not the password!")
    unknown = sign_in(client, "nobody", "not the password!")
    assert wrong.status_code == unknown.status_code == 401
    assert REFUSED in wrong.get_data(as_text=True)
    assert REFUSED in unknown.get_data(as_text=True)
    assert signed_in_as(client) is None
    assert "not the password!" not in caplog.text          # logged, but never the password
    assert "'mei'" in caplog.text


def test_five_failures_lock_the_account_until_the_lock_runs_out(app, client, clock):
    for _ in range(5):
        assert sign_in(client, "mei", "wrong password!").status_code == 401
    locked = sign_in(client, "mei", PASSWORD)
    assert locked.status_code == 401
    assert REFUSED in locked.get_data(as_text=True)        # the same words: locked is not said
    assert signed_in_as(client) is None
    clock.advance(minutes=14)
    assert sign_in(client, "mei", PASSWORD).status_code == 401
    clock.advance(minutes=2)
    assert sign_in(client, "mei", PASSWORD).status_code == 303
    assert signed_in_as(client) == "mei"


def test_the_lock_is_kept_in_the_database(app, client, clock):
    for _ in range(5):
        sign_in(client, "mei", "wrong password!")
    engine = app.extensions["kaifong"].store.engine
    with engine.connect() as conn:
        row = conn.execute(sa.select(staff_users).where(staff_users.c.username == "mei")).one()
    assert row.failed_logins == 5
    assert (row.locked_until - clock.now).total_seconds() == 15 * 60
    with engine.begin() as conn:      # as if the lock had run out
        conn.execute(sa.update(staff_users).values(locked_until=clock.now))
    assert sign_in(client, "mei", PASSWORD).status_code == 303


def test_a_good_sign_in_resets_the_count_of_failures(app, clock):
    engine = app.extensions["kaifong"].store.engine
    for _ in range(4):
        assert authenticate(engine, "mei", "wrong password!", now=clock.now) is None
    assert authenticate(engine, "mei", PASSWORD, now=clock.now) is not None
    for _ in range(4):
        authenticate(engine, "mei", "wrong password!", now=clock.now)
    assert authenticate(engine, "mei", PASSWORD, now=clock.now) is not None


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_post_without_the_right_csrf_token_is_refused(client, token):
    client.get("/staff/login")                             # the session has a token
    form = {"username": "mei", "password": PASSWORD}
    if token is not None:
        form["csrf_token"] = token
    response = client.post("/staff/login", data=form)
    assert response.status_code == 400
    assert signed_in_as(client) is None


def test_logout_needs_the_token_and_clears_the_session(client):
    sign_in(client)
    assert client.post("/staff/logout").status_code == 400
    assert signed_in_as(client) == "mei"
    token = token_in(client.get("/staff/").get_data(as_text=True))
    response = client.post("/staff/logout", data={"csrf_token": token})
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert "user" not in session and "csrf" not in session
    assert client.get("/staff/").status_code == 303


def test_sign_in_starts_a_new_session_with_a_new_token(client):
    before = token_in(client.get("/staff/login").get_data(as_text=True))
    sign_in(client)
    after = token_in(client.get("/staff/").get_data(as_text=True))
    assert before != after


def test_the_session_ends_after_idle_minutes(client, clock):
    sign_in(client)
    clock.advance(minutes=29)
    assert client.get("/staff/").status_code == 200       # use keeps it alive
    clock.advance(minutes=29)
    assert client.get("/staff/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/staff/")
    assert response.status_code == 303
    assert signed_in_as(client) is None


def test_idle_minutes_come_from_the_environment(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    app.extensions["kaifong"].store.close()
    monkeypatch.setenv("KAIFONG_STAFF_SESSION_MINUTES", "5")
    app = create_app({"DATA_DIR": str(tmp_path), "SEED_SLOTS_DAYS": 0, "TESTING": True,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'staff.db'}"})
    assert app.config["STAFF_SESSION_MINUTES"] == 5
    assert app.permanent_session_lifetime.total_seconds() == 300
    app.extensions["kaifong"].store.close()


def test_a_bad_setting_fails_at_start(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="KAIFONG_STAFF_LOCK_MINUTES"):
        make_app(tmp_path, monkeypatch, STAFF_LOCK_MINUTES="soon")


def test_the_session_cookie_is_secure_httponly_and_lax(client):
    sign_in(client)
    response = client.get("/staff/")
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith("session=")
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite=lax"} <= flags


def test_plain_http_public_url_drops_only_the_secure_flag(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, PUBLIC_URL="http://192.168.1.5:8080")
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    app.extensions["kaifong"].store.close()
    other = make_app(tmp_path, monkeypatch, PUBLIC_URL="https://kaifong.example")
    assert other.config["SESSION_COOKIE_SECURE"] is True
    other.extensions["kaifong"].store.close()


def test_pages_in_traditional_chinese(client):
    page = client.get("/staff/login?lang=zh-HK").get_data(as_text=True)
    assert '<html lang="zh-Hant-HK">' in page
    assert "登入職員控制台" in page and "用戶名稱" in page
    again = client.get("/staff/login").get_data(as_text=True)   # the choice is kept
    assert "登入職員控制台" in again
    refused = sign_in(client, "mei", "wrong password!").get_data(as_text=True)
    assert "用戶名稱或密碼不正確" in refused


def test_every_word_of_the_console_has_a_traditional_chinese_translation(app):
    from pathlib import Path

    from channels.staff import TEXTS

    templates = Path(app.blueprints["staff"].root_path) / "templates"
    msgids = set(TEXTS)
    for page in templates.rglob("*.html"):
        msgids |= set(re.findall(r'_\("([^"]+)"\)', page.read_text(encoding="utf-8")))
    catalogue = app.extensions["kaifong"].catalogue
    missing = [m for m in sorted(msgids) if catalogue.gettext("zh-HK", m) == m]
    assert len(msgids) > 10 and missing == []


def test_unknown_staff_paths_answer_with_the_security_headers(client):
    for path in ("/staff/no-such-page", "/staff/conversations/x/y/z"):
        response = client.get(path)
        assert response.status_code in (303, 404)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
        assert response.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" not in client.get("/healthz").headers
