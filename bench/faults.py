"""The fault suite: the service under load while its parts are killed and broken, and then what
the database holds.

On a fresh PostgreSQL database (through ``DbProxy``, so that it can be made to refuse and to go
silent), gunicorn with ``--workers`` (3) gthread workers, two ``kaifong sms-worker`` processes
sending the outbox to ``FakeTwilio``, and ``Load``: ``--numbers`` citizens texting signed
webhooks (a few of them several at once), resending what got no answer with the same
MessageSid as Twilio would. Meanwhile, one after the other with a few seconds of plain load
between them (``SCHEDULE``), each round of faults does:

  kill -9 of a gunicorn worker (twice), kill -9 of a sms-worker, the fake Twilio answering 503
  then refusing connections for a while, the database refusing connections, the database going
  silent (the proxy forwards nothing), and kill -9 of the whole server (master and workers),
  restarted on the same port.

First, before the load, issue 13's outbox case: ``--outage-messages`` (200) queued while Twilio
answers 503 for ``--outage-seconds`` (16); how long after it is back they are all sent, and that
no message was charged an attempt for the outage. Outbox messages are queued in batches all
along the load. At the end the load stops, the outbox drains,
and the checks (``bench/faultkit.py``) read the database: every answered message recorded once,
those a number sent one after the other in order, no MessageSid twice, no transaction left
open; each outbox message accepted by Twilio once, except the at-least-once window (at most
one message per kill -9 of a sms-worker, counted apart), none left queued or sending.

    .venv/bin/python bench/faults.py                  # the long run: 4 rounds, ~6 minutes
    .venv/bin/python bench/faults.py --rounds 1       # one round (what tests/faults runs)

Prints one JSON document (progress on stderr) and exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.faultkit import (  # noqa: E402
    ADMIN_URL,
    DbProxy,
    FakeTwilio,
    Load,
    Server,
    SmsWorkers,
    check_database,
    check_outbox,
    enqueue_outbox,
    fresh_postgres,
    log,
    percentiles,
    via,
)


class Run:
    """One run of the suite: its processes, its faults, what it counted."""

    def __init__(self, args):
        self.args = args
        self.faults: list[dict] = []
        self.outbox_bodies: list[str] = []
        self.db_url, self.drop = fresh_postgres(ADMIN_URL)
        self.proxy = DbProxy().start()
        self.service_url = via(self.db_url, self.proxy.port)
        self.fake = FakeTwilio().start()
        self.server = Server(self.service_url, workers=args.workers, threads=args.threads)
        self.sms = SmsWorkers(self.service_url, self.fake, count=2)
        self.load: Load | None = None
        self.drain: dict | None = None
        self.started = time.monotonic()

    # -- faults -------------------------------------------------------------------------------

    def fault(self, name: str, action: Callable[[], None], hold: float = 0.0,
              undo: Callable[[], None] | None = None) -> None:
        """Do ``action``, wait ``hold`` seconds under load, ``undo``; timed and recorded."""
        log(f"fault: {name}")
        at = round(time.monotonic() - self.started, 1)
        sent_before = len(self.load.sent) if self.load else 0
        action()
        if hold:
            time.sleep(hold)
        if undo is not None:
            undo()
        self.faults.append({"fault": name, "at_s": at, "held_s": hold,
                            "messages_meanwhile": (len(self.load.sent) if self.load else 0)
                            - sent_before})

    def kill_worker(self) -> None:
        self.fault("kill -9 of a gunicorn worker", self.server.kill_worker)

    def kill_server(self) -> None:
        def restart() -> None:
            started = time.monotonic()
            self.server.start()
            log(f"  server back after {time.monotonic() - started:.1f} s")
        self.fault("kill -9 of the whole server, then a restart", self.server.kill_all,
                   undo=restart)

    def kill_sms_worker(self) -> None:
        self.fault("kill -9 of a sms-worker", self.sms.kill_one)

    def twilio_failing(self, seconds: float) -> None:
        self.fault("Twilio answers 503", lambda: self.fake.down(refuse=False), seconds / 2,
                   self.fake.up)
        self.fault("Twilio refuses connections", self.fake.down, seconds / 2, self.fake.up)

    def db_refusing(self, seconds: float) -> None:
        self.fault("the database refuses connections", self.proxy.refuse, seconds,
                   self.proxy.restore)

    def db_silent(self, seconds: float) -> None:
        self.fault("the database goes silent", self.proxy.silence, seconds, self.proxy.restore)

    def outbox_outage(self, count: int, seconds: float) -> dict:
        """Issue 13's case: ``count`` messages queued while Twilio answers 503 for ``seconds``;
        how long after it is back until Twilio has them all, how many requests the workers
        made meanwhile, and the most attempts a message was charged."""
        import sqlalchemy as sa

        from assistant.outbox import outbox

        log(f"outbox: {count} messages queued during {seconds:.0f} s of Twilio answering 503")
        self.fake.down(refuse=False)
        requests_before = self.fake.requests
        bodies = enqueue_outbox(self.db_url, count, start=len(self.outbox_bodies))
        self.outbox_bodies += bodies
        time.sleep(seconds)
        during = self.fake.requests - requests_before
        self.fake.up()
        back = time.monotonic()
        wanted = set(bodies)
        drained = None
        while time.monotonic() - back < 300:
            if wanted <= set(self.fake.bodies()):
                drained = round(time.monotonic() - back, 1)
                break
            time.sleep(0.2)
        engine = sa.create_engine(self.db_url)
        with engine.connect() as conn:
            attempts = conn.scalar(sa.select(sa.func.max(outbox.c.attempts)).where(
                outbox.c.body.in_(bodies)))
        engine.dispose()
        log(f"  drained {drained} s after Twilio came back")
        return {"messages": count, "outage_s": seconds, "requests_during_outage": during,
                "drained_after_twilio_back_s": drained, "max_attempts_charged": attempts}

    def queue_outbox(self, count: int) -> None:
        self.outbox_bodies += enqueue_outbox(self.db_url, count, start=len(self.outbox_bodies))

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> dict:
        args = self.args
        log(f"starting gunicorn ({args.workers} workers x {args.threads} threads) and 2 "
            f"sms-workers on {self.db_url.rsplit('/', 1)[1]} (through a proxy)")
        self.server.start()
        self.sms.start()
        self.drain = (self.outbox_outage(args.outage_messages, args.outage_seconds)
                      if args.outage_messages else None)
        self.load = Load(self.server.url, numbers=args.numbers, burst_numbers=args.burst,
                         resends=args.resends, pause=args.pause).start()
        gap = args.gap
        for round_ in range(args.rounds):
            log(f"round {round_ + 1} of {args.rounds}")
            self.queue_outbox(args.outbox)
            time.sleep(gap)
            self.kill_worker()
            time.sleep(gap)
            self.kill_sms_worker()
            self.twilio_failing(args.twilio_seconds)
            time.sleep(gap)
            self.kill_worker()
            self.queue_outbox(args.outbox)
            time.sleep(gap)
            self.db_refusing(args.db_seconds)
            time.sleep(gap)
            self.db_silent(args.db_seconds)
            time.sleep(gap)
            self.kill_server()
            time.sleep(gap)
        log("stopping the load")
        self.load.stop()
        drained = self.wait_for_outbox(args.drain_seconds)
        self.sms.stop()
        self.server.stop()
        figures = self.figures(drained)
        return figures

    def wait_for_outbox(self, timeout: float) -> float | None:
        """Seconds until Twilio has taken every queued message (None: not within timeout)."""
        started = time.monotonic()
        wanted = set(self.outbox_bodies)
        while time.monotonic() - started < timeout:
            if wanted <= set(self.fake.bodies()):
                time.sleep(1.0)            # anything still on its way: a double shows now
                return round(time.monotonic() - started, 1)
            time.sleep(0.5)
        return None

    def figures(self, drained: float | None) -> dict:
        sent = self.load.sent
        database = check_database(self.db_url, sent)
        outbox = check_outbox(self.db_url, self.fake, self.outbox_bodies, self.sms.kills)
        during = [s for m in sent for s in m.seconds]
        doc = {
            "setup": {"server": "gunicorn gthread", "workers": self.args.workers,
                      "threads": self.args.threads, "sms_workers": 2,
                      "database": "PostgreSQL (fresh, through a TCP proxy)",
                      "numbers": self.args.numbers, "burst_numbers": self.args.burst,
                      "rounds": self.args.rounds, "resends": self.args.resends},
            "seconds": round(time.monotonic() - self.started, 1),
            "load": self.load.figures(),
            "webhook_latency_all_tries": percentiles(during),
            "kills": {"gunicorn_worker": sum(1 for f in self.faults
                                             if f["fault"].startswith("kill -9 of a gunicorn")),
                      "whole_server": sum(1 for f in self.faults
                                          if f["fault"].startswith("kill -9 of the whole")),
                      "sms_worker": self.sms.kills},
            "faults": self.faults,
            "database": database,
            "outbox": {**outbox, "drained_after_load_s": drained},
            "outbox_outage": self.drain,
        }
        doc["problems"] = problems(doc)
        return doc

    def close(self) -> None:
        for part in (self.sms, self.server):
            try:
                part.close()
            except Exception as error:  # noqa: BLE001 (closing what is left, whatever it is)
                log(f"closing: {error}")
        self.fake.close()
        self.proxy.close()
        self.drop()


def problems(doc: dict) -> list[str]:
    """What the checks found wrong; empty when the run held."""
    db, out = doc["database"], doc["outbox"]
    found = []
    for key in ("lost", "doubled", "out_of_order", "strangers", "sids_twice",
                "idle_in_transaction"):
        if db[key]:
            found.append(f"database: {db[key]} {key.replace('_', ' ')}")
    if db["accepted"] == 0:
        found.append("database: no message was answered at all")
    if doc["load"]["answered_not_twiml"]:
        found.append(f"load: {doc['load']['answered_not_twiml']} answers were not TwiML")
    for key in ("not_sent", "doubled_unexplained", "row_disagrees", "stuck"):
        if out[key]:
            found.append(f"outbox: {out[key]} {key.replace('_', ' ')}")
    if out["drained_after_load_s"] is None:
        found.append("outbox: not drained in time")
    outage = doc.get("outbox_outage")
    if outage and outage["drained_after_twilio_back_s"] is None:
        found.append("outbox: the messages queued during the outage were not all sent")
    if outage and outage["max_attempts_charged"] != 1:
        found.append(f"outbox: the outage was charged to messages "
                     f"({outage['max_attempts_charged']} attempts)")
    return found


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--numbers", type=int, default=30)
    p.add_argument("--burst", type=int, default=4, help="numbers that send several at once")
    p.add_argument("--pause", type=float, default=0.1,
                   help="seconds a citizen waits between messages (with jitter)")
    p.add_argument("--resends", type=int, default=5)
    p.add_argument("--gap", type=float, default=5.0, help="seconds of plain load between faults")
    p.add_argument("--outbox", type=int, default=100, help="outbox messages queued at a time")
    p.add_argument("--twilio-seconds", type=float, default=10.0)
    p.add_argument("--db-seconds", type=float, default=4.0)
    p.add_argument("--drain-seconds", type=float, default=120.0)
    p.add_argument("--outage-messages", type=int, default=200,
                   help="first, before the load: messages queued during a Twilio outage "
                   "(0: skip)")
    p.add_argument("--outage-seconds", type=float, default=16.0)
    p.add_argument("--out")
    return p


def run(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    suite = Run(args)
    try:
        return suite.run()
    finally:
        suite.close()


def main() -> int:
    args = parser().parse_args()
    doc = run(sys.argv[1:])
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    for problem in doc["problems"]:
        log(f"PROBLEM: {problem}")
    return 1 if doc["problems"] else 0


if __name__ == "__main__":
    threading.excepthook = lambda a: log(f"thread {a.thread.name}: {a.exc_type.__name__}")
    sys.exit(main())
