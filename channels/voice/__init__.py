"""The phone channel (Twilio Voice): callers who will never text or touch a screen.

``views`` holds the Flask views (verify, map, run the call flow, render TwiML); ``call`` runs one
request of a call in one store transaction; ``mapping`` (Twilio's form -> the core's input),
``callstep`` (a reply -> what to say and how to listen, or to record a voice message where a
question wants free words), ``recognisers`` (who listens: Twilio's ``<Gather>`` today) and
``twiml`` are pure; ``audio`` gives each piece of speech its 8 kHz clips
from the shared speech service; ``delivery`` sends what a caller asked for (the summary) and what
staff write to them by text message, through the SMS outbox. ``devtools`` drives a running
server as Twilio would, and is ``kaifong chat --channel voice``.
"""

from .call import TEXTS as CALL_TEXTS
from .callstep import TEXTS as STEP_TEXTS
from .callstep import CallStep, Listen, Speak, Transfer
from .views import init_app

#: every text the phone channel adds to the catalogue's (``kaifong validate`` checks them)
TEXTS = (*STEP_TEXTS, *CALL_TEXTS)

__all__ = ["TEXTS", "CallStep", "Listen", "Speak", "Transfer", "init_app"]
