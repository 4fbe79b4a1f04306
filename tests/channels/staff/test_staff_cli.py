"""``kaifong staff add``: the account, its role and an Argon2 hash (never the password)."""

from __future__ import annotations

import io
import sys

import pytest
import sqlalchemy as sa

from assistant.staff import staff_users
from assistant.store import Store, database_url
from channels.cli import main

PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAIFONG_DATABASE_URL", raising=False)
    return tmp_path


def add(capsys, monkeypatch, *argv, stdin: str = PASSWORD + "\n"):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code = main(["staff", "add", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def rows():
    store = Store(database_url())
    try:
        with store.engine.connect() as conn:
            return conn.execute(sa.select(staff_users)).all()
    finally:
        store.close()


def test_staff_add_stores_the_role_and_an_argon2_hash(capsys, monkeypatch):
    code, out, err = add(capsys, monkeypatch, "mei", "--role", "supervisor")
    assert (code, err) == (0, "")
    assert out == "added mei (supervisor)\n"
    [row] = rows()
    assert (row.username, row.role, row.failed_logins) == ("mei", "supervisor", 0)
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    assert PASSWORD not in out


def test_a_duplicate_user_is_a_clear_error(capsys, monkeypatch):
    assert add(capsys, monkeypatch, "mei", "--role", "agent")[0] == 0
    code, _, err = add(capsys, monkeypatch, "mei", "--role", "agent")
    assert code == 1
    assert "already exists" in err and "mei" in err
    assert len(rows()) == 1


def test_a_short_password_is_refused(capsys, monkeypatch):
    code, _, err = add(capsys, monkeypatch, "mei", "--role", "agent", stdin="short\n")
    assert code == 1
    assert "at least 12 characters" in err
    assert rows() == []


def test_the_role_must_be_agent_or_supervisor(capsys, monkeypatch):
    with pytest.raises(SystemExit) as exc:
        add(capsys, monkeypatch, "mei", "--role", "admin")
    assert exc.value.code == 2


def test_on_a_terminal_the_password_is_asked_twice(capsys, monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "typo"])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["staff", "add", "mei", "--role", "agent"]) == 1
    assert "differ" in capsys.readouterr().err


def test_demo_supervisor_once_with_a_password_shown_once_and_to_be_changed(capsys, tmp_path,
                                                                          monkeypatch):
    assert main(["staff", "demo"]) == 0
    out = capsys.readouterr().out
    password = out.split("one-time password ", 1)[1].split()[0]
    assert len(password) >= 12
    [row] = rows()
    assert (row.username, row.role, row.must_change_password) == ("demo-supervisor",
                                                                 "supervisor", True)
    assert password not in row.password_hash
    assert main(["staff", "demo"]) == 0             # staff exist: nothing new, nothing shown
    again = capsys.readouterr().out
    assert "exist" in again and password not in again and len(rows()) == 1

    # the first sign-in leads to the password page and nowhere else until it is changed
    from tests.channels.staff.conftest import make_app, sign_in, token_in
    app = make_app(tmp_path, monkeypatch, DATABASE_URL=database_url())
    client = app.test_client()
    assert sign_in(client, "demo-supervisor", password).status_code == 303
    assert client.get("/staff/").headers["Location"].endswith("/staff/password")
    assert client.get("/staff/audit").headers["Location"].endswith("/staff/password")
    form = client.get("/staff/password").get_data(as_text=True)
    token = token_in(form)
    assert client.post("/staff/conversations/1/claim",
                       data={"csrf_token": token}).status_code == 403
    for new, again_, message in (("short", "short", "at least 12"),
                                 ("a brand new secret", "another one here", "not the same"),
                                 (password, password, "not the one you have now")):
        response = client.post("/staff/password", data={
            "csrf_token": token, "current": password, "new": new, "again": again_})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    wrong = client.post("/staff/password", data={
        "csrf_token": token, "current": "not it at all!", "new": "a brand new secret",
        "again": "a brand new secret"})
    assert "current password is not right" in wrong.get_data(as_text=True)
    done = client.post("/staff/password", data={
        "csrf_token": token, "current": password, "new": "a brand new secret",
        "again": "a brand new secret"})
    assert done.status_code == 303 and client.get("/staff/").status_code == 200
    assert rows()[0].must_change_password is False
    app.extensions["kaifong"].store.close()
