"""Reply -> a kiosk screen, as text for ``kaifong chat --channel kiosk``: the message, then one
large button per option. The HTML pages come with the kiosk issue. Pure; no I/O."""

from __future__ import annotations

from assistant.model import Reply


def render_kiosk_text(reply: Reply, gettext) -> str:
    if reply.silent:
        return ""
    lines = ["\n\n".join(reply.parts)] if reply.parts else []
    if reply.options:
        lines.append("\n".join(f"[ {o.key} ] {o.label}" for o in reply.options))
    return "\n\n".join(line for line in lines if line)
