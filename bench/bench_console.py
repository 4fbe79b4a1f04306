"""Staff console benchmark: how soon a citizen's message shows in an open console, and what the
queue page costs with 1,000 people waiting.

The real app (``channels:create_app()``) under gunicorn (gthread, the production server of
DESIGN.md) on SQLite, driven over HTTP on loopback as a browser and Twilio would:

  * queue_page_1000 / queue_fragment_1000: 1,000 conversations waiting for a person (each
    walked through the real core in this process before the server starts: Start, "lost my id
    card", "person"), a member of staff signed in through the form (CSRF token, session cookie),
    then ``GET /staff/`` (the whole page) and ``GET /staff/queue`` (the table the live page
    fetches) timed one after the other. The page must list every one of them, or the run fails.
    The same is measured at a tenth of the rows first (``*_100``), so the cost per row shows.
  * queue_narrowed_1000: the same queue as agents narrow it (issue 16): the filters, "mine",
    searches by words, by a number's last digits and by reference (over every conversation's
    transcript), and the closed list; p50/p99 each, and the rows each listed.
  * agents_connected_20 (issue 16): 20 members of staff (20 accounts) with the queue page
    open, each holding the queue's event stream and fetching the table on each "changed", as
    queue.js does, on a server of 2 gunicorn workers (several processes: they hear each other
    through the database); with 1,000 waiting, the queue page and table timed while they are
    all connected, then new citizens ask for a person by SMS and we time, for every agent, from
    the webhook POST to the moment their console has fetched the table counting the newcomer.
  * message_to_console: a citizen texts "lost my id card", "person" (signed webhook posts), the
    member of staff claims the conversation and opens its event stream
    (``/staff/conversations/<id>/events``, read line by line in a thread, reconnected from the
    last seq when the server ends it); then, one at a time, the citizen texts a unique probe and
    we time from just before the POST to the ``lines`` event that carries it. The live path in
    one process is the store's ``threading.Condition`` (woken by the commit), then a read of the
    transcript.
  * two_processes: the same, with the console on one gunicorn and the webhook on a second one
    (same database, same secret key): the wake-up cannot cross processes, so the stream sees the
    change by polling the database (every 0.5 s, ``Desk.wait_for_change``).

The load generator runs on the same machine (2 cores here); with two CPUs or more the server
gets half of them and this script the rest. Compare ratios between runs, not absolute numbers.

    .venv/bin/python bench/bench_console.py [--messages 200] [--waiting 1000] [--pages 50]
                                             [--threads 8] [--out FILE] [--quick]
                                             [--agents 20] [--updates 30] [--only-agents]
                                             [--postgres postgresql://postgres@127.0.0.1/test]

Prints one JSON document on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator

from bench.bench_sms import free_port, start_server, stop_server
from channels.sms.devtools import twilio_form

TOKEN = "bench-auth-token-0123456789abcdef"
STAFF, PASSWORD = "bench-agent", "bench password 0123456789"
CITIZEN = "+85290000001"
SERVICE_NUMBER = "+85230000000"


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def token() -> str:
    """A unique word of letters only: the console masks digit runs (numbers, identity cards),
    and a hex uuid sometimes looks like one ("f1234567")."""
    return uuid.uuid4().hex.translate(str.maketrans("0123456789", "ghijklmnop"))


def figures(seconds: list[float]) -> dict:
    """p50/p90/p99/max/mean in ms (nearest-rank percentiles)."""
    xs = sorted(seconds)

    def rank(p: float) -> float:
        return xs[max(0, min(len(xs) - 1, round(p * len(xs)) - 1))]
    return {"n": len(xs), "p50_ms": round(statistics.median(xs) * 1000, 2),
            "p90_ms": round(rank(0.90) * 1000, 2), "p99_ms": round(rank(0.99) * 1000, 2),
            "max_ms": round(xs[-1] * 1000, 2), "mean_ms": round(statistics.fmean(xs) * 1000, 2)}


# -- HTTP: a browser with a cookie, and a phone signed as Twilio signs --------------------------

class Browser:
    """One keep-alive connection and the session cookie, as a signed-in member of staff."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def keep_cookies(self, response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Expires=Thu, 01 Jan 1970" in header or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value

    def request(self, method: str, path: str, form: dict | None = None
                ) -> tuple[int, dict, bytes]:
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):   # the server closed a kept-alive socket
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        self.keep_cookies(response)
        return response.status, dict(response.headers), data

    def token(self, path: str = "/staff/") -> str:
        status, _, page = self.request("GET", path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.decode())
        if status != 200 or not found:
            raise RuntimeError(f"no CSRF token on {path} (HTTP {status})")
        return found.group(1)

    def sign_in(self, username: str = STAFF) -> None:
        token = self.token("/staff/login")
        status, headers, _ = self.request("POST", "/staff/login", {
            "csrf_token": token, "username": username, "password": PASSWORD})
        if status != 303 or "session" not in self.cookies:
            raise RuntimeError(f"sign-in refused (HTTP {status}, {headers.get('Location')})")

    def claim(self, cid: int) -> None:
        status, _, _ = self.request("POST", f"/staff/conversations/{cid}/claim",
                                    {"csrf_token": self.token()})
        if status != 303:
            raise RuntimeError(f"claim of conversation {cid} refused (HTTP {status})")


