"""Where the media service leaves a caller's answer for the web app: the store's table of answers
to inbound messages (``inbound_messages``), under the channel ``voice-stream`` and the key
``CallSid:n``, in the database every process of the service shares. ``/voice/turn?n=N`` reads it
when Twilio follows the ``<Connect>``'s action after the stream closes.

An answer is ``{"digits": "12"}``, ``{"speech": "yes", "confidence": 0.83}`` or ``{}`` (the
caller did nothing before the timeout). No row at all means the stream was lost before it could
answer (a dropped websocket, a media service that is down): the call goes on by keys.

The step a stream listens for is read from the call's channel data (what the call flow kept:
its CallSid, the step number, the step itself), through the conversation id the token carries.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from assistant.store import channel_state, inbound_messages

__all__ = ["STREAM_CHANNEL", "keep_answer", "read_answer", "read_call_data"]

STREAM_CHANNEL = "voice-stream"
_c = inbound_messages.c
_READ = sa.select(sa.type_coerce(_c.output, sa.Text)).where(
    _c.channel == STREAM_CHANNEL, _c.key == sa.bindparam("key"))


def _key(call_sid: str, n: int) -> str:
    return f"{call_sid}:{int(n)}"


def keep_answer(store, conversation_id: int, call_sid: str, n: int, answer: dict) -> None:
    """Keep the answer for (CallSid, n); the first one stands (a repeated stream changes
    nothing)."""
    from datetime import UTC, datetime

    dialect = {"sqlite": sqlite, "postgresql": postgresql}[store.engine.dialect.name]
    statement = dialect.insert(inbound_messages).values(
        channel=STREAM_CHANNEL, key=_key(call_sid, n), conversation_id=conversation_id,
        output=answer, received_at=datetime.now(UTC)).on_conflict_do_nothing(
        index_elements=["channel", "key"])
    with store._writer, store.engine.begin() as conn:
        conn.execute(statement)


def read_answer(connection, call_sid: str, n: int) -> dict | None:
    """The answer the stream of step ``n`` left, or None (the stream was lost)."""
    import json

    text = connection.scalar(_READ, {"key": _key(call_sid, n)})
    return None if text is None else json.loads(text)


def read_call_data(store, conversation_id: int) -> dict:
    """What the call flow kept for the conversation (its channel data), {} if nothing."""
    import json

    with store.engine.connect() as conn:
        text = conn.scalar(sa.select(sa.type_coerce(channel_state.c.data, sa.Text)).where(
            channel_state.c.conversation_id == conversation_id))
    return json.loads(text) if text else {}
