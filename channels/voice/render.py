"""Reply -> what the caller hears, as text, with the keys that do something: the core's own view
of the phone (``kaifong chat --channel voice --json`` and the chat of any channel-less run).
Pure; no I/O. The call flow itself (language menu, "*" and a second key, the offer of a text
message, transfers) is ``channels.voice.call``; ``kaifong chat --channel voice`` without
``--json`` runs that."""

from __future__ import annotations

from assistant.model import Reply

from .callstep import reply_step

__all__ = ["render_speech"]


def render_speech(reply: Reply, gettext) -> str:
    if reply.silent:
        return ""
    step = reply_step(reply, gettext, timeout=10)
    keys = "; ".join(f"{key} = {label}" for key, label in step.keys)
    return step.text + (f" [keys: {keys}]" if keys else "")