class Phone:
    """A citizen texting the webhook of the server on ``port`` (a new connection per text)."""

    def __init__(self, port: int, number: str = CITIZEN):
        self.port, self.number = port, number
        self.url = f"http://127.0.0.1:{port}/sms"
        self.validator = RequestValidator(TOKEN)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, body: str) -> float:
        """POST one text; returns the webhook's response time (seconds)."""
        form = twilio_form(self.number, SERVICE_NUMBER, body)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": self.validator.compute_signature(self.url, form)}
        t0 = time.perf_counter()
        try:
            self.conn.request("POST", "/sms", body=urlencode(form), headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            t0 = time.perf_counter()
            self.conn.request("POST", "/sms", body=urlencode(form), headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - t0
        if response.status != 200:
            raise RuntimeError(f"webhook refused {body!r}: HTTP {response.status} {data[:200]!r}")
        return elapsed


class EventReader(threading.Thread):
    """A thread reading a server-sent event stream until stopped (``_read_one_stream``, once per
    connection), recording in ``arrived`` when each awaited thing first showed. The main thread
    waits with ``wait_for``; a reader that failed raises there."""

    what = "event stream"

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port = port
        self.arrived: dict = {}
        self.changed = threading.Condition()
        self.connects = 0
        self.stopping = False
        self.error: BaseException | None = None
        self.conn: http.client.HTTPConnection | None = None

    def _read_one_stream(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        try:
            while not self.stopping:
                self._read_one_stream()
        except BaseException as error:   # noqa: BLE001 (reported by the main thread)
            if not self.stopping:
                self.error = error
                with self.changed:
                    self.changed.notify_all()

    def wait_for(self, key, timeout: float) -> float | None:
        """When ``key`` first arrived, or None after ``timeout`` seconds without it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while key not in self.arrived:
                if self.error is not None:
                    raise RuntimeError(f"{self.what} failed: {self.error!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)
            return self.arrived[key]

    def stop(self) -> None:
        self.stopping = True
        if self.conn is not None and self.conn.sock is not None:
            try:
                self.conn.sock.shutdown(2)
            except OSError:
                pass


class Stream(EventReader):
    """Reads a conversation's server-sent events; records when each line's text first arrives.
    Reconnects (from the last seq seen) when the server ends the stream."""

    def __init__(self, port: int, cookie: str, cid: int, after: int):
        super().__init__(port)
        self.cookie, self.cid, self.after = cookie, cid, after
        self.opened = threading.Event()

    def _read_one_stream(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=70)
        self.conn.request("GET", f"/staff/conversations/{self.cid}/events?after={self.after}",
                          headers={"Cookie": self.cookie, "Accept": "text/event-stream"})
        response = self.conn.getresponse()
        if response.status != 200 or "text/event-stream" not in \
                response.headers.get("Content-Type", ""):
            raise RuntimeError(f"event stream refused: HTTP {response.status}")
        self.connects += 1
        name, data = None, []
        while True:
            raw = response.readline()
            if not raw:                   # the server ended the stream (after ~55 s)
                self.conn.close()
                return
            line = raw.decode().rstrip("\r\n")
            if line.startswith("retry:"):
                self.opened.set()
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif line == "":
                if name == "lines" and data:
                    now = time.perf_counter()
                    items = json.loads("\n".join(data))
                    with self.changed:
                        for item in items:
                            self.arrived.setdefault(item["text"], now)
                            self.after = max(self.after, item["seq"])
                        self.changed.notify_all()
                name, data = None, []


class QueueWatcher(EventReader):
    """One agent's open queue page, as queue.js works it: the queue's event stream
    (``/staff/events``) and, on each "changed", the table fetched again (``/staff/queue``).
    Records when a fetched table's caption first gave each count of conversations. A stream
    refused for the live-update budget ("busy") is counted, and the watcher comes back after
    the retry the server gave, as the page does."""

    what = "queue watcher"

    def __init__(self, port: int, username: str):
        super().__init__(port)
        self.browser = Browser(port)
        self.browser.sign_in(username)
        self.fetcher = Browser(port)
        self.fetcher.cookies = self.browser.cookies
        self.busy = 0

    def _fetch(self) -> None:
        status, _, page = self.fetcher.request("GET", "/staff/queue")
        now = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"GET /staff/queue: HTTP {status}")
        _, caption = rows_in(page.decode())
        with self.changed:
            if caption is not None:
                self.arrived.setdefault(caption, now)
            self.changed.notify_all()

    def _read_one_stream(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=70)
        self.conn.request("GET", "/staff/events", headers={
            "Cookie": self.browser.cookie_header(), "Accept": "text/event-stream"})
        response = self.conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"queue stream refused: HTTP {response.status}")
        self.connects += 1
        name, data = None, []
        while not self.stopping:
            raw = response.readline()
            if not raw:
                self.conn.close()
                return
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif line == "":
                if name == "changed":
                    self._fetch()
                elif name == "busy":
                    self.busy += 1
                    self.conn.close()
                    time.sleep(float(json.loads("\n".join(data) or "{}").get("retry", 3)))
                    return
                name, data = None, []


def agents_connected(app, port: int, agents: int, updates: int, pages: int,
                     expected: int) -> dict:
    """Issue 16's case: ``agents`` members of staff with the queue page open (each its own
    account, session and event stream) while ``expected`` conversations wait. The queue page
    and its table are timed with them all connected; then, ``updates`` times, a new citizen
    asks for a person by SMS (signed webhook) and we time, for every agent, from just before
    that POST to the moment their console has fetched the table that counts them
    (p50/p99 over agents x updates), and the webhook's own answer."""
    watchers = [QueueWatcher(port, f"{STAFF}-{i:02d}") for i in range(agents)]
    for w in watchers:
        w.start()
    for w in watchers:
        if w.wait_for(expected, 30) is None:
            raise RuntimeError("an agent's queue never showed the conversations waiting")
    browser = Browser(port)
    browser.sign_in()
    connected_pages = time_pages(browser, expected, pages)
    latencies, webhook, lost = [], [], 0
    desk = app.extensions["kaifong_desk"]
    for i in range(updates):
        phone = Phone(port, f"+8525{i:07d}")
        phone.send("lost my id card")
        count = desk.queue_size() + 1
        time.sleep(0.2)
        t0 = time.perf_counter()
        webhook.append(phone.send("person"))
        for w in watchers:
            seen = w.wait_for(count, 20)
            if seen is None:
                lost += 1
            else:
                latencies.append(seen - t0)
        if (i + 1) % 10 == 0:
            log(f"{agents} agents: {i + 1}/{updates} arrivals, p50 so far "
                f"{statistics.median(latencies) * 1000:.1f} ms")
    for w in watchers:
        w.stop()
    return {"agents": agents, "updates": updates, "waiting_at_start": expected,
            "lost": lost, "streams_refused_busy": sum(w.busy for w in watchers),
            "stream_connects": sum(w.connects for w in watchers),
            "queue_page": connected_pages["page"], "queue_fragment": connected_pages["fragment"],
            "arrival_to_every_console": figures(latencies),
            "webhook_response": figures(webhook)}


# -- the scenarios ----------------------------------------------------------------------------

def seed_waiting(app, start: int, count: int) -> float:
    """``count`` SMS conversations waiting for a person, walked through the real core."""
    from assistant import Start, Text
    assistant = app.extensions["kaifong"]
    t0 = time.perf_counter()
    for n in range(start, start + count):
        address = f"+8526{n:07d}"
        assistant.turn("sms", address, Start())
        assistant.turn("sms", address, Text("lost my id card"))
        assistant.turn("sms", address, Text("person"))
    return time.perf_counter() - t0


def rows_in(page: str) -> tuple[int, int | None]:
    """(rows in the table's body, the number its caption gives)."""
    # the queue's own table (the page also holds the table of waiting-time targets)
    if '<table class="queue' not in page:
        return 0, None                  # nothing listed (the page says so)
    page = page.split('<table class="queue', 1)[1]
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    caption = re.search(r"<caption>[^<:]*:\s*(\d+)[^<]*</caption>", page)
    return body.count("<tr"), int(caption.group(1)) if caption else None


def time_pages(browser: Browser, expected: int, pages: int) -> dict:
    out = {}
    for name, path in (("page", "/staff/"), ("fragment", "/staff/queue")):
        browser.request("GET", path)                       # warm up: templates, caches
        times, sizes = [], set()
        for _ in range(pages):
            t0 = time.perf_counter()
            status, _, data = browser.request("GET", path)
            times.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"GET {path}: HTTP {status}")
            sizes.add(len(data))
        rows, caption = rows_in(data.decode())
        if rows != expected or caption != expected:
            raise RuntimeError(f"GET {path} lists {rows} rows (caption {caption}), "
                               f"not the {expected} conversations waiting")
        out[name] = {"path": path, "rows": rows, "caption_count": caption,
                     "bytes": max(sizes), **figures(times),
                     "per_row_us": round(statistics.median(times) / rows * 1e6, 1)}
    return out


#: the queue as agents narrow it (issue 16): filters, and searches by words, by a number's last
#: digits and by reference, each over every conversation (the searches read the transcript)
NARROWED = (("filtered", "/staff/?channel=sms&language=en&who=unassigned&status=waiting"),
            ("mine", "/staff/?who=mine"),
            ("search_words", "/staff/?q=lost+my"),
            ("search_number", "/staff/?q=**0042"),
            ("search_reference", "/staff/?q=KF0000422"),
            ("closed", "/staff/closed"))


def time_narrowed(browser: Browser, pages: int) -> dict:
    """Each of ``NARROWED``: p50/p99 and how many rows it listed."""
    out = {}
    for name, path in NARROWED:
        browser.request("GET", path)
        times = []
        for _ in range(pages):
            t0 = time.perf_counter()
            status, _, data = browser.request("GET", path)
            times.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"GET {path}: HTTP {status}")
        rows, _ = rows_in(data.decode())
        out[name] = {"path": path, "rows": rows, "bytes": len(data), **figures(times)}
    return out


