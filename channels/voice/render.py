"""Reply -> words to speak on the phone: the message, then "say X or press 1" for each option
(every spoken choice can also be pressed). The TwiML and speech engines come with the phone
issue. Pure; no I/O."""

from __future__ import annotations

from assistant.model import Reply

from ..i18n import N_

SPOKEN_OPTION = N_("For {label}, press {key}.")


def render_speech(reply: Reply, gettext) -> str:
    if reply.silent:
        return ""
    spoken = list(reply.parts)
    for o in reply.options:
        spoken.append(gettext(reply.locale, SPOKEN_OPTION).format(
            label=o.label, key=o.key.replace("*", "star ")))
    return " ".join(p.replace("\n", " ") for p in spoken)
