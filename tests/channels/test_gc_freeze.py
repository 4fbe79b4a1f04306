"""A serving process freezes its start-up heap once the app is built (``create_app``), so that
the garbage collector's full collections no longer walk the catalogue inside a citizen's turn
(bench/bench_gc.py measures the pauses). Checked in a fresh interpreter: a freeze is for the
whole process, and the test process must keep its own collector as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BUILD = """
import gc, json, sys
from channels import create_app
app = create_app(json.loads(sys.argv[1]))
catalogue = app.extensions["kaifong"].catalogue
in_generations = {id(o) for o in gc.get_objects()}
print(json.dumps({"frozen": gc.get_freeze_count(),
                  "catalogue_in_generations": id(catalogue.procedures) in in_generations}))
"""


def build(tmp_path, config: dict, **env) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KAIFONG_", "TWILIO_"))}
    environ.update(env)
    config = {"DATA_DIR": str(tmp_path), "SEED_SLOTS_DAYS": 0, **config}
    done = subprocess.run([sys.executable, "-c", BUILD, json.dumps(config)], cwd=ROOT,
                          env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_serving_app_freezes_what_it_built(tmp_path):
    result = build(tmp_path, {})
    assert result["frozen"] > 10_000
    assert result["catalogue_in_generations"] is False


@pytest.mark.slow
def test_a_catalogue_read_from_the_cache_is_frozen_too(tmp_path):
    """The second start reads the catalogue that the first wrote to DATA_DIR/catalogue."""
    first = build(tmp_path, {})
    assert len(list((tmp_path / "catalogue").glob("*.pickle"))) == 1
    second = build(tmp_path, {})
    assert second["frozen"] > 10_000 and second["catalogue_in_generations"] is False
    assert first["catalogue_in_generations"] is False


@pytest.mark.slow
@pytest.mark.parametrize(("config", "env"), [({"TESTING": True}, {}),
                                             ({}, {"KAIFONG_GC_FREEZE": "off"})])
def test_no_freeze_in_tests_or_when_turned_off(tmp_path, config, env):
    result = build(tmp_path, config, **env)
    assert result == {"frozen": 0, "catalogue_in_generations": True}


def test_a_setting_that_is_neither_on_nor_off_is_refused(tmp_path):
    from channels import create_app

    with pytest.raises(ValueError, match="KAIFONG_GC_FREEZE must be on or off"):
        create_app({"DATA_DIR": str(tmp_path), "SEED_SLOTS_DAYS": 0, "TESTING": True,
                    "GC_FREEZE": "sometimes"})
