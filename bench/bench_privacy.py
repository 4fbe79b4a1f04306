"""Privacy benchmark: the retention purge, and the transparency record's live figures, on a
generated database, SQLite and PostgreSQL in one run.

For each backend: N conversations (an SMS number each, half of them past the retention period),
each with ``--lines`` transcript lines, a stored reply, the channel's document, 4 events
(procedure_started, status, ended, miss) and every fourth an outbox message; then

  1. ``purge_dry_s``: ``purge(..., dry_run=True)`` (everything done, then rolled back);
  2. ``purge_s``: the real purge; ``again_s``: a second purge right after (nothing left to do:
     the daily cost on a database already purged);
  3. ``figures_ms``: ``procedure_figures`` over the last 30 days (what ``/transparency/<id>``
     counts, at most every 5 minutes), median of 5.

Rows are inserted directly (not through turns), so that generating 10,000 conversations takes
seconds; the counts the purge reports are checked against what was generated.

    .venv/bin/python bench/bench_privacy.py [--conversations N] [--lines L] [--out FILE]
        [--postgres URL | --no-postgres]

Prints one JSON document on stdout; progress on stderr. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from assistant import Store, load_catalogue
from assistant.outbox import outbox
from assistant.retention import Retention, purge
from assistant.store import channel_state, conversations, events, inbound_messages, transcript_lines
from assistant.transparency import procedure_figures

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROCEDURES = ["hkid_replacement", "report_problem", "senior_citizen_card", "book_appointment"]


def log(*words) -> None:
    print(*words, file=sys.stderr, flush=True)


def generate(store: Store, n: int, lines: int) -> None:
    now = datetime.now(UTC)
    batch = 1000
    for start in range(0, n, batch):
        convs, tl, ev, inbound, kept, out = [], [], [], [], [], []
        for i in range(start, min(n, start + batch)):
            old = i % 2 == 0
            at = now - timedelta(days=120 if old else 3, minutes=i % 600)
            pid = PROCEDURES[i % len(PROCEDURES)]
            number = f"+8529{i:07d}"
            convs.append({"id": i + 1, "channel": "sms", "address": number, "status": "closed",
                          "locale": "en", "procedure": pid, "step": "done", "turns": lines,
                          "version": 1, "last_seq": lines, "created_at": at, "updated_at": at,
                          "state": {"status": "closed", "procedure": pid, "consent": [pid],
                                    "slots": {"hkid": "A123456(3)", "phone": number[4:]}}})
            tl += [{"conversation_id": i + 1, "seq": s + 1, "role": "user" if s % 2 else
                    "assistant", "text": f"line {s} of {number}: A123456(3)", "meta": {},
                    "at": at} for s in range(lines)]
            ev += [{"conversation_id": i + 1, "kind": kind, "at": at, "data": data}
                   for kind, data in (("procedure_started", {"procedure": pid}),
                                      ("status", {"from": "bot", "to": "waiting",
                                                  "procedure": pid, "reason": "asked"}),
                                      ("ended", {"procedure": pid, "reference": None}),
                                      ("miss", {"procedure": pid, "step": "ask",
                                                "said": "free words"}))]
            inbound.append({"channel": "sms", "key": f"SM{uuid.uuid4().hex}",
                            "conversation_id": i + 1, "output": ["a reply"], "received_at": at})
            kept.append({"conversation_id": i + 1, "data": {"pages": ["x"]}, "updated_at": at})
            if i % 4 == 0:
                out.append({"channel": "sms", "address": number, "body": "your reference",
                            "kind": "summary", "conversation_id": i + 1, "status": "sent",
                            "attempts": 1, "next_attempt_at": at, "created_at": at,
                            "updated_at": at})
        with store.engine.begin() as conn:
            for table, rows in ((conversations, convs), (transcript_lines, tl), (events, ev),
                                (inbound_messages, inbound), (channel_state, kept),
                                (outbox, out)):
                if rows:
                    conn.execute(sa.insert(table), rows)
        log(f"  generated {min(n, start + batch)}/{n}")
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('conversations', 'id'), "
                                 "(SELECT max(id) FROM conversations))"))
            conn.execute(sa.text("ANALYZE"))


def measure(url: str, n: int, lines: int) -> dict:
    store = Store(url)
    try:
        catalogue = load_catalogue()
        t = time.perf_counter()
        generate(store, n, lines)
        generate_s = time.perf_counter() - t
        retention = Retention.of(catalogue)
        t = time.perf_counter()
        dry = purge(store, retention, dry_run=True)
        dry_s = time.perf_counter() - t
        t = time.perf_counter()
        done = purge(store, retention)
        purge_s = time.perf_counter() - t
        t = time.perf_counter()
        again = purge(store, retention)
        again_s = time.perf_counter() - t
        old = (n + 1) // 2
        assert done.conversations == old == dry.conversations, (done, old)
        assert done.transcript_lines == old * lines
        assert again.conversations == 0
        now = datetime.now(UTC)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            procedure_figures(store, now - timedelta(days=30), now)
            times.append((time.perf_counter() - t) * 1000)
        return {"conversations": n, "lines_per_conversation": lines,
                "generate_s": round(generate_s, 2), "purge_dry_s": round(dry_s, 2),
                "purge_s": round(purge_s, 2), "again_s": round(again_s, 3),
                "purged_conversations_per_s": round(old / purge_s, 1),
                "counts": done.counts(), "figures_ms": round(statistics.median(times), 1)}
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=12)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    result = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                          "sqlite": __import__("sqlite3").sqlite_version}}
    with tempfile.TemporaryDirectory() as tmp:
        log("sqlite")
        result["sqlite"] = measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.conversations,
                                   args.lines)
    if not args.no_postgres:
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"kaifong_bench_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.OperationalError as error:
            result["postgresql"] = {"skipped": str(error.orig).strip().splitlines()[0]}
        else:
            try:
                log("postgresql")
                result["postgresql"] = measure(
                    admin.url.set(database=name).render_as_string(hide_password=False),
                    args.conversations, args.lines)
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
