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
