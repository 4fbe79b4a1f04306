"""Housekeeping: one background thread per serving process for the jobs that run on a timer.

  * ``once_clips`` (every 30 s): one-listener audio clips (a caller's own number, read back)
    are deleted after their 10 minutes even when no new clip is made;
  * ``kiosk_visits`` (every 30 s): a kiosk visit left without Finish is wiped once its time is
    over, on the server, not when (if ever) its cookie comes back;
  * ``appointment_slots`` (every 6 h, the first after 6 h): the next 14 days of appointment
    times are topped up (``kaifong serve`` and ``kaifong seed-slots`` made the first ones).

Safe with several processes on one database: the clips are files each process deletes if they
are still there; a visit is wiped in its own turn, which looks again under the conversation's
lock; slots are inserted with ``ON CONFLICT DO NOTHING``. A job that fails is logged (its error
type only: nothing personal) and tried again at its next time; the others go on.

``create_app`` starts it unless ``KAIFONG_HOUSEKEEPING`` is ``off``, or the app is a test app
(``TESTING``) that did not ask for it with ``HOUSEKEEPING=on``. It must start in each worker,
after the fork: under gunicorn, do not use ``--preload``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask

__all__ = ["Housekeeping", "Job", "housekeeping_jobs", "start_housekeeping"]

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: float                     # seconds between runs
    run: Callable[[], object]
    next_at: float = 0.0             # time.monotonic() of the next run


class Housekeeping(threading.Thread):
    def __init__(self, jobs: list[Job]):
        super().__init__(name="kaifong-housekeeping", daemon=True)
        self.jobs = jobs
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if job.next_at <= now:
                    self.run_job(job)
                    job.next_at = time.monotonic() + job.every
            soonest = min(job.next_at for job in self.jobs)
            self._stopping.wait(max(0.05, soonest - time.monotonic()))

    @staticmethod
    def run_job(job: Job) -> None:
        try:
            job.run()
        except Exception as error:   # its type only: a message could quote personal data
            log.error("housekeeping: %s failed with %s; tried again in %d s", job.name,
                      type(error).__name__, job.every)

    def stop(self, timeout: float | None = 5) -> None:
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)


def housekeeping_jobs(app: Flask) -> list[Job]:
    from assistant import seed_appointment_slots

    from .kiosk.visit import sweep_expired_visits
    from .speech import speech_for

    assistant = app.extensions["kaifong"]
    jobs = [Job("once_clips", 30, lambda: speech_for(app).sweep_once())]
    kiosk = app.extensions.get("kaifong_kiosk")
    if kiosk is not None:
        clock = app.config.get("KIOSK_CLOCK") or (lambda: datetime.now(UTC))
        jobs.append(Job("kiosk_visits", 30,
                        lambda: sweep_expired_visits(assistant, kiosk, clock())))
    six_hours = 6 * 3600
    jobs.append(Job("appointment_slots", six_hours,
                    lambda: seed_appointment_slots(assistant.store, assistant.catalogue, 14),
                    next_at=time.monotonic() + six_hours))
    return jobs


def start_housekeeping(app: Flask) -> Housekeeping | None:
    """Start the thread if this app is to have one (see the module's docstring)."""
    setting = str(app.config.get("HOUSEKEEPING") or "").strip().lower()
    if setting not in ("", "on", "off"):
        raise ValueError(f"KAIFONG_HOUSEKEEPING must be on or off, not {setting!r}")
    if setting == "off" or (setting == "" and app.testing):
        return None
    keeper = Housekeeping(housekeeping_jobs(app))
    app.extensions["kaifong_housekeeping"] = keeper
    keeper.start()
    return keeper
