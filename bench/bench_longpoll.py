"""Long polls against webhooks: signed SMS webhooks timed while 40 kiosk long polls are held.

The real app on a fresh PostgreSQL database, served as ``kaifong serve`` serves it (waitress,
one process, ``--threads`` 32) and under gunicorn (gthread, ``--workers`` 3 of ``--threads``
8 each). ``--polls`` (40) kiosk visits from ``--addresses`` (10) loopback addresses (127.0.1.x: kiosks
in several places; ``--addresses 1`` is one client opening them all), each opened with ``POST /kiosk/demo/start`` as a kiosk
would, poll ``GET /kiosk/demo/lines`` without end as the page does: again at once after an
answer, after the ``retry`` it was given (backing off 1.5x a time, up to 20 s) when the
live-update budget was taken (``channels.longpoll``). Meanwhile ``--senders`` (4) threads text
``POST /sms``, each message signed with Twilio's ``RequestValidator`` from its own number,
``--rate`` (20) a second in all for ``--seconds`` (30).

Sections, one after the other on the same server:
  * ``idle``: the webhooks alone;
  * ``polls_held``: the same with the polls held (the figure the issue asks for: p99 < 100 ms).
``--compare`` adds the same against a server whose budget is all threads but one (nearly what
main did: every poll held), to show what the budget buys.

    .venv/bin/python bench/bench_longpoll.py [--server waitress|gunicorn|both] [--quick]

Prints one JSON document (progress on stderr). Compare sections within one run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.faultkit import (  # noqa: E402
    Server,
    fresh_postgres,
    log,
    percentiles,
    signed_post,
)


class Poller(threading.Thread):
    """One kiosk visit whose page polls for staff lines, as kiosk.js does."""

    def __init__(self, port: int, stop: threading.Event, source: str):
        super().__init__(daemon=True)
        self.port, self.stop, self.source = port, stop, source
        self.held = self.refused = self.errors = 0
        self.since: float | None = None     # when the poll on its way was sent
        self.cookie = self._start_visit()

    def _request(self, method: str, path: str, timeout: float = 60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=(self.source, 0))
        try:
            headers = {"Cookie": self.cookie} if getattr(self, "cookie", None) else {}
            if method == "POST":
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body="lang=en&do=" if method == "POST" else None,
                         headers=headers)
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()

    def _start_visit(self) -> str:
        response, _ = self._request("POST", "/kiosk/demo/start")
        cookie = response.getheader("Set-Cookie")
        if response.status != 303 or not cookie:
            raise RuntimeError(f"no kiosk visit: {response.status}")
        return cookie.split(";", 1)[0]

    def run(self) -> None:
        refused_in_row = 0
        while not self.stop.is_set():
            try:
                self.since = time.monotonic()
                response, body = self._request("GET", "/kiosk/demo/lines?after=100000")
                self.since = None
                answer = json.loads(body)
            except (OSError, ValueError, http.client.HTTPException):
                self.errors += 1
                self.stop.wait(3)
                continue
            if answer.get("gone"):
                self.errors += 1
                self.stop.wait(1)
            elif "retry" in answer:
                self.refused += 1
                refused_in_row += 1
                self.stop.wait(min(20.0, answer["retry"] * 1.5 ** (refused_in_row - 1)))
            else:
                self.held += 1
                refused_in_row = 0


def send_webhooks(url: str, seconds: float, rate: float, senders: int, tag: str) -> dict:
    times: list[float] = []
    failures = []
    lock = threading.Lock()
    end = time.monotonic() + seconds
    gap = senders / rate

    def sender(n: int) -> None:
        i = 0
        next_at = time.monotonic() + gap * n / senders
        while True:
            now = time.monotonic()
            if now >= end:
                return
            if next_at > now:
                time.sleep(next_at - now)
            next_at += gap
            i += 1
            form = {"ApiVersion": "2010-04-01", "AccountSid": "AC" + "0" * 32,
                    "MessageSid": f"SM{tag}{n:04d}{i:06d}".ljust(34, "0"), "SmsStatus": "received",
                    "From": f"+8529{n:03d}{i % 10000:04d}", "To": "+85230000000",
                    "Body": "lost my id card", "NumMedia": "0", "NumSegments": "1"}
            started = time.monotonic()
            try:
                status, body = signed_post(url, "/sms", form, timeout=30)
            except OSError as error:
                status, body = None, str(error)
            took = time.monotonic() - started
            with lock:
                times.append(took)
                if status != 200 or "<Response" not in body:
                    failures.append(status)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**percentiles(times), "failed": len(failures)}


def run_server(kind: str, url_db: str, args, budget: int | None) -> dict:
    threads = args.threads if kind == "waitress" else args.gunicorn_threads
    # visits do not end while the bench runs (a visit's polls do not count as touches)
    env = {"KAIFONG_KIOSK_IDLE_SECONDS": "3600"}
    if budget is not None:
        env["KAIFONG_LONG_POLLS"] = str(budget)
    server = Server(url_db, kind=kind, workers=args.workers, threads=threads, env=env)
    log(f"{kind}: starting ({threads} threads"
        + (f" x {args.workers} workers" if kind == "gunicorn" else "")
        + (f", budget {budget}" if budget is not None else ", default budget") + ")")
    server.start()
    try:
        out = {"server": kind, "threads": threads,
               "workers": args.workers if kind == "gunicorn" else 1,
               "long_poll_budget_per_process": budget if budget is not None else threads // 2}
        signed_post(server.url, "/sms", {"MessageSid": "SM" + "9" * 32, "From": "+85290000000",
                                         "To": "+85230000000", "Body": "hi"})   # warm-up
        log(f"{kind}: webhooks alone")
        out["idle"] = send_webhooks(server.url, args.seconds, args.rate, args.senders, "0")
        stop = threading.Event()
        pollers = [Poller(server.port, stop, f"127.0.1.{1 + i % args.addresses}")
                   for i in range(args.polls)]
        for p in pollers:
            p.start()
        time.sleep(2)                     # every poll has asked at least once
        held_now: list[int] = []

        def sample() -> None:             # polls on their way for over a second: held
            while not stop.is_set():
                now = time.monotonic()
                held_now.append(sum(1 for p in pollers
                                    if p.since is not None and now - p.since > 1.0))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        log(f"{kind}: webhooks with {args.polls} long polls")
        out["polls_held"] = send_webhooks(server.url, args.seconds, args.rate, args.senders,
                                          "1")
        stop.set()
        out["polls"] = {"count": args.polls, "addresses": args.addresses,
                        "held_at_once_max": max(held_now, default=0),
                        "held_at_once_mean": round(sum(held_now) / max(1, len(held_now)), 1),
                        "answers_after_waiting": sum(p.held for p in pollers),
                        "refused_answers": sum(p.refused for p in pollers),
                        "errors": sum(p.errors for p in pollers)}
        for p in pollers:
            p.join(timeout=0.1)
        out["ratio_p99"] = round(out["polls_held"]["p99_ms"] / out["idle"]["p99_ms"], 2)
        return out
    finally:
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=("waitress", "gunicorn", "both"), default="both")
    parser.add_argument("--polls", type=int, default=40)
    parser.add_argument("--addresses", type=int, default=10,
                        help="the polls come from this many addresses (127.0.1.x)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--threads", type=int, default=32, help="waitress's threads")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn's workers")
    parser.add_argument("--gunicorn-threads", type=int, default=8)
    parser.add_argument("--compare", action="store_true",
                        help="also with a budget of all threads but one (nearly unbounded)")
    parser.add_argument("--quick", action="store_true", help="10 s a section (smoke test)")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 10
    kinds = ("waitress", "gunicorn") if args.server == "both" else (args.server,)
    url, drop = fresh_postgres()
    doc = {"setup": {"polls": args.polls, "seconds": args.seconds, "rate": args.rate,
                     "senders": args.senders, "database": "PostgreSQL (fresh)"}, "runs": []}
    try:
        for kind in kinds:
            doc["runs"].append(run_server(kind, url, args, None))
            if args.compare:
                threads = args.threads if kind == "waitress" else args.gunicorn_threads
                doc["runs"].append(run_server(kind, url, args, threads - 1))
    finally:
        drop()
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
