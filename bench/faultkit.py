"""The fault kit: real processes, real PostgreSQL, real sockets, and ways to break them.

Used by ``bench/faults.py`` (the long run, with figures), ``bench/bench_longpoll.py`` and the
``faults`` tests (``tests/faults``, the short run in CI). Nothing here is mocked: the service is
``channels:create_app()`` under gunicorn (gthread) with several workers, or ``kaifong serve``
(waitress); the outbox is sent by ``kaifong sms-worker`` processes through Twilio's own client
to ``FakeTwilio`` (tests/channels/sms/fake_twilio.py), a real HTTP server that answers like
Twilio's Messages API and fails on demand; webhooks are signed with Twilio's own
``RequestValidator``.

- ``fresh_postgres()``: a new empty database (dropped afterwards), migrated and seeded with
  appointment slots once, before any worker starts.
- ``DbProxy``: a TCP proxy in front of PostgreSQL that the service connects through. ``refuse()``
  closes its port and resets every connection (a database that is down); ``silence()`` keeps
  connections open but forwards nothing, and accepts new ones without answering (a database,
  or a network, that stops answering); ``restore()`` forwards again.
- ``Server``: gunicorn with N workers (``kill_worker()``: kill -9 of one worker, which the
  master replaces; ``kill_all()``: kill -9 of the master and every worker; ``start()`` again on
  the same port) or ``kaifong serve``.
- ``SmsWorkers``: N ``kaifong sms-worker`` processes (``kill_one()``: kill -9, then a new one).
- ``Load``: citizens texting the webhook: many numbers, each sending one message after the
  other as a person does, and some sending several at once; every message has its own
  MessageSid and a body unique in the run. A message that gets no answer (no connection, a
  5xx, nothing within Twilio's 15 s) is sent again with the same MessageSid and signature, as
  Twilio would, up to ``resends`` times. Its record says what it got.
- ``check_database()``: what the database holds afterwards against what the load was told:
  every answered message recorded once (an answer that is the service's apology for a database
  out of reach means "not taken": such a message may be recorded once or not at all), in order per number (for messages sent one after the
  other), nothing left half-done; ``check_outbox()``: each outbox message sent once.

The at-least-once window (documented in ``channels/sms/outbound.py``): a sms-worker killed
after Twilio took a message but before it recorded Twilio's sid has that message sent again
by another worker when its lease ends. A worker claims one message at a time, so each kill -9
can double at most one message: ``check_outbox`` allows up to that many doubles, and counts
them apart from unexplained ones.
"""

from __future__ import annotations

import http.client
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.channels.sms.fake_twilio import FakeTwilio  # noqa: E402  (after the path)

