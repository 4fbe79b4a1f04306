"""Live figures for the public transparency record: per procedure, over a period, how many
conversations started it, finished it, and were handed to a person from it. Counts only, from
the events (``procedure_started``, ``ended``, and ``status`` to ``waiting``), and a count under
``SMALL`` is shown as "<5" so that no one can be singled out.

It must not import Flask or anything of a channel.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from .store import Store, events

__all__ = ["SMALL", "procedure_figures", "shown"]

#: counts below this are not shown as they are
SMALL = 5


def shown(count: int) -> str:
    """A count as published: "<5" below ``SMALL``, else the number with thousands separated."""
    return f"<{SMALL}" if count < SMALL else f"{count:,}"


def procedure_figures(store: Store, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """{procedure: {"started", "finished", "handed_to_person"}} for events in [since, until):
    each a number of conversations (a conversation that started one twice counts once)."""
    e = events.c
    text = sa.type_coerce(e.data, sa.Text)
    in_period = (e.at >= since, e.at < until)
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(
        ("started", "finished", "handed_to_person"), 0))
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    with store._read() as conn:
        # a start's data is the procedure alone: the database counts them
        for data, count in conn.execute(
                sa.select(text, sa.func.count(sa.distinct(e.conversation_id)))
                .where(e.kind == "procedure_started", *in_period).group_by(text)):
            procedure = _procedure_in(data)
            if procedure:
                out[procedure]["started"] += count
        for cid, kind, data in conn.execute(sa.select(e.conversation_id, e.kind, text).where(
                sa.or_(e.kind == "ended",
                       sa.and_(e.kind == "status", text.like('%"to":"waiting"%'))),
                *in_period)):
            procedure = _procedure_in(data)
            if procedure:
                seen[(procedure, "finished" if kind == "ended" else "handed_to_person")].add(cid)
    for (procedure, what), ids in seen.items():
        out[procedure][what] = len(ids)
    return dict(out)


_PROCEDURE = re.compile(r'"procedure":"([a-z0-9_]+)"')


def _procedure_in(data: str | None) -> str | None:
    """The procedure id in an event's JSON text (stored compact, by ``JSONText``)."""
    m = _PROCEDURE.search(data or "")
    return m.group(1) if m else None
