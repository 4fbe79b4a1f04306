"""How fast the service answers when PostgreSQL goes silent or refuses: SMS webhook, voice
webhook and /healthz.

The real app (``channels:create_app()``) under gunicorn (1 worker, gthread) on a fresh PostgreSQL
database reached through ``bench/db_proxy.py``, a TCP proxy that forwards, goes silent (accepts
connections, then never answers: a stopped host or a partition) or refuses (connection refused,
open connections reset). For each state, ``--rounds`` signed SMS webhooks (each from its own
number, about half in Chinese), voice webhooks and ``GET /healthz``, one after the other; each
answer's status, content type and time is recorded. The SMS and voice answers must be TwiML
(``text/xml``) whatever the state; /healthz 200 or 503.

    .venv/bin/python bench/bench_db_faults.py [--rounds 10]

Prints one JSON document: per state and endpoint, p50 / max milliseconds and the statuses seen.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_sms import free_port, start_server, stop_server  # noqa: E402
from bench.db_proxy import DbProxy  # noqa: E402

TOKEN = "bench-faults-token-0123456789abcdef"
POSTGRES_URL = os.environ.get("KAIFONG_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def post(port: int, path: str, form: dict) -> tuple[int, str, float]:
    url = f"http://127.0.0.1:{port}{path}"
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=urlencode(form), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, response.getheader("Content-Type", ""), time.perf_counter() - began


def get(port: int, path: str) -> tuple[int, str, float]:
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, response.getheader("Content-Type", ""), time.perf_counter() - began


def measure(port: int, rounds: int, tag: str) -> dict:
    seen: dict[str, list] = {"sms": [], "voice": [], "healthz": []}
    for i in range(rounds):
        number = f"+8529{abs(hash((tag, i))) % 10**7:07d}"
        body = "你好" if i % 2 else "hello"
        seen["sms"].append(post(port, "/sms", {
            "From": number, "To": "+85230000000", "Body": body, "NumMedia": "0",
            "MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32}))
        seen["voice"].append(post(port, "/voice", {
            "CallSid": "CA" + uuid.uuid4().hex, "From": number, "To": "+85230000000",
            "CallStatus": "ringing", "AccountSid": "AC" + "0" * 32}))
        seen["healthz"].append(get(port, "/healthz"))
    out = {}
    for name, answers in seen.items():
        ms = sorted(a[2] * 1000 for a in answers)
        out[name] = {"p50_ms": round(statistics.median(ms), 1), "max_ms": round(ms[-1], 1),
                     "statuses": sorted({f"{a[0]} {a[1].split(';')[0]}" for a in answers})}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out")
    args = parser.parse_args()
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"kaifong_faults_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    proxy = DbProxy(admin.url.port or 5432, admin.url.host or "127.0.0.1").start()
    results = {}
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            port = free_port()
            url = admin.url.set(database=name, port=proxy.port)
            env = dict(os.environ, KAIFONG_DATA_DIR=data_dir, TWILIO_AUTH_TOKEN=TOKEN,
                       KAIFONG_PUBLIC_URL=f"http://127.0.0.1:{port}", PYTHONPATH=str(ROOT),
                       KAIFONG_DATABASE_URL=url.render_as_string(hide_password=False),
                       KAIFONG_SECRET_KEY="bench-faults-secret", KAIFONG_SMS_WORKER="off")
            server = start_server("channels:create_app()", port, env, 1, 8, None)
            try:
                for state in ("forward", "silent", "forward_again", "refuse", "forward_last"):
                    proxy.mode = state.split("_")[0]
                    print(f"database {state}", file=sys.stderr, flush=True)
                    results[state] = measure(port, args.rounds, state)
            finally:
                stop_server(server)
    finally:
        proxy.stop()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    doc = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                       "cpus": os.cpu_count()},
           "setup": {"server": "gunicorn gthread, 1 worker, 8 threads", "rounds": args.rounds,
                     "database": "postgresql behind bench/db_proxy.py",
                     "webhook_db_seconds": float(os.environ.get("KAIFONG_WEBHOOK_DB_SECONDS")
                                                 or 1.5)},
           **results}
    out = json.dumps(doc, indent=2, ensure_ascii=False)
    print(out)
    if args.out:
        Path(args.out).write_text(out + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