TOKEN = "faults-auth-token-0123456789abcdef"
SECRET_KEY = "faults-secret-key-" + "0" * 32
ADMIN_URL = os.environ.get("KAIFONG_TEST_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Twilio waits this long for a webhook's answer, then gives up on it
TWILIO_TIMEOUT = 15.0
SERVICE_NUMBER = "+85230000000"

__all__ = ["ADMIN_URL", "DbProxy", "FakeTwilio", "Load", "Sent", "Server", "SmsWorkers",
           "check_database", "check_outbox", "enqueue_outbox", "free_port", "fresh_postgres",
           "percentiles", "postgres_available", "signed_post"]


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(values: list[float]) -> dict:
    """p50/p90/p99/max in milliseconds (nearest rank)."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": rank(0.50), "p90_ms": rank(0.90),
            "p99_ms": rank(0.99), "max_ms": round(ordered[-1] * 1000, 1)}


# -- PostgreSQL ---------------------------------------------------------------------------------

def postgres_available(admin_url: str = ADMIN_URL) -> bool:
    try:
        engine = sa.create_engine(admin_url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 (any reason: no server)
        return False


def fresh_postgres(admin_url: str = ADMIN_URL, seed_days: int = 14):
    """A new database, migrated and seeded with appointment slots once (the workers then start
    with ``KAIFONG_SEED_SLOTS_DAYS=0``): ``(url, drop)``."""
    from assistant import load_catalogue, seed_appointment_slots
    from assistant.store import Store, make_engine

    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"kaifong_faults_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    store = Store(url)
    try:
        seed_appointment_slots(store, load_catalogue(), days=seed_days)
    finally:
        store.close()

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def via(url: str, port: int) -> str:
    """The same database URL through another port on this machine (the proxy)."""
    return sa.engine.make_url(url).set(host="127.0.0.1", port=port).render_as_string(
        hide_password=False)


class DbProxy:
    """A TCP proxy to PostgreSQL that can refuse (port closed) or go silent (no forwarding)."""

    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = "forward"
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._resume = threading.Event()
        self._resume.set()

    def start(self) -> DbProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name="db-proxy-accept").start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._resume.wait()               # silent: accepted, and nothing comes back
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        with self._lock:
            self._conns.update((client, upstream))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self._resume.wait()       # silent: what arrives is held, not forwarded
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._conns.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def refuse(self) -> None:
        """The database is down: the port is closed and every connection is reset."""
        self.mode = "refuse"
        if self._listener is not None:
            try:
                # wakes the thread blocked in accept(): a close alone would leave the kernel's
                # socket listening until that accept returns
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            self._drop(s)

    def silence(self) -> None:
        """The database stops answering: nothing is forwarded either way, connections stay."""
        self.mode = "silent"
        self._resume.clear()

    def restore(self) -> None:
        self.mode = "forward"
        self._resume.set()
        if self._listener is None:
            self.start()

    def close(self) -> None:
        self.refuse()


# -- the service --------------------------------------------------------------------------------

def service_env(database_url: str, data_dir: str, port: int, threads: int,
                fake: FakeTwilio | None = None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAIFONG_", "TWILIO_"))}
    env.update({
        "KAIFONG_DATABASE_URL": database_url, "KAIFONG_DATA_DIR": data_dir,
        "KAIFONG_PUBLIC_URL": f"http://127.0.0.1:{port}", "KAIFONG_SECRET_KEY": SECRET_KEY,
        "TWILIO_AUTH_TOKEN": TOKEN, "KAIFONG_SEED_SLOTS_DAYS": "0",
        "KAIFONG_THREADS": str(threads), "KAIFONG_SMS_WORKER": "off",
        "KAIFONG_SMS_WORKER_INTERVAL": "0.2", "PYTHONUNBUFFERED": "1",
    })
    if fake is not None:
        env.update(fake.config)
    env.update(extra)
    return env


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing ")"
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class Server:
    """The service in real processes: gunicorn (``workers`` gthread workers of ``threads``
    threads) or waitress as ``kaifong serve`` runs it (one process), on ``port``."""

    def __init__(self, database_url: str, *, workers: int = 3, threads: int = 8,
                 kind: str = "gunicorn", port: int | None = None, env: dict | None = None,
                 data_dir: str | None = None):
        self.database_url = database_url
        self.workers, self.threads, self.kind = workers, threads, kind
        self.port = port or free_port()
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="kaifong-faults-")
        self.data_dir = data_dir or self._tmp.name
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.kills = 0
        self.log_path = Path(self.data_dir) / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        bindir = Path(sys.executable).parent
        if self.kind == "waitress":
            # the server ``kaifong serve`` runs (waitress, one process, KAIFONG_THREADS
            # threads), without its start-up extras (prerendering speech, an outbox thread)
            return [str(bindir / "waitress-serve"), "--listen", f"127.0.0.1:{self.port}",
                    "--threads", str(self.threads), "--call", "channels:create_app"]
        return [str(bindir / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--threads", str(self.threads),
                "--worker-class", "gthread", "--graceful-timeout", "5", "--timeout", "60",
                "--log-level", "warning", "channels:create_app()"]

    def start(self, timeout: float = 90) -> Server:
        env = service_env(self.database_url, self.data_dir, self.port, self.threads,
                          **self.extra_env)
        out = open(self.log_path, "a")  # noqa: SIM115 (kept open for the process)
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server did not start:\n{self.log_tail()}")
            if self.healthy() and (self.kind == "waitress"
                                   or len(self.worker_pids()) >= self.workers):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s:\n"
                           f"{self.log_tail()}")

    def healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        return _children(self.proc.pid) if self.kind == "gunicorn" else [self.proc.pid]

    def kill_worker(self) -> int | None:
        """kill -9 of one worker (gunicorn's master starts another)."""
        pids = self.worker_pids()
        if not pids:
            return None
        pid = random.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        self.kills += 1
        return pid

    def kill_all(self) -> None:
        """kill -9 of the whole server: the master and every worker at once."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


class SmsWorkers:
    """``count`` ``kaifong sms-worker`` processes sending the outbox to ``fake``."""

    def __init__(self, database_url: str, fake: FakeTwilio, count: int = 2,
                 data_dir: str | None = None):
        self.database_url, self.fake, self.count = database_url, fake, count
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="kaifong-smsw-")
        self.data_dir = data_dir or self._tmp.name
        self.procs: list[subprocess.Popen] = []
        self.kills = 0

    def _spawn(self) -> subprocess.Popen:
        env = service_env(self.database_url, self.data_dir, 0, 1, self.fake,
                          KAIFONG_PUBLIC_URL="")
        out = open(Path(self.data_dir) / "sms-worker.log", "a")  # noqa: SIM115
        proc = subprocess.Popen([str(Path(sys.executable).parent / "kaifong"), "sms-worker"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        out.close()
        return proc

    def start(self) -> SmsWorkers:
        self.procs = [self._spawn() for _ in range(self.count)]
        return self

    def kill_one(self) -> None:
        """kill -9 of one worker, and a new one in its place."""
        alive = [p for p in self.procs if p.poll() is None]
        if not alive:
            return
        victim = random.choice(alive)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.kills += 1
        self.procs = [p for p in self.procs if p is not victim] + [self._spawn()]

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


# -- citizens texting -----------------------------------------------------------------------------

def signed_post(base_url: str, path: str, form: dict, token: str = TOKEN,
                timeout: float = TWILIO_TIMEOUT) -> tuple[int, str]:
    """POST ``form`` as Twilio does (signed over the public URL); (status, body)."""
    url = base_url + path
    data = urlencode(form)
    host, port = base_url.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", path, body=data, headers={
            "X-Twilio-Signature": RequestValidator(token).compute_signature(url, form),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1"})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _word(n: int) -> str:
    """A unique word of letters (digits in a citizen's text may be masked or read as keys)."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = ""
    n += 20 ** 3
    while n:
        n, r = divmod(n, 20)
        out += letters[r]
    return out


def _apologising(twiml: str, apologies: list[str]) -> bool:
    from channels.sms.devtools import messages_in

    if not apologies:
        return False
    try:
        said = messages_in(twiml)
    except Exception:  # noqa: BLE001 (not TwiML: counted by answered_not_twiml instead)
        return False
    return any(text in message for message in said for text in apologies)


def _apologies() -> list[str]:
    """The webhook's apology when the database is out of reach, in every language (none where
    the service has no such apology)."""
    try:
        from channels.sms.inbound import UNAVAILABLE
    except ImportError:
        return []
    from assistant import load_catalogue

    catalogue = load_catalogue()
    return [catalogue.gettext(locale, UNAVAILABLE) for locale in catalogue.locales]


@dataclass
class Sent:
    number: str
    body: str
    sid: str
    sequential: bool              # sent after the number's previous message was answered
    tries: int = 0
    answered: bool = False
    status: int | None = None     # the last HTTP status (None: no answer)
    twiml: bool = False
    #: answered with the apology for a database out of reach (issue 13, item 3): not taken
    #: (Twilio sends the apology and does not resend); recorded at most once
    apologised: bool = False
    seconds: list[float] = field(default_factory=list)   # each try's time


class Load:
    """Citizens texting the webhook at ``server_url`` until ``stop()``."""

    def __init__(self, server_url: str, numbers: int = 30, burst_numbers: int = 3,
                 burst: int = 3, resends: int = 3, pause: float = 0.05, seed: int = 13):
        self.url = server_url
        self.numbers = [f"+8526{1000000 + i:07d}" for i in range(numbers)]
        self.burst_numbers = set(self.numbers[:burst_numbers])
        self.burst = burst
        self.resends = resends
        self.pause = pause
        self.random = random.Random(seed)
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self.apologies = _apologies()

    def start(self) -> Load:
        for number in self.numbers:
            t = threading.Thread(target=self._citizen, args=(number,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 120) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))

    def _message(self, number: str, sequential: bool) -> Sent:
        n = next(self._counter)
        message = Sent(number, f"hello {_word(n)}", "SM" + uuid.uuid4().hex, sequential)
        with self._lock:
            self.sent.append(message)
        return message

    def _citizen(self, number: str) -> None:
        rng = random.Random(number)
        while not self._stop.is_set():
            if number in self.burst_numbers and rng.random() < 0.3:
                # several at once from one number (a person pressing send again and again)
                burst = [self._message(number, False) for _ in range(self.burst)]
                threads = [threading.Thread(target=self.deliver, args=(m,)) for m in burst]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            else:
                self.deliver(self._message(number, True))
            self._stop.wait(self.pause * (0.5 + rng.random()))

    def deliver(self, message: Sent) -> None:
        """Send, and send again (same MessageSid) what got no answer, as Twilio would."""
        form = {"ApiVersion": "2010-04-01", "AccountSid": "AC" + "0" * 32,
                "MessageSid": message.sid, "SmsMessageSid": message.sid, "SmsSid": message.sid,
                "SmsStatus": "received", "From": message.number, "To": SERVICE_NUMBER,
                "Body": message.body, "NumMedia": "0", "NumSegments": "1"}
        for attempt in range(1 + self.resends):
            message.tries += 1
            started = time.monotonic()
            try:
                status, body = signed_post(self.url, "/sms", form)
            except (OSError, http.client.HTTPException):
                status, body = None, ""
            message.seconds.append(time.monotonic() - started)
            message.status = status
            if status == 200:
                message.answered = True
                message.twiml = body.lstrip().startswith("<?xml") or "<Response" in body
                message.apologised = _apologising(body, self.apologies)
                return
            if attempt < self.resends:
                # Twilio retries after a while; here, soon (a server being restarted comes
                # back within seconds)
                time.sleep(min(5.0, 0.5 * 2 ** attempt))

    def figures(self) -> dict:
        with self._lock:
            sent = list(self.sent)
        first = [m.seconds[0] for m in sent if m.seconds]
        return {"messages": len(sent), "answered": sum(m.answered for m in sent),
                "apologised": sum(m.apologised for m in sent),
                "unanswered": sum(not m.answered for m in sent),
                "resent": sum(m.tries > 1 for m in sent),
                "answered_not_twiml": sum(m.answered and not m.twiml for m in sent),
                "first_try_latency": percentiles(first)}


# -- the outbox -----------------------------------------------------------------------------------

def enqueue_outbox(database_url: str, count: int, start: int = 0) -> list[str]:
    """Queue ``count`` SMS with unique bodies, as staff replies (each in its own conversation
    row-free transaction); returns the bodies."""
    from assistant.outbox import enqueue, now_utc
    from assistant.store import Store

    store = Store(database_url)
    bodies = []
    try:
        with store.transaction() as session:
            now = now_utc()
            for i in range(start, start + count):
                body = f"outbox {_word(i)}"
                enqueue(session, "sms", f"+8529{2000000 + i % 5000:07d}", body, "staff_reply",
                        now)
                bodies.append(body)
    finally:
        store.close()
    return bodies


def check_outbox(database_url: str, fake: FakeTwilio, bodies: list[str],
                 worker_kills: int) -> dict:
    """Each queued message sent once: Twilio accepted it once and the row says sent with that
    sid. Doubles are allowed up to one per kill -9 of a sms-worker (the at-least-once window),
    and counted apart."""
    from assistant.outbox import outbox

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = {r.body: r for r in conn.execute(sa.select(outbox).where(
                outbox.c.body.in_(bodies)))}
    finally:
        engine.dispose()
    accepted = Counter(m.body for m in fake.messages)
    sids = defaultdict(set)
    for m in fake.messages:
        sids[m.body].add(m.sid)
    not_sent = [b for b in bodies if accepted[b] == 0]
    doubled = [b for b in bodies if accepted[b] > 1]
    wrong_row = [b for b in bodies if accepted[b] >= 1 and (
        b not in rows or rows[b].status not in ("sent", "delivered")
        or rows[b].provider_id not in sids[b])]
    statuses = Counter(r.status for r in rows.values())
    return {"queued": len(bodies), "sent_once": sum(accepted[b] == 1 for b in bodies),
            "not_sent": len(not_sent), "doubled": len(doubled),
            "doubled_allowed": min(len(doubled), worker_kills),
            "doubled_unexplained": max(0, len(doubled) - worker_kills),
            "row_disagrees": len(wrong_row), "statuses": dict(statuses),
            "stuck": statuses.get("sending", 0) + statuses.get("queued", 0)}


# -- what the database holds ----------------------------------------------------------------------

def check_database(database_url: str, sent: list[Sent]) -> dict:
    """Every answered message recorded once (a user line of its number's conversation, and its
    MessageSid once), none recorded twice, those sent one after the other in order, and nothing
    left half-done (no transaction left open, no conversation without its lines)."""
    from assistant.store import conversations, inbound_messages, transcript_lines

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            c, t = conversations.c, transcript_lines.c
            lines = conn.execute(
                sa.select(c.address, t.seq, t.text).join(
                    transcript_lines, t.conversation_id == c.id)
                .where(c.channel == "sms", t.role == "user").order_by(c.address, t.seq)).all()
            keys = Counter(conn.scalars(sa.select(inbound_messages.c.key).where(
                inbound_messages.c.channel == "sms")))
            idle_in_tx = conn.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
            numbers = {m.number for m in sent}
            status = Counter(conn.scalars(sa.select(c.status).where(
                c.channel == "sms", c.address.in_(numbers))))
    finally:
        engine.dispose()
    by_number: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        by_number[line.address].append(line.text)
    seen = Counter((line.address, line.text) for line in lines)
    ours = {(m.number, m.body) for m in sent}
    # taken: answered with the service's reply (an apology says it was not taken)
    answered = [m for m in sent if m.answered and not m.apologised]
    lost = [m for m in answered if seen[(m.number, m.body)] == 0]
    doubled = [m for m in sent if seen[(m.number, m.body)] > 1]
    strangers = [k for k in seen if k[1].startswith("hello ") and k not in ours]
    # in order: the messages a number sent one after the other, each after an answer, appear
    # in the order they were sent
    out_of_order = 0
    for number in numbers:
        expected = [m.body for m in sent if m.number == number and m.sequential
                    and m.answered and not m.apologised and seen[(number, m.body)] == 1]
        position = {text: i for i, text in enumerate(by_number[number])}
        got = [position[b] for b in expected]
        out_of_order += sum(1 for a, b in zip(got, got[1:], strict=False) if b < a)
    unanswered_recorded = sum(1 for m in sent if (not m.answered or m.apologised)
                              and seen[(m.number, m.body)])
    return {"accepted": len(answered), "lost": len(lost), "doubled": len(doubled),
            "out_of_order": out_of_order, "strangers": len(strangers),
            "sids_twice": sum(1 for n in keys.values() if n > 1),
            "unanswered_but_recorded": unanswered_recorded,
            "idle_in_transaction": idle_in_tx, "conversations": dict(status)}
