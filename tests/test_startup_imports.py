"""What a process pays for before it does anything (issue 17): importing the store or the staff
accounts loads neither Alembic nor Argon2 and hashes nothing; ``kaifong --help`` and ``kaifong
chat`` load no web server, no Flask, no Twilio client and, on a database already at the
migrations' head, no Alembic. Each is checked in a fresh interpreter by what ``sys.modules``
holds afterwards, never by a timing (bench/bench_startup_cli.py has the timings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: what --help and chat must not load (and what the store and staff must not either)
HEAVY = ("flask", "werkzeug", "waitress", "gunicorn", "alembic", "argon2", "twilio.rest",
         "requests", "channels.app", "channels.speech", "channels.staff", "channels.kiosk")


def modules_after(code: str, env: dict | None = None, stdin: str = "") -> dict:
    """Runs ``code`` in a new interpreter; ``report`` (a dict) and the loaded modules back."""
    script = ("import json, sys\nreport = {}\n" + code + "\n"
              "print(json.dumps({'modules': sorted(sys.modules), 'report': report}), "
              "file=sys.stderr)\n")
    environ = {**os.environ, **(env or {})}
    environ.pop("KAIFONG_DATABASE_URL", None)   # the data directory's SQLite file
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120, env=environ)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stderr.strip().splitlines()[-1])
    result["stdout"] = done.stdout
    result["modules"] = set(result["modules"])
    return result


def loaded(modules: set, names=HEAVY) -> list[str]:
    return sorted(name for name in names if name in modules)


def test_importing_the_store_and_staff_accounts_loads_no_alembic_and_hashes_nothing():
    result = modules_after("import assistant.store, assistant.staff\n"
                           "report['dummy'] = assistant.staff._dummy_hash.cache_info().currsize")
    assert loaded(result["modules"], ("alembic", "argon2", "flask")) == []
    assert result["report"]["dummy"] == 0           # the dummy hash is not made yet
    # nor does the package's own __init__ pull in the catalogue, the engine and the services
    assert loaded(result["modules"], ("assistant.catalogue", "assistant.engine",
                                      "assistant.services", "yaml", "babel")) == []


def test_the_dummy_hash_is_made_at_the_first_sign_in(tmp_path):
    result = modules_after(
        "from assistant.store import Store\n"
        "from assistant.staff import _dummy_hash, authenticate\n"
        f"store = Store('sqlite:///{tmp_path / 'k.db'}')\n"
        "report['refused'] = authenticate(store.engine, 'nobody', 'a password at all') is None\n"
        "report['dummy'] = _dummy_hash.cache_info().currsize\n"
        "store.close()")
    assert result["report"] == {"refused": True, "dummy": 1}
    assert "argon2" in result["modules"]


def test_kaifong_help_loads_no_web_server_and_no_database_toolkit():
    result = modules_after("from channels.cli import main\n"
                           "try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert "usage: kaifong" in result["stdout"]
    assert loaded(result["modules"], HEAVY + ("sqlalchemy", "assistant.store")) == []


def test_the_roles_kaifong_staff_add_offers_are_the_roles_of_staff_accounts():
    from assistant.staff import STAFF_ROLES
    from channels import cli

    assert cli.STAFF_ROLES == STAFF_ROLES


@pytest.mark.slow
def test_kaifong_chat_loads_no_web_server_and_no_alembic_once_migrated(tmp_path):
    env = {"KAIFONG_DATA_DIR": str(tmp_path)}
    chat = "from channels.cli import main\nreport['code'] = main(['chat'])"
    first = modules_after(chat, env, stdin="hello\n")       # a new database: migrated
    assert first["report"]["code"] == 0 and "alembic" in first["modules"]
    again = modules_after(chat, env, stdin="hello\n")       # at head: Alembic not needed
    assert again["report"]["code"] == 0 and again["stdout"].strip()    # it answered
    assert loaded(again["modules"]) == []


def test_the_heads_read_without_alembic_are_alembics_own():
    from alembic.script import ScriptDirectory

    from assistant.store import MIGRATIONS, migration_heads

    assert migration_heads() == frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())
    assert len(migration_heads()) == 1


@pytest.mark.parametrize("old", ["0006_staff"])
def test_a_database_behind_the_head_is_still_migrated(tmp_path, old):
    from alembic import command
    from alembic.config import Config

    from assistant.store import MIGRATIONS, Store, make_engine, migration_heads

    url = f"sqlite:///{tmp_path / 'k.db'}"
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, old)
    finally:
        engine.dispose()
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
            assert frozenset(versions) == migration_heads()
    finally:
        store.close()
