"""Reply -> SMS text: plain text, numbered options, no markup. Pure; no I/O.

Splitting long replies into several messages, each within two segments, comes with the SMS
webhook (issue 3); ``kaifong validate`` already checks that each text fits on its own.
"""

from __future__ import annotations

from assistant.model import Reply

from ..i18n import N_

OPTION_LINE = N_("{key}: {label}")
REPLY_WITH = N_("Reply with a number.")


def render_sms(reply: Reply, gettext) -> str:
    """``gettext(locale, msgid)`` translates the few words the channel adds."""
    if reply.silent:
        return ""
    lines = ["\n\n".join(reply.parts)] if reply.parts else []
    if reply.options:
        option_lines = [gettext(reply.locale, OPTION_LINE).format(key=o.key, label=o.label)
                        for o in reply.options]
        lines.append("\n".join(option_lines))
    return "\n\n".join(line for line in lines if line)