def desk_queue_in_process(app, repeats: int) -> dict:
    """``Desk.queue()`` alone (the query and the masking, no template), in this process."""
    desk = app.extensions["kaifong_desk"]
    desk.queue()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        desk.queue()
        times.append(time.perf_counter() - t0)
    return figures(times)


def message_to_console(app, console_port: int, webhook_port: int, messages: int, gap: float,
                       number: str, label: str, jitter: float = 0.0) -> dict:
    """``jitter``: up to this many seconds more between probes, drawn at random (seeded), so
    that a probe does not always land at the same point of the stream's 0.5 s poll."""
    browser = Browser(console_port)
    browser.sign_in()
    phone = Phone(webhook_port, number)
    phone.send("lost my id card")
    phone.send("person")
    # from the database: the queue page shows numbers masked, and at most 1,000 rows
    cid = app.extensions["kaifong"].store.conversation_id("sms", number)
    if cid is None:
        raise RuntimeError(f"{label}: the citizen's texts made no conversation")
    browser.claim(cid)
    _, _, body = browser.request("GET", f"/staff/conversations/{cid}/lines?after=0")
    last_seq = max((x["seq"] for x in json.loads(body)), default=0)
    stream = Stream(console_port, browser.cookie_header(), cid, last_seq)
    stream.start()
    if not stream.opened.wait(30):
        raise RuntimeError("the event stream did not open")
    time.sleep(0.2)
    # warm up the path (first turn of a claimed conversation, the stream's first wake-up)
    for i in range(3):
        text = f"warm {i} {token()}"
        phone.send(text)
        if stream.wait_for(text, 30) is None:
            raise RuntimeError(f"{label}: a warm-up message never reached the console")
    latencies, webhook, lost = [], [], 0
    pauses = random.Random(17)
    for i in range(messages):
        time.sleep(gap + pauses.uniform(0, jitter))
        text = f"probe {i} {token()}"
        t0 = time.perf_counter()
        webhook.append(phone.send(text))
        arrived = stream.wait_for(text, 10)
        if arrived is None:
            lost += 1
        else:
            latencies.append(arrived - t0)
        if (i + 1) % 50 == 0:
            log(f"{label}: {i + 1}/{messages} messages, p50 so far "
                f"{statistics.median(latencies) * 1000:.1f} ms")
    stream.stop()
    return {"conversation_id": cid, "messages": messages, "lost": lost,
            "stream_connects": stream.connects, "gap_ms": round(gap * 1000),
            "jitter_ms": round(jitter * 1000),
            "message_to_console": figures(latencies), "webhook_response": figures(webhook),
            "browser": browser}


