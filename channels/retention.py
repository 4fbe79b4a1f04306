"""The retention period as the service is configured, and the daily purge of ``kaifong serve``.

``KAIFONG_RETENTION_DAYS`` (default: facts.yaml's ``retention_days``, 90) replaces the service's
period in the catalogue the app loads, so that the collection statement ("We keep it for 90
days") and the purge read the same number; a procedure with its own ``retention_days`` keeps
its own. ``KAIFONG_PURGE_DAILY`` (default on) runs ``assistant.retention.purge_if_due`` in a
thread once an hour: a purge at most every 23 hours, by one process of however many share the
database. The purge also deletes the one-listener clips (personal values read back) in the
audio cache. Nothing here logs anything but counts.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from assistant.catalogue import Catalogue
from assistant.retention import Retention, purge_if_due, retention_from_env

__all__ = ["audio_dir", "start_purge_thread", "with_retention_setting"]

log = logging.getLogger(__name__)
#: how often the thread asks whether the daily purge is due
CHECK_SECONDS = 3600


def with_retention_setting(catalogue: Catalogue, config: Mapping) -> Catalogue:
    """``catalogue`` with the service's period from ``RETENTION_DAYS`` (the app's config, from
    KAIFONG_RETENTION_DAYS), or as it is when that is unset. Refuses anything but a whole
    number of days (a typo must not mean "keep nothing")."""
    days = retention_from_env({"KAIFONG_RETENTION_DAYS": str(
        config.get("RETENTION_DAYS") or config.get("KAIFONG_RETENTION_DAYS") or "")})
    if days is None:
        return catalogue
    return dataclasses.replace(catalogue, facts={**catalogue.facts, "retention_days": days})


def audio_dir(config: Mapping) -> Path:
    """Where the audio cache is (``AUDIO_DIR``, default ``DATA_DIR/audio``), as the speech
    service finds it."""
    return Path(config.get("AUDIO_DIR") or Path(config.get("DATA_DIR") or "var") / "audio")


def start_purge_thread(app) -> tuple[threading.Thread | None, threading.Event]:
    """For ``kaifong serve``: the daily purge in a daemon thread. Returns ``(thread, stop)``;
    no thread (None) when ``KAIFONG_PURGE_DAILY`` is off."""
    stop = threading.Event()
    flag = str(app.config.get("PURGE_DAILY") or os.environ.get("KAIFONG_PURGE_DAILY") or "on")
    if flag.strip().lower() in ("off", "0", "false", "no"):
        log.warning("retention: no daily purge in this process (KAIFONG_PURGE_DAILY is off)")
        return None, stop
    assistant = app.extensions["kaifong"]
    folder = audio_dir(app.config)
    from .speech.cache import sweep_once_clips  # here: `kaifong chat` needs none of the web

    def run() -> None:
        while not stop.is_set():
            try:
                purge_if_due(assistant.store, Retention.of(assistant.catalogue),
                             files=sweep_once_clips(folder))
            except Exception as error:  # noqa: BLE001 (the thread lives on; tomorrow again)
                log.error("retention: the daily purge failed (%s)", type(error).__name__)
            stop.wait(CHECK_SECONDS)

    thread = threading.Thread(target=run, name="kaifong-purge", daemon=True)
    thread.start()
    return thread, stop
