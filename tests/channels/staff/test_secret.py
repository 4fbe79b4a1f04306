"""The session key: from the configuration, or made once and kept private in the data dir."""

from __future__ import annotations

import stat

from channels.staff import csrf_token, load_or_create_secret_key, valid_csrf

from .conftest import make_app


def test_a_key_is_made_once_kept_0600_and_reused(tmp_path):
    first = load_or_create_secret_key(tmp_path)
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret_key(tmp_path) == first
    assert len(first) >= 32
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]    # no temporary file left


def test_the_app_uses_the_kept_key_unless_one_is_given(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    assert app.secret_key == (tmp_path / "secret_key").read_text().strip()
    app.extensions["kaifong"].store.close()
    monkeypatch.setenv("KAIFONG_SECRET_KEY", "k" * 40)
    from channels import create_app
    given = create_app({"DATA_DIR": str(tmp_path / "other"), "SEED_SLOTS_DAYS": 0,
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"})
    assert given.secret_key == "k" * 40
    assert not (tmp_path / "other" / "secret_key").exists()
    given.extensions["kaifong"].store.close()


def test_csrf_tokens_fail_closed():
    session: dict = {}
    assert not valid_csrf(session, None)
    assert not valid_csrf(session, "")
    token = csrf_token(session)
    assert csrf_token(session) == token
    assert valid_csrf(session, token)
    assert not valid_csrf(session, token + "x")
    assert not valid_csrf(session, None)
    assert not valid_csrf({"csrf": ""}, "")
