"""Start-up with several workers: gunicorn's workers boot together on one fresh PostgreSQL
database (the schema migrated under an advisory lock, appointment slots seeded without a race),
and ``kaifong seed-slots`` is the one-off step that makes the slots."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from assistant.services import appointment_slots
from bench.bench_startup import fresh_start
from channels import create_app
from channels.cli import main
from tests.assistant import conftest as store_fixtures

postgres_admin = store_fixtures.postgres_admin   # PostgreSQL, when it answers


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["workers_seed", "workers_seed", "deploy"])
def test_three_gunicorn_workers_boot_on_a_fresh_postgresql_database(request, mode):
    # workers_seed: every worker seeds as it boots, all at once (the old race); deploy: the
    # documented way, `kaifong seed-slots` then workers that do not seed
    result = fresh_start(request.getfixturevalue("postgres_admin"), workers=3, mode=mode)
    assert result["up"], "\n".join(result["log"])
    assert result["slots"] > 0


def test_workers_do_not_seed_slots_unless_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("KAIFONG_SEED_SLOTS_DAYS", raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True})
    with app.extensions["kaifong"].store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(appointment_slots)) == 0


def test_seed_slots_command_is_idempotent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAIFONG_DATABASE_URL", raising=False)
    assert main(["seed-slots", "--days", "7"]) == 0
    first = capsys.readouterr().out
    assert main(["seed-slots", "--days", "7"]) == 0
    again = capsys.readouterr().out
    made = int(first.split(":")[1].split()[0])
    assert made > 0
    assert again.startswith("appointment slots: 0 added")
    assert main(["seed-slots", "--days", "0"]) == 2
