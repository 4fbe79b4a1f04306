"""Live figures for the public transparency record: per procedure, over a period, how many
conversations started it, finished it, and were handed to a person from it. Counts only, from
the events (``procedure_started``, ``ended``, and ``status`` to ``waiting``), and a count under
``SMALL`` is shown as "<5" so that no one can be singled out.

It must not import Flask or anything of a channel.
"""

from __future__ import annotations

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
    seen: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    query = sa.select(e.conversation_id, e.kind, e.data).where(
        e.kind.in_(("procedure_started", "ended", "status")), e.at >= since, e.at < until)
    with store._read() as conn:
        for cid, kind, data in conn.execute(query):
            data = data or {}
            procedure = data.get("procedure")
            if not procedure:
                continue
            if kind == "procedure_started":
                seen[procedure]["started"].add(cid)
            elif kind == "ended":
                seen[procedure]["finished"].add(cid)
            elif data.get("to") == "waiting":
                seen[procedure]["handed_to_person"].add(cid)
    return {pid: {k: len(seen[pid][k]) for k in ("started", "finished", "handed_to_person")}
            for pid in seen}
