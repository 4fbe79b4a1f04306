"""SMS keywords: opting out, opting back in, asking for help, and the next page. Pure; no I/O.

A keyword counts only as the whole message, whatever its case, spacing, punctuation or width
("Stop!", " ＳＴＯＰ ", "STOP ALL", "停止。"). Keywords work in any state of the conversation,
even while a person has it, and they never move the procedure on.

Which words opt out, and why not all of Twilio's:
    Twilio's default opt-out list for long codes and toll-free numbers is STOP, STOPALL,
    UNSUBSCRIBE, CANCEL, END, QUIT (and lately OPTOUT, REVOKE); START, YES, UNSTOP opt back in;
    HELP, INFO ask for help. With that default handling Twilio itself blocks every later
    message to the number (error 21610) and sends its own confirmation.
    But CANCEL is an answer in ``book_appointment`` ("cancel an appointment"), and END and QUIT
    are how people end a conversation (the dialogue's own "stop" command): a citizen must not be
    cut off by typing them. So only STOP, STOPALL, UNSUBSCRIBE, OPTOUT, REVOKE, 停止 and 取消訂閱
    opt out here; CANCEL, END and QUIT go to the dialogue. A deployment must match this with
    Twilio's Advanced Opt-Out on its Messaging Service (remove CANCEL, END and QUIT from the
    opt-out keywords; add 停止 and 取消訂閱) -- see the README. When Twilio tells us it acted on
    a keyword (the ``OptOutType`` parameter, sent with Advanced Opt-Out), its word wins: it has
    already blocked or unblocked the number, and our records follow.
    停止 and "stop" are also the dialogue's "stop" command: by SMS the opt-out wins.
    YES, START and UNSTOP opt back in only a number that has opted out; otherwise YES is an
    answer like any other.
"""

from __future__ import annotations

import re
import unicodedata

from .pages import MORE_WORDS

__all__ = ["HELP", "KEYWORDS", "MORE", "OPT_IN", "OPT_OUT", "keyword", "normalise"]

OPT_OUT, OPT_IN, HELP, MORE = "opt_out", "opt_in", "help", "more"

KEYWORDS = {
    OPT_OUT: ("stop", "stopall", "unsubscribe", "optout", "revoke",
              "停止", "停止訂閱", "取消訂閱", "退訂", "取消订阅", "退订", "停止订阅"),
    OPT_IN: ("start", "yes", "unstop", "開始", "开始"),
    HELP: ("help", "info", "幫助", "說明", "帮助", "说明"),
    MORE: MORE_WORDS,
}
#: Twilio's ``OptOutType`` values (Advanced Opt-Out) in our words
TWILIO_OPT_OUT_TYPES = {"STOP": OPT_OUT, "START": OPT_IN, "HELP": HELP}

_LOOKUP = {word: kind for kind, words in KEYWORDS.items() for word in words}
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Full width to half width, case folded, without spaces or punctuation."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def keyword(body: str, opt_out_type: str | None = None) -> str | None:
    """The keyword the whole message is (OPT_OUT, OPT_IN, HELP, MORE), or None."""
    if opt_out_type and opt_out_type.upper() in TWILIO_OPT_OUT_TYPES:
        return TWILIO_OPT_OUT_TYPES[opt_out_type.upper()]
    if len(body) > 40:      # a keyword is a word or two, not a paragraph that happens to reduce
        return None
    return _LOOKUP.get(normalise(body))
