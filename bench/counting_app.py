"""The real app with its SQL counted, for bench_sms.py's statements per message.

``create_counting_app()`` is ``channels:create_app()`` plus, on the store's engine, SQLAlchemy
event listeners that count, in the thread that handles each ``POST /sms``, every statement sent
to the database (``before_cursor_execute``: SELECT, INSERT, UPDATE, DELETE, and the ``BEGIN``
the store sends itself on SQLite) and every commit. ``GET /bench/statements`` returns the
counts per message. Nothing of the app changes; the listeners cost a little time, so the
throughput figures of bench_sms.py come from the plain app, and this one only counts.
"""

from __future__ import annotations

import threading
from collections import Counter

from flask import jsonify, request
from sqlalchemy import event

from channels import create_app


def create_counting_app():
    app = create_app()
    engine = app.extensions["kaifong"].store.engine
    local = threading.local()
    lock = threading.Lock()
    per_message: list[dict] = []

    def counter() -> Counter | None:
        return getattr(local, "counts", None)

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):
        counts = counter()
        if counts is not None:
            counts["statements"] += 1
            counts[statement.lstrip().split(None, 1)[0].upper()] += 1

    @event.listens_for(engine, "commit")
    def _commit(conn):
        counts = counter()
        if counts is not None:
            counts["commits"] += 1

    @app.before_request
    def _start():
        local.counts = Counter() if request.path == "/sms" else None

    @app.teardown_request
    def _finish(exc):
        counts, local.counts = counter(), None
        if counts is not None:
            with lock:
                per_message.append(dict(counts))

    @app.get("/bench/statements")
    def statements():
        with lock:
            rows = list(per_message)
        n = len(rows)
        totals: Counter = Counter()
        spread: Counter = Counter()
        for row in rows:
            totals.update(row)
            spread[row.get("statements", 0)] += 1
        return jsonify({
            "messages": n,
            "statements_per_message": round(totals["statements"] / n, 2) if n else None,
            "commits_per_message": round(totals["commits"] / n, 2) if n else None,
            "by_verb_per_message": {verb: round(count / n, 2) for verb, count
                                    in sorted(totals.items())
                                    if verb not in ("statements", "commits")} if n else {},
            "messages_by_statement_count": {str(k): v for k, v in sorted(spread.items())},
        })

    return app
