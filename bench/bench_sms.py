"""SMS webhook benchmark: throughput and latency of ``POST /sms`` under 16 concurrent senders.

Three servers, one after the other in the same run, all under gunicorn (the production WSGI
server of DESIGN.md) with the same workers and threads:
  * kaifong:    the real app from ``channels:create_app()`` on SQLite: signature check, replay
                check, the turn (engine + commit), TwiML;
  * bare:       a Flask endpoint that returns a fixed TwiML message: the floor of this stack,
                the one the issue names;
  * persisting: the bare endpoint plus a signature check and one committed SQLite row per
                message: the floor of any webhook that may not lose a message (bare_app.py).
``ratio`` compares kaifong with each floor. Then ``statements``: the real app once more, with
SQLAlchemy's events counting the SQL statements and commits of each ``POST /sms``
(bench/counting_app.py), under the same load for ``--count-seconds``; it is not timed.
Each sender is one phone number walking a real procedure, one message at a time (as a person
would), every request signed as Twilio signs it and with its own MessageSid. The load
generator runs on the same machine (2 cores here), so both servers share the machine with it
alike: compare the ratio, not the absolute numbers.

    .venv/bin/python bench/bench_sms.py [--seconds 10] [--senders 16] [--threads 8] [--out FILE]

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-auth-token-0123456789abcdef"
TURNS = ["lost my id card", "1", "1", "1", "yes", "A123456(3)", "yes", "9123 4567", "1", "1",
         "yes", "start again", "fruit money", "1", "75", "1", "2", "1", "start again"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(app: str, port: int, env: dict, workers: int, threads: int,
                 cpus: set[int] | None) -> subprocess.Popen:
    if app.startswith("channels:"):   # the deployment step: slots are seeded once, not by workers
        subprocess.run([str(Path(sys.executable).parent / "kaifong"), "seed-slots"], cwd=ROOT,
                       env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
           "--log-level", "warning", app]
    if cpus:
        cmd = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] + cmd
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return proc
        except OSError as error:
            if proc.poll() is not None:
                raise RuntimeError(f"{app} did not start: {proc.stderr.read()[-2000:]}") \
                    from error
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{app} did not answer within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load(port: int, seconds: float, senders: int) -> dict:
    url = f"http://127.0.0.1:{port}/sms"
    validator = RequestValidator(TOKEN)
    latencies: list[list[float]] = [[] for _ in range(senders)]
    errors = [0] * senders
    start = threading.Barrier(senders + 1)
    stop_at = [0.0]

    def sender(n: int) -> None:
        number = f"+8529{n:07d}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        i = 0
        while time.perf_counter() < stop_at[0]:
            params = {"From": number, "To": "+85230000000", "Body": TURNS[i % len(TURNS)],
                      "MessageSid": "SM" + uuid.uuid4().hex, "NumMedia": "0",
                      "AccountSid": "AC" + "0" * 32}
            body = urlencode(params)
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": validator.compute_signature(url, params)}
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/sms", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[n].append(time.perf_counter() - t0)
            if not ok:
                errors[n] += 1
            i += 1
        conn.close()

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for per in latencies for x in per)
    return {
        "requests": len(every), "errors": sum(errors), "seconds": round(elapsed, 2),
        "requests_per_s": round(len(every) / elapsed, 1),
        "p50_ms": round(statistics.median(every) * 1000, 2),
        "p99_ms": round(every[int(len(every) * 0.99) - 1] * 1000, 2),
        "max_ms": round(every[-1] * 1000, 2),
    }


def count_statements(port: int) -> dict:
    """What the counting app saw (see bench/counting_app.py). With several workers, each has its
    own count, and this is the one that answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/bench/statements")
    body = json.loads(conn.getresponse().read())
    conn.close()
    return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=16)
    # SQLite is the one-process configuration (DESIGN.md); several processes are for PostgreSQL
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", help="e.g. a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not give the server and the load generator separate CPUs")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--count-seconds", type=float, default=3.0,
                        help="seconds of load for the statement count (0: none)")
    parser.add_argument("--out")
    args = parser.parse_args()
    # The load generator is Python too: on a small machine it would take CPU from whichever
    # server it is measuring. Half the CPUs for the server, the rest for the senders.
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = None
    if not args.no_pin and len(cpus) >= 2 and shutil.which("taskset"):
        server_cpus = set(cpus[:len(cpus) // 2])
        os.sched_setaffinity(0, set(cpus[len(cpus) // 2:]))
    results = {}
    with tempfile.TemporaryDirectory() as data_dir:
        for name, app in (("bare", "bench.bare_app:create_bare_app()"),
                          ("persisting", "bench.bare_app:create_persisting_app()"),
                          ("kaifong", "channels:create_app()")):
            port = free_port()
            env = dict(os.environ, KAIFONG_DATA_DIR=data_dir, TWILIO_AUTH_TOKEN=TOKEN,
                       KAIFONG_PUBLIC_URL=f"http://127.0.0.1:{port}", PYTHONPATH=str(ROOT))
            env.pop("KAIFONG_DATABASE_URL", None)
            if args.database_url:
                env["KAIFONG_DATABASE_URL"] = args.database_url
            print(f"{name}: starting gunicorn on {port}", file=sys.stderr)
            server = start_server(app, port, env, args.workers, args.threads, server_cpus)
            try:
                load(port, args.warmup, args.senders)    # warm up: imports, caches, first rows
                results[name] = load(port, args.seconds, args.senders)
            finally:
                stop_server(server)
            print(f"{name}: {results[name]}", file=sys.stderr)
        statements = None
        if args.count_seconds > 0:
            port = free_port()
            env = dict(os.environ, KAIFONG_DATA_DIR=f"{data_dir}/counted",
                       TWILIO_AUTH_TOKEN=TOKEN, KAIFONG_PUBLIC_URL=f"http://127.0.0.1:{port}",
                       PYTHONPATH=str(ROOT))
            env.pop("KAIFONG_DATABASE_URL", None)
            if args.database_url:
                env["KAIFONG_DATABASE_URL"] = args.database_url
            print(f"statements: starting gunicorn on {port}", file=sys.stderr)
            server = start_server("bench.counting_app:create_counting_app()", port, env,
                                  args.workers, args.threads, server_cpus)
            try:
                load(port, args.count_seconds, args.senders)
                statements = count_statements(port)
            finally:
                stop_server(server)
            print(f"statements: {statements}", file=sys.stderr)
    ours, floor, persisting = results["kaifong"], results["bare"], results["persisting"]
    doc = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "setup": {"server": "gunicorn gthread", "workers": args.workers, "threads": args.threads,
                  "senders": args.senders, "seconds": args.seconds,
                  "database": (args.database_url or "sqlite").split(":")[0],
                  "load_generator": "python http.client, same machine",
                  "server_cpus": sorted(server_cpus) if server_cpus else "shared",
                  "load_generator_cpus": sorted(os.sched_getaffinity(0))},
        "bare": floor, "persisting": persisting, "kaifong": ours, "statements": statements,
        "ratio": {"throughput_kaifong_over_bare": round(ours["requests_per_s"]
                                                        / floor["requests_per_s"], 3),
                  "p99_kaifong_over_bare": round(ours["p99_ms"] / floor["p99_ms"], 2),
                  "throughput_kaifong_over_persisting": round(
                      ours["requests_per_s"] / persisting["requests_per_s"], 3),
                  "p99_kaifong_over_persisting": round(ours["p99_ms"] / persisting["p99_ms"],
                                                       2)},
        "targets": {"p99_under_50_ms": ours["p99_ms"] < 50,
                    "throughput_at_least_half_of_bare":
                        ours["requests_per_s"] >= 0.5 * floor["requests_per_s"]},
    }
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0 if not any(r["errors"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
