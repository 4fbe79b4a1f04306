"""The transparency record's figures, on SQLite and PostgreSQL: conversations that started a
procedure, finished it, were handed to a person from it; each counted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assistant import Assistant, Text
from assistant.transparency import procedure_figures


def test_figures_count_conversations_once_each(catalogue, store):
    assistant = Assistant(catalogue, store)
    for n in range(3):
        assistant.turn("sms", f"a{n}", Text("lost my id card"), "en", "text")
    assistant.turn("sms", "a0", Text("start again"), "en", "text")   # the same procedure again
    assistant.turn("sms", "a1", Text("person"), "en", "text")
    assistant.turn("sms", "b", Text("flu jab"), "en", "text")
    now = datetime.now(UTC)
    figures = procedure_figures(store, now - timedelta(days=30), now + timedelta(seconds=1))
    assert figures["hkid_replacement"] == {"started": 3, "finished": 0, "handed_to_person": 1}
    assert figures["elderly_vaccination"]["started"] == 1
    assert procedure_figures(store, now + timedelta(seconds=1), now + timedelta(days=1)) == {}
