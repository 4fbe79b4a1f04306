"""Fresh starts: gunicorn with several workers on a new, empty PostgreSQL database, again and again.

Each start makes a throw-away database, starts ``gunicorn --workers N channels:create_app()`` on
it and waits until every worker has loaded the app (a ``post_worker_init`` hook in a temporary
gunicorn config file writes one file per worker) and ``/healthz`` answers 200, or until the
master exits ("Worker failed to boot") or 60 s pass. Then it stops the server, checks the
appointment slots in the database, and drops the database.

Two ways to start, both counted:
  * ``deploy`` (the documented way): ``kaifong seed-slots`` once, then the workers (which do not
    seed);
  * ``workers_seed``: every worker seeds 14 days as it boots (``KAIFONG_SEED_SLOTS_DAYS=14``),
    all at once on an empty database: the race that made 2-4 of 8 starts fail before seeding
    became ``INSERT ... ON CONFLICT DO NOTHING``.

    .venv/bin/python bench/bench_startup.py [--starts 20] [--workers 3] [--mode both]

Prints one JSON document: per mode, how many starts came up, the failures' last log lines, the
seconds to all workers up (p50 and max), and the slot counts seen (all equal when nothing is
doubled or missing).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_sms import free_port  # noqa: E402

POSTGRES_URL = os.environ.get("KAIFONG_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HOOK = """
import os
def post_worker_init(worker):
    open(os.path.join({ready!r}, str(worker.pid)), "w").close()
"""


def fresh_start(admin, workers: int, mode: str, threads: int = 4) -> dict:
    """One start on a new database; returns {"up", "seconds", "slots", "log"}."""
    name = f"kaifong_start_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return _start(url, Path(tmp), workers, mode, threads)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start(url: str, tmp: Path, workers: int, mode: str, threads: int) -> dict:
    ready = tmp / "ready"
    ready.mkdir()
    conf = tmp / "gunicorn_conf.py"
    conf.write_text(HOOK.format(ready=str(ready)))
    port = free_port()
    env = dict(os.environ, KAIFONG_DATA_DIR=str(tmp / "data"), KAIFONG_DATABASE_URL=url,
               PYTHONPATH=str(ROOT), KAIFONG_SECRET_KEY="bench-startup-secret")
    env.pop("TWILIO_AUTH_TOKEN", None)
    env.pop("KAIFONG_SEED_SLOTS_DAYS", None)
    bin_dir = Path(sys.executable).parent
    if mode == "deploy":
        subprocess.run([str(bin_dir / "kaifong"), "seed-slots"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    else:
        env["KAIFONG_SEED_SLOTS_DAYS"] = "14"
    log_path = tmp / "gunicorn.log"
    began = time.monotonic()
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            [str(bin_dir / "gunicorn"), "-c", str(conf), "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
             "--log-level", "info", "channels:create_app()"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        up, seconds = False, None
        try:
            deadline = began + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if len(list(ready.iterdir())) >= workers and _healthy(port):
                    seconds = time.monotonic() - began
                    time.sleep(0.5)            # a worker that dies just after is not "up"
                    up = proc.poll() is None and len(list(ready.iterdir())) >= workers
                    break
                time.sleep(0.1)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            slots = conn.scalar(text("SELECT count(*) FROM appointment_slots"))
    except Exception:   # the schema may be missing if no worker got that far
        slots = None
    finally:
        engine.dispose()
    log_lines = log_path.read_text(errors="replace").splitlines()
    failed = [i for i, line in enumerate(log_lines) if "Traceback" in line
              or "failed to boot" in line or "Exception in worker" in line]
    # the first error with its context (a worker's own traceback comes before the master's)
    first = failed[0] if failed else max(0, len(log_lines) - 15)
    return {"up": up and not failed, "seconds": seconds, "slots": slots,
            "log": [] if up and not failed else log_lines[max(0, first - 3):first + 40]}


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        conn.close()
        return status == 200
    except OSError:
        return False


def run(starts: int, workers: int, modes: list[str]) -> dict:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    results = {}
    try:
        for mode in modes:
            runs = []
            for i in range(starts):
                result = fresh_start(admin, workers, mode)
                runs.append(result)
                print(f"{mode} {i + 1}/{starts}: {'up' if result['up'] else 'FAILED'} "
                      f"slots={result['slots']}", file=sys.stderr, flush=True)
            times = [r["seconds"] for r in runs if r["up"]]
            results[mode] = {
                "starts": starts, "came_up": sum(r["up"] for r in runs),
                "seconds_to_all_up_p50": round(statistics.median(times), 2) if times else None,
                "seconds_to_all_up_max": round(max(times), 2) if times else None,
                "slot_counts": sorted({r["slots"] for r in runs if r["slots"] is not None}),
                "failures": [r["log"] for r in runs if not r["up"]][:3],
            }
    finally:
        admin.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--mode", choices=("deploy", "workers_seed", "both"), default="both")
    parser.add_argument("--out")
    args = parser.parse_args()
    modes = ["deploy", "workers_seed"] if args.mode == "both" else [args.mode]
    doc = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                       "cpus": os.cpu_count()},
           "setup": {"server": "gunicorn gthread, channels:create_app()",
                     "workers": args.workers, "database": "postgresql, a new one per start"},
           **run(args.starts, args.workers, modes)}
    out = json.dumps(doc, indent=2)
    print(out)
    if args.out:
        Path(args.out).write_text(out + "\n")
    return 0 if all(doc[m]["came_up"] == doc[m]["starts"] for m in modes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
