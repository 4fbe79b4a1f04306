"""The housekeeping thread: started by serving apps (and test apps that ask), never by others;
it deletes one-listener clips after their 10 minutes although no new clip is made; a failing
job is logged by its type and the others go on."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from channels.housekeeping import Housekeeping, Job
from channels.speech.cache import ONCE_SECONDS

from .kiosk.conftest import make_app


def test_old_once_clips_are_swept_on_a_timer_without_a_new_clip(tmp_path, monkeypatch):
    folder = tmp_path / "audio" / "once"
    folder.mkdir(parents=True)
    old, fresh = folder / f"{'a' * 32}.wav", folder / f"{'b' * 32}.wav"
    for path in (old, fresh):
        path.write_bytes(b"RIFF")
    past = time.time() - ONCE_SECONDS - 5
    os.utime(old, (past, past))
    app = make_app(tmp_path, monkeypatch, HOUSEKEEPING="on")
    keeper = app.extensions["kaifong_housekeeping"]
    try:
        deadline = time.monotonic() + 10
        while old.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not old.exists()
        assert fresh.exists()                 # its 10 minutes are not over
    finally:
        keeper.stop()
        app.extensions["kaifong"].store.close()
    assert not keeper.is_alive()


def test_test_apps_and_off_start_no_thread(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)                     # TESTING, not asked
    assert "kaifong_housekeeping" not in app.extensions
    app.extensions["kaifong"].store.close()
    app = make_app(tmp_path, monkeypatch, TESTING=False, HOUSEKEEPING="off")
    assert "kaifong_housekeeping" not in app.extensions
    app.extensions["kaifong"].store.close()
    with pytest.raises(ValueError, match="KAIFONG_HOUSEKEEPING"):
        make_app(tmp_path, monkeypatch, HOUSEKEEPING="sometimes")


def test_a_failing_job_is_logged_by_type_and_the_others_go_on(caplog):
    ran = threading.Event()

    def broken():
        raise RuntimeError("+85291234567 should never be logged")

    keeper = Housekeeping([Job("broken", 60, broken), Job("fine", 60, ran.set)])
    with caplog.at_level(logging.ERROR):
        keeper.start()
        assert ran.wait(5)
        keeper.stop()
    assert "housekeeping: broken failed with RuntimeError" in caplog.text
    assert "+852" not in caplog.text
