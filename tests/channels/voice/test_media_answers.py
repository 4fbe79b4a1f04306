"""Where the media service leaves an answer for ``/voice/turn``: the store both processes share,
on SQLite and PostgreSQL."""

from __future__ import annotations

from channels.voice.media.answers import keep_answer, read_answer, read_call_data
from tests.assistant.conftest import db_url, open_store, postgres_admin, store  # noqa: F401


def test_an_answer_is_kept_once_per_call_and_step(store):  # noqa: F811
    with store.turn("voice", "+85291234567") as t:
        conversation = t.conversation_id
        t.keep_channel_data({"call": "CA1", "n": 3, "last": {"listen": None}})
    keep_answer(store, conversation, "CA1", 3, {"speech": "yes", "confidence": 0.8})
    keep_answer(store, conversation, "CA1", 3, {"digits": "1"})     # a second stream: ignored
    keep_answer(store, conversation, "CA1", 4, {})
    with store.engine.connect() as conn:
        assert read_answer(conn, "CA1", 3) == {"speech": "yes", "confidence": 0.8}
        assert read_answer(conn, "CA1", 4) == {}                    # no input
        assert read_answer(conn, "CA1", 5) is None                  # lost
        assert read_answer(conn, "CA2", 3) is None
    assert read_call_data(store, conversation)["n"] == 3
    assert read_call_data(store, conversation + 1) == {}