# -- the run -----------------------------------------------------------------------------------

def throwaway_postgres(admin_url: str):
    """A new empty database next to ADMIN_URL's, and a function that drops it."""
    import sqlalchemy as sa

    from assistant.store import make_engine

    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"kaifong_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--messages-two-processes", type=int, default=60,
                        help="probes for the two-process scenario (each waits for the poll)")
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=50, help="GETs of each queue page")
    parser.add_argument("--gap-ms", type=float, default=50.0, help="pause between probes")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-two-processes", action="store_true")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not give the server and this script separate CPUs")
    parser.add_argument("--quick", action="store_true",
                        help="20 messages, 100 waiting, 10 pages (the smoke test)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", default=None,
                        help="run on PostgreSQL instead of SQLite: a throw-away database is made "
                             "through ADMIN_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) "
                             "and dropped afterwards; other processes' turns then arrive by "
                             "LISTEN/NOTIFY")
    parser.add_argument("--agents", type=int, default=20,
                        help="members of staff with the queue page open (issue 16's case)")
    parser.add_argument("--updates", type=int, default=30,
                        help="new arrivals each of them must see live")
    parser.add_argument("--agent-workers", type=int, default=2,
                        help="gunicorn workers of the server the agents use")
    parser.add_argument("--agent-threads", type=int, default=32,
                        help="threads per worker of that server (KAIFONG_THREADS too)")
    parser.add_argument("--only-agents", action="store_true",
                        help="only the queue pages and the agents' case (not the message "
                             "latency scenarios)")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.messages_two_processes = 20, 10
        args.waiting, args.pages, args.updates = 100, 10, 5
    small = max(1, args.waiting // 10)

    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = None
    if not args.no_pin and len(cpus) >= 2 and shutil.which("taskset"):
        server_cpus = set(cpus[:len(cpus) // 2])
        os.sched_setaffinity(0, set(cpus[len(cpus) // 2:]))

    doc: dict = {}
    servers: list = []
    database_url, drop_database = throwaway_postgres(args.postgres) if args.postgres else (None,
                                                                                          None)
    with tempfile.TemporaryDirectory() as data_dir:
        port, port_b = free_port(), free_port()
        base = dict(os.environ, KAIFONG_DATA_DIR=data_dir, TWILIO_AUTH_TOKEN=TOKEN,
                    PYTHONPATH=str(ROOT), KAIFONG_SMS_WORKER="off")
        for name in ("KAIFONG_DATABASE_URL", "KAIFONG_SECRET_KEY", "KAIFONG_PUBLIC_URL"):
            base.pop(name, None)
        # the same database, the schema, the staff account and the seeded conversations, in
        # this process, before any server starts
        os.environ.update(KAIFONG_DATA_DIR=data_dir, TWILIO_AUTH_TOKEN=TOKEN)
        for name in ("KAIFONG_DATABASE_URL", "KAIFONG_SECRET_KEY"):
            os.environ.pop(name, None)
        if database_url:
            base["KAIFONG_DATABASE_URL"] = os.environ["KAIFONG_DATABASE_URL"] = database_url
        os.environ["KAIFONG_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        from assistant.staff import add_staff
        from channels import create_app
        app = create_app()
        add_staff(app.extensions["kaifong"].store.engine, STAFF, PASSWORD, "agent")
        for i in range(args.agents):
            add_staff(app.extensions["kaifong"].store.engine, f"{STAFF}-{i:02d}", PASSWORD,
                      "agent")
        log(f"seeding {small} waiting conversations")
        seed_seconds = seed_waiting(app, 0, small)
        try:
            log(f"console: starting gunicorn on {port}")
            servers.append(start_server("channels:create_app()", port,
                                        dict(base, KAIFONG_PUBLIC_URL=f"http://127.0.0.1:{port}"),
                                        1, args.threads, server_cpus))
            browser = Browser(port)
            browser.sign_in()
            pages = {small: time_pages(browser, small, args.pages)}
            pages[small]["desk_queue_in_process"] = desk_queue_in_process(app, args.pages)
            log(f"queue with {small}: {pages[small]['page']['p50_ms']} ms; "
                f"seeding {args.waiting - small} more")
            seed_seconds += seed_waiting(app, small, args.waiting - small)
            pages[args.waiting] = time_pages(browser, args.waiting, args.pages)
            pages[args.waiting]["desk_queue_in_process"] = desk_queue_in_process(app, args.pages)
            log(f"queue with {args.waiting}: {pages[args.waiting]['page']['p50_ms']} ms")
            port_c = free_port()
            log(f"{args.agents} agents: starting gunicorn on {port_c} "
                f"({args.agent_workers} workers x {args.agent_threads} threads)")
            # every agent's stream comes from 127.0.0.1 here, as behind a proxy: the address's
            # share of the live-update budget raised to the whole budget (channels.longpoll)
            servers.append(start_server(
                "channels:create_app()", port_c,
                dict(base, KAIFONG_PUBLIC_URL=f"http://127.0.0.1:{port_c}",
                     KAIFONG_THREADS=str(args.agent_threads),
                     KAIFONG_LONG_POLLS_PER_ADDRESS=str(args.agent_threads // 2)),
                args.agent_workers, args.agent_threads, server_cpus))
            connected = agents_connected(app, port_c, args.agents, args.updates, args.pages,
                                         args.waiting)
            log(f"{args.agents} agents: page p50 {connected['queue_page']['p50_ms']} ms, "
                f"arrival to every console p50 "
                f"{connected['arrival_to_every_console']['p50_ms']} ms")
            stop_server(servers.pop())
            one = two = narrowed = None
            if not args.only_agents:
                narrowed = time_narrowed(browser, args.pages)
                log("filters and searches: " + ", ".join(
                    f"{k} {v['p50_ms']} ms" for k, v in narrowed.items()))

                log(f"message -> console, one process: {args.messages} messages")
                one = message_to_console(app, port, port, args.messages, args.gap_ms / 1000,
                                         CITIZEN, "one process")
                agent = one.pop("browser")
                # the queue now holds one more (the probing citizen, with staff) than it shows?
                _, _, page = agent.request("GET", "/staff/queue")
                shown, caption = rows_in(page.decode())
                in_queue = app.extensions["kaifong_desk"].queue_size()
                if not args.no_two_processes:
                    log(f"webhook: starting a second gunicorn on {port_b}")
                    servers.append(start_server(
                        "channels:create_app()", port_b,
                        dict(base, KAIFONG_PUBLIC_URL=f"http://127.0.0.1:{port_b}"),
                        1, args.threads, server_cpus))
                    log("message -> console, two processes: "
                        f"{args.messages_two_processes} messages")
                    two = message_to_console(app, port, port_b, args.messages_two_processes,
                                             args.gap_ms / 1000, "+85290000002", "two processes",
                                             jitter=0.5)
                    two.pop("browser")
        finally:
            for server in servers:
                stop_server(server)
            app.extensions["kaifong"].store.close()
            if drop_database:
                drop_database()

    with_rows = pages[args.waiting]
    fewer = pages[small]
    doc = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "setup": {"server": "gunicorn gthread, channels:create_app()", "workers": 1,
                  "threads": args.threads,
                  "database": "postgresql" if args.postgres else "sqlite (WAL)",
                  "client": "python http.client on loopback, same machine",
                  "server_cpus": sorted(server_cpus) if server_cpus else "shared",
                  "client_cpus": sorted(os.sched_getaffinity(0)),
                  "live_path": "one process: the store's threading.Condition, notified after "
                               "each commit, wakes the stream, which reads the transcript; "
                               + ("other processes' turns wake it by PostgreSQL's "
                                  "LISTEN/NOTIFY" if args.postgres else
                                  "other processes' turns are seen by polling the database "
                                  "every 0.5 s (Desk.wait_for_change)"),
                  "messages": args.messages, "gap_ms": args.gap_ms,
                  "waiting": args.waiting, "pages": args.pages,
                  "seeded_by": "Assistant.turn in the benchmark process: Start, "
                               "'lost my id card', 'person' per SMS number",
                  "seed_seconds": round(seed_seconds, 2)},
        f"agents_connected_{args.agents}": {
            "server": f"gunicorn gthread, {args.agent_workers} workers x {args.agent_threads} "
                      "threads, KAIFONG_LONG_POLLS_PER_ADDRESS raised to the budget (all on "
                      "loopback, as behind a proxy)", **connected},
        f"queue_page_{args.waiting}": with_rows["page"],
        f"queue_fragment_{args.waiting}": with_rows["fragment"],
        f"desk_queue_{args.waiting}_in_process": with_rows["desk_queue_in_process"],
        f"queue_page_{small}": fewer["page"],
        f"queue_fragment_{small}": fewer["fragment"],
        f"desk_queue_{small}_in_process": fewer["desk_queue_in_process"],
        "ratio": {
            f"page_{args.waiting}_over_{small}": round(
                with_rows["page"]["p50_ms"] / fewer["page"]["p50_ms"], 2),
            f"fragment_{args.waiting}_over_page_{args.waiting}": round(
                with_rows["fragment"]["p50_ms"] / with_rows["page"]["p50_ms"], 2),
            f"desk_queue_over_page_{args.waiting}": round(
                with_rows["desk_queue_in_process"]["p50_ms"] / with_rows["page"]["p50_ms"], 2),
            f"page_with_{args.agents}_agents_over_alone": round(
                connected["queue_page"]["p50_ms"] / with_rows["page"]["p50_ms"], 2),
        },
    }
    if one is not None:
        doc["message_to_console"] = one
        doc[f"queue_narrowed_{args.waiting}"] = narrowed
        doc["ratio"]["console_p50_over_webhook_p50"] = round(
            one["message_to_console"]["p50_ms"] / one["webhook_response"]["p50_ms"], 2)
        # past 1,000 the page shows the first 1,000 and its caption says how many wait
        doc["queue_beyond_waiting"] = {"conversations_in_queue": in_queue,
                                       "rows_shown": shown, "caption_says": caption}
    if two is not None:
        doc["two_processes"] = {"console_port_process": "first gunicorn",
                                "webhook_process": "second gunicorn, same database", **two}
        doc["ratio"]["two_processes_p50_over_one_process_p50"] = round(
            two["message_to_console"]["p50_ms"] / one["message_to_console"]["p50_ms"], 1)
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    lost = connected["lost"] + (one["lost"] if one else 0) + (two["lost"] if two else 0)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
