"""The SMS channel (Twilio Messaging): webhooks, keywords, paging, and rendering for text.

``views`` holds the Flask views (verify, map, call, render); ``inbound`` handles one message in
one store transaction; ``mapping``, ``keywords``, ``render``, ``pages``, ``segments`` and
``summary`` are pure. ``summary_messages`` is the end of a procedure as text messages, for every
channel that sends one (the kiosk's and the phone's summary by SMS).
"""

from .inbound import (
    HELP_TEXT,
    HELP_TEXT_NO_NUMBER,
    MEDIA_NOT_READ,
    OPTED_IN,
    OPTED_OUT,
    UNAVAILABLE,
    receive,
)
from .mapping import InboundSms
from .pages import LAST_PAGE, MORE_PAGES
from .render import OPTION_LINE, REVIEW_KEYS, REVIEW_LINE, render_sms
from .segments import count_segments
from .summary import ANSWER_LINE, summary_messages, summary_paragraphs

#: every text the SMS channel adds to the catalogue's (``kaifong validate`` checks translations
#: and that none asks a texter to press a key)
TEXTS = (OPTION_LINE, REVIEW_LINE, REVIEW_KEYS, ANSWER_LINE, MORE_PAGES, LAST_PAGE, HELP_TEXT,
         HELP_TEXT_NO_NUMBER, OPTED_OUT, OPTED_IN, MEDIA_NOT_READ, UNAVAILABLE)

__all__ = ["TEXTS", "InboundSms", "count_segments", "receive", "render_sms", "summary_messages",
           "summary_paragraphs"]
