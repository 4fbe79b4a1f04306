"""One webhook request of a call, handled in one transaction of the store: the call flow.

The conversation is (channel "voice", the caller's number), so a caller who rings again is the
same conversation: greeted in their language, and, mid-procedure, asked whether to carry on.
What one call needs between requests lives in the conversation's channel data, never in this
process (several processes serve one call behind a load balancer): the CallSid, the number of
the request expected next, the mode (choosing a language, a question of the core, the second key
after "*", the offer of a text message, a transfer), the group of choices being read, and the
last reply (to read its other choices, or its question after the offer).

Every request carries the number ``n`` of the step it answers, in its URL. Its answer is kept
under (CallSid, n): Twilio sending the same request again gets the same step, and the
conversation does not move twice. A request for a step that is not the current one moves
nothing and hears the current step again.

The flow:
  * a new caller chooses a language (1 Cantonese, 2 English; by voice too); a known one is
    greeted in theirs (the core's resume or greeting); "*4" or the words change it at any time;
  * each question of the core is read with its choices, at most five at a time ("9" for more);
    "*" alone is back, "*" and a key within a few seconds is that command (help, repeat ...);
  * a question wanting free words is answered in words, or by a voice message ("1#", then
    ``POST /voice/recorded?n=N``): the core gets a fixed placeholder in the caller's language
    ("Voice message, 23 seconds ..."), so the procedure goes on and ends as any other; the
    recording's URL and SID go into the transcript, in a line's meta, for staff to listen to;
  * a hand-off (0 at any point, the core's hand-off, repeated misses) puts the caller through to
    the staff line during office hours, with the expected wait; otherwise, or when no one
    answers, a call-back is recorded in the staff queue and the caller is told when;
  * the end: the reference first, spelled twice (where one was given), then the next steps
    (bring, when, where, hours, fee, whom to call); the same, then the answers, can be sent by
    text message to the calling number (through the SMS outbox); then "anything else?", where
    2, "#" or silence ends the call politely;
  * danger (``Reply.emergency``): "hang up and dial 999", twice, the offer of a call-back (1),
    and the call ends: never a transfer and a hold;
  * a transfer answered by staff closes the conversation ("talked on the phone"): it leaves
    the queue and the next call starts with the assistant.

Nothing here logs: numbers and what callers said go to the store only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from assistant import Assistant, Digits, NoInput, Reply, Start, Text
from assistant import understanding as u
from assistant.desk import close_transferred, request_call_back
from assistant.i18n import format_when
from assistant.store import conversations

from ..i18n import N_
from .callstep import (
    ENTRY_KINDS,
    MORE_KEY,
    RECORD_KEY,
    CallStep,
    Listen,
    Speak,
    Transfer,
    language_step,
    page_count,
    pieces,
    record_step,
    reply_from_dict,
    reply_step,
    reply_to_dict,
    say_step,
    star_step,
    wants_words,
)
from .delivery import send_by_sms, summary_paragraphs
from .mapping import CallRequest, Recording, input_for
from .settings import VoiceSettings

__all__ = ["CHANNEL", "TEXTS", "CallFlow"]

CHANNEL = "voice"
#: how the phone presents words: the catalogue's ``voice`` variants, on every turn
MODALITY = "voice"
#: language menu misses after which the call goes on in Cantonese (changeable with *4)
LANGUAGE_TRIES = 3

TRANSFER = N_("I am putting you through to a member of staff now. The wait is about {minutes} "
              "minutes: this is an estimate from the number of people waiting.")
CALL_BACK_WHEN = N_("I have asked a member of staff to call you back on this number, from {when}. "
                    "What you told me is kept. Goodbye.")
CALL_BACK_SOON = N_("I have asked a member of staff to call you back on this number as soon as "
                    "they can. What you told me is kept. Goodbye.")
OFFICE_CLOSED = N_("Our staff are not in the office now.")
NO_ANSWER = N_("Sorry, no one could take your call.")
NO_NUMBER = N_("Your number is hidden, so staff cannot call you back. Please call again during "
               "office hours, or send us a text message. Goodbye.")
WITH_STAFF = N_("A member of staff is looking after your case, and will call you. Goodbye.")
REFERENCE_AGAIN = N_("Once more, your reference number is:")
SMS_OFFER = N_("To get this by text message, press 1. To go on, press 2.")
#: the emergency path: said twice, a call-back offered, then the call ends (never a hold)
EMERGENCY_AGAIN = N_("Once more:")
EMERGENCY_CALL_BACK = N_("If you also want a member of staff to call you back, press 1.")
EMERGENCY_CALLED_BACK = N_("A member of staff will call you back on this number. If you are in "
                           "danger, hang up and dial {number} now. Goodbye.")
EMERGENCY_BYE = N_("If you are in danger, hang up and dial {number} now. Goodbye.")
SMS_SENT = N_("I have sent it by text message to the number you are calling from.")
SORRY = N_("Sorry, I did not understand.")
#: said (in both languages: the call's own is in the database) when the database cannot be
#: reached in time; then the call ends
UNAVAILABLE = N_("Sorry, we cannot take your call just now. Please call again later. Goodbye.")
#: the answer a voice message gives the core: in the slot, the summary the caller gets by text
#: message, and the report staff pass on; so it says a message was recorded and who listens
VOICE_MESSAGE = N_("Voice message, {seconds} seconds (recorded: staff will listen to it)")
#: with our own recogniser, a language it has no model for (no Cantonese Vosk model exists
#: today): said once, before the call's first question in that language, which takes keys
NO_SPEECH = {"zh-HK": N_("Speech is not available in Cantonese yet. Please use the keys."),
             "en": N_("Speech is not available in English yet. Please use the keys.")}
#: the transcript line that holds the recording (its meta); staff read it in their language
RECORDED_LINE = "(voice message recorded)"
TEXTS = (TRANSFER, CALL_BACK_WHEN, CALL_BACK_SOON, OFFICE_CLOSED, NO_ANSWER, NO_NUMBER, WITH_STAFF,
         REFERENCE_AGAIN, SMS_OFFER, SMS_SENT, SORRY, VOICE_MESSAGE, EMERGENCY_AGAIN,
         EMERGENCY_CALL_BACK, EMERGENCY_CALLED_BACK, EMERGENCY_BYE, UNAVAILABLE,
         *NO_SPEECH.values())

_LANGUAGE_WORDS = {"zh-HK": ("廣東話", "中文", "粵語", "cantonese", "chinese"),
                   "en": ("english", "英文", "英語")}
#: at the language menu, a person: in the language the words are in
_PERSON_WORDS = {"zh-HK": ("真人", "職員", "搵人"), "en": ("person", "human", "staff", "operator")}


@dataclass
class CallFlow:
    assistant: Assistant
    settings: VoiceSettings
    #: the time now (tests inject one to be in or out of office hours)
    clock: Callable[[], datetime]

    @property
    def gettext(self):
        return self.assistant.catalogue.gettext

    @property
    def words(self) -> bool:
        """Whether spoken answers are heard (not where only the keypad listens)."""
        return self.settings.recogniser != "keypad"

    def _hears(self, data: dict, locale: str) -> bool:
        """Whether this call's spoken answers in ``locale`` are heard: not where only the keypad
        listens; with our own recogniser, only in a language it has a model for, and not after
        the call's media stream was lost (the call goes on by keys, and its prompts say keys)."""
        if self.settings.recogniser == "vosk":
            return not data.get("keys_only") and locale in dict(self.settings.vosk_models)
        return self.words

    # -- the requests --------------------------------------------------------------------------

    def answer(self, call: CallRequest) -> CallStep:
        """``POST /voice``: a call comes in."""
        key = f"{call.call_sid}:0"
        with self.assistant.store.turn(CHANNEL, call.caller, key=key) as t:   # read with it
            earlier = t.replay(key)
            if earlier is not None:
                return CallStep.from_dict(earlier)
            data = {"call": call.call_sid, "n": 0}
            t.add_event("call", {"event": "answered"})
            state = t.state or {}
            known = state.get("locale") if state.get("started") else _known_locale(t)
            if known:
                reply = self._advance(t, Start(), known)
                step = self._after_core(t, data, reply, call)
            else:
                data["mode"] = "language"
                step = language_step(self.gettext, self.settings.timeout)
            return self._done(t, data, key, step)

    @contextmanager
    def _request(self, call: CallRequest, n: int):
        """The turn of a follow-up request for step ``n``: ``(t, data, key, settled)``, where
        ``settled`` is the answer already due (the same as before, for a request Twilio sent
        again; a hang-up, for a request of a call that is over), else None."""
        key = f"{call.call_sid}:{n}"
        with self.assistant.store.turn(CHANNEL, call.caller, key=key) as t:   # read with it
            earlier = t.replay(key)
            if earlier is not None:
                yield t, None, key, CallStep.from_dict(earlier)
                return
            data = t.channel_data()
            if data.get("call") != call.call_sid:
                yield t, data, key, say_step((), hangup=True)   # a call that is over
                return
            yield t, data, key, None

    def turn(self, call: CallRequest, n: int) -> CallStep:
        """``POST /voice/turn?n=N``: what the caller did at step N (keys, words, or nothing)."""
        with self._request(call, n) as (t, data, key, settled):
            if settled is not None:
                return settled
            if data.get("n") != n:
                return CallStep.from_dict(data["last"])   # out of order: nothing moves
            if call.stream_lost and (data["last"].get("listen") or {}).get("speech"):
                data["keys_only"] = True       # the media stream failed: keys from now on
                t.add_event("voice_stream_lost", {"n": n})
            mode = data.get("mode")
            if mode == "language":
                step = self._language(t, data, call)
            elif mode == "star":
                step = self._core(t, data, call, Digits(self._after_star(call.digits)))
            elif mode == "offer":
                step = self._offer(t, data, call)
            elif mode == "emergency":
                step = self._emergency_answer(t, data, call)
            elif mode == "core":
                step = self._question(t, data, call)
            elif mode == "record":                    # the recording's answer goes elsewhere
                return CallStep.from_dict(data["last"])
            else:                                     # after a transfer or a call-back
                step = say_step((), hangup=True)
            return self._done(t, data, key, step)

    def recorded(self, call: CallRequest, n: int) -> CallStep:
        """``POST /voice/recorded?n=N``: the voice message left at step N (its ``<Record>``'s
        action), or nothing (its ``<Redirect>``: Twilio had no recording), or a recording of
        the caller who hung up (``Digits=hangup``: kept all the same; what we answer is not
        heard)."""
        with self._request(call, n) as (t, data, key, settled):
            if settled is not None:
                return settled
            if data.get("n") != n or data.get("mode") != "record":
                return CallStep.from_dict(data["last"])   # out of order: nothing moves
            data["mode"] = "core"
            if call.recording is None:     # empty, or under a second: the core's re-prompts
                step = self._core(t, data, call, NoInput())
            else:
                step = self._voice_message(t, data, call, call.recording)
            return self._done(t, data, key, step)

    def dialled(self, call: CallRequest, n: int) -> CallStep:
        """``POST /voice/dialled?n=N``: how the transfer to staff ended."""
        with self._request(call, n) as (t, data, key, settled):
            if settled is not None:
                return settled
            if data.get("n") != n:
                return say_step((), hangup=True)
            answered = call.dial_status == "completed"
            t.add_event("transfer", {"answered": answered, "status": call.dial_status})
            if answered:
                t.add_line("system", "(the call was put through to staff)", {"voice": "transfer"})
                close_transferred(t)       # they talked: out of the queue, not waiting
                data["mode"] = "over"
                step = say_step((), hangup=True)
            else:
                locale = (t.state or {}).get("locale") or "en"
                step = self._call_back(t, data, call, "no_answer", locale,
                                       (self.gettext(locale, NO_ANSWER),))
            return self._done(t, data, key, step)

    # -- the modes -------------------------------------------------------------------------------

    def _language(self, t, data: dict, call: CallRequest) -> CallStep:
        person = _person_at_language(call)
        if person is not None:            # 0, or 真人 / person: a person, in that language
            self._advance(t, Start(), person)
            return self._core(t, data, call, Digits("0"))
        locale = _language_of(call)
        if locale is None:
            data["misses"] = data.get("misses", 0) + 1
            if data["misses"] < LANGUAGE_TRIES:
                before = () if call.digits is None and call.speech is None else (
                    Speak(self.gettext("zh-HK", SORRY), "zh-HK"),
                    Speak(self.gettext("en", SORRY), "en"))
                return language_step(self.gettext, self.settings.timeout, before)
            locale = "zh-HK"                  # most callers: Cantonese; *4 changes it
        data.pop("misses", None)
        t.add_event("voice_language", {"locale": locale})
        reply = self._advance(t, Start(), locale)
        return self._after_core(t, data, reply, call)

    def _after_star(self, digits: str | None) -> str:
        """What "*" and the key after it mean: one of the core's commands ("*2" repeats); "0"
        is a person, whatever came before; nothing, or a key that is no command: back."""
        keys = "*" + (digits or "")[:1]
        if keys in self.assistant.catalogue.keys.values():
            return keys
        return "0" if keys == "*0" else "*"

    def _question(self, t, data: dict, call: CallRequest) -> CallStep:
        kept = reply_from_dict(data["reply"])
        pages = page_count(kept)
        if call.digits == MORE_KEY and pages > 1 and not any(
                o.key == MORE_KEY for o in kept.options):
            data["page"] = (data.get("page", 0) + 1) % pages
            return reply_step(kept, self.gettext, timeout=self.settings.timeout,
                              page=data["page"], words=self._hears(data, kept.locale))
        if call.digits == "*" and kept.expect.kind not in ENTRY_KINDS:
            data["mode"] = "star"
            return star_step(kept.locale)
        if wants_words(kept) and call.digits == RECORD_KEY:
            data["mode"] = "record"
            return record_step(kept.locale, self.gettext,
                               max_seconds=self.settings.record_seconds,
                               timeout=self.settings.timeout)
        if call.digits == "#" and "anything_else" in kept.tags:
            return self._core(t, data, call, Digits("2"))    # "#": that is all
        return self._core(t, data, call, input_for(call, kept.expect.kind))

    def _voice_message(self, t, data: dict, call: CallRequest, recording: Recording) -> CallStep:
        """The message answers the question: the core gets the placeholder in the caller's
        language (a Text without a confidence: nothing to read back); the recording itself is
        a transcript line's meta, for the staff console, never logged, never in the audio
        cache."""
        kept = reply_from_dict(data["reply"])
        locale = kept.locale
        t.add_line("system", RECORDED_LINE, {"voice": "recording", "recording": {
            "url": recording.url, "sid": recording.sid, "seconds": recording.seconds,
            "procedure": kept.procedure, "step": kept.step, "question": kept.prompt,
            "locale": locale}})
        t.add_event("voice_recording", {"procedure": kept.procedure, "step": kept.step,
                                        "seconds": recording.seconds, "sid": recording.sid})
        words = self.gettext(locale, VOICE_MESSAGE).format(seconds=recording.seconds)
        return self._core(t, data, call, Text(words))

    def _offer(self, t, data: dict, call: CallRequest) -> CallStep:
        kept = reply_from_dict(data["reply"])
        locale = kept.locale
        yes = None
        if call.digits in ("1", "2"):
            yes = call.digits == "1"
        elif call.speech:
            yes = u.parse_yes_no(u.normalise(call.speech))
        elif call.digits:                        # 0, *, anything else: the core's keys
            data["mode"] = "core"
            return self._question(t, data, call)
        before: tuple[Speak, ...] = ()
        if yes:
            self._send_summary(t, kept)
            before = (Speak(self.gettext(locale, SMS_SENT), locale),)
        elif yes is None and call.digits is None and call.speech is None and \
                not data.get("offered_again"):
            data["offered_again"] = True          # said nothing: once more, then go on
            return self._offer_step(kept)
        data["mode"], data["page"] = "core", 0
        data.pop("offered_again", None)
        question = _question_only(kept)
        data["reply"] = reply_to_dict(question)
        return reply_step(question, self.gettext, timeout=self.settings.timeout, before=before,
                          words=self._hears(data, locale))

    # -- the core --------------------------------------------------------------------------------

    def _advance(self, t, inp, locale: str | None = None) -> Reply:
        """One turn of the core, as the phone says it (its ``voice`` wording)."""
        return self.assistant.advance_in(t, inp, locale, MODALITY)

    def _core(self, t, data: dict, call: CallRequest, inp) -> CallStep:
        reply = self._advance(t, inp)
        return self._after_core(t, data, reply, call)

    def _after_core(self, t, data: dict, reply: Reply, call: CallRequest) -> CallStep:
        state = t.state or {}
        locale = reply.locale
        data["mode"], data["page"] = "core", 0
        if reply.silent or state.get("status") == "with_staff":
            data["mode"] = "over"
            return say_step((Speak(self.gettext(locale, WITH_STAFF), locale),), hangup=True)
        if reply.emergency:
            return self._emergency(t, data, reply, call)
        if state.get("status") == "waiting":
            return self._to_person(t, data, reply, call)
        if reply.closed or state.get("status") == "closed" or (
                reply.ended and not reply.options):
            data["mode"] = "over"
            return say_step([s for p in reply.before
                             for s in pieces(p, locale, reply.spell, reply.private)],
                            hangup=True)
        data["reply"] = reply_to_dict(reply)
        if reply.ended:
            return self._the_end(data, reply, call)
        return reply_step(reply, self.gettext, timeout=self.settings.timeout,
                          words=self._hears(data, locale))

    def _the_end(self, data: dict, reply: Reply, call: CallRequest) -> CallStep:
        """The reference first, spelled twice (only where something was booked or reported);
        the end's words; what to bring, when, where (the office's address) and its hours; then
        the offer of a text message carrying the same, and "anything else?".

        The summary of answers is not read out: the caller gave each one a moment ago, and at
        the review heard them all; it would keep them on the line, and it holds their own words.
        It goes by text message instead."""
        locale = reply.locale
        spell = reply.spell + ((reply.reference,) if reply.reference else ())
        speak: list[Speak] = []
        for paragraph in reply.before:
            speak += pieces(paragraph, locale, spell, reply.private)
            if reply.reference and reply.reference in paragraph:
                speak += [Speak(self.gettext(locale, REFERENCE_AGAIN), locale),
                          Speak(reply.reference, locale, spell=True)]
        if reply.next_steps:
            for _field, line in reply.next_steps.lines():
                speak += pieces(line, locale, reply.spell, reply.private)
        question = _question_only(reply)
        if not call.textable or not (reply.reference or reply.next_steps):
            data["reply"] = reply_to_dict(question)
            return reply_step(question, self.gettext, timeout=self.settings.timeout,
                              before=tuple(speak), words=self._hears(data, locale))
        data["mode"] = "offer"
        step = self._offer_step(reply)
        return CallStep((*speak, *step.speak), step.listen, keys=step.keys)

    def _offer_step(self, reply: Reply) -> CallStep:
        locale = reply.locale
        listen = Listen("offer", locale, keys=("1", "2"), timeout=self.settings.timeout,
                        phrases=tuple(dict.fromkeys(
                            [self.gettext(locale, "Yes"), self.gettext(locale, "No"), "yes",
                             "no"])))
        return CallStep((Speak(self.gettext(locale, SMS_OFFER), locale),), listen,
                        keys=(("1", self.gettext(locale, "Yes")),
                              ("2", self.gettext(locale, "No"))))

    # -- danger ------------------------------------------------------------------------------

    def _emergency(self, t, data: dict, reply: Reply, call: CallRequest) -> CallStep:
        """Distress: hang up and dial 999, said twice; a call-back offered (1); then the call
        ends. Never a transfer and a hold: the caller must be free to dial 999. The conversation
        stays in the staff queue, first (the core's distress priority)."""
        locale = reply.locale
        catalogue = self.assistant.catalogue
        number = str(catalogue.facts.get("emergency_number", "999"))
        danger = catalogue.text("distress", locale, MODALITY).format(emergency_number=number)
        speak = [Speak(danger, locale), Speak(self.gettext(locale, EMERGENCY_AGAIN), locale),
                 Speak(danger, locale)]
        t.add_event("voice_emergency", {})
        if not call.textable:
            data["mode"] = "over"
            return say_step(speak, hangup=True)
        data["mode"] = "emergency"
        data["emergency_locale"] = locale
        speak.append(Speak(self.gettext(locale, EMERGENCY_CALL_BACK), locale))
        listen = Listen("emergency", locale, keys=("1",), timeout=self.settings.timeout,
                        phrases=(self.gettext(locale, "Yes"), "yes"))
        return say_step(speak, listen=listen, keys=(("1", self.gettext(locale, "Yes")),))

    def _emergency_answer(self, t, data: dict, call: CallRequest) -> CallStep:
        locale = data.pop("emergency_locale", None) or (t.state or {}).get("locale") or "en"
        number = str(self.assistant.catalogue.facts.get("emergency_number", "999"))
        yes = call.digits == "1" or bool(
            call.speech and u.parse_yes_no(u.normalise(call.speech)))
        data["mode"] = "over"
        if yes and (t.state or {}).get("status") == "waiting":
            request_call_back(t, call.caller, None, "distress")
            said = self.gettext(locale, EMERGENCY_CALLED_BACK).format(number=number)
        else:
            said = self.gettext(locale, EMERGENCY_BYE).format(number=number)
        return say_step((Speak(said, locale),), hangup=True)

    def _send_summary(self, t, reply: Reply) -> None:
        """The end's reference and summary by SMS to the calling number, through the outbox (in
        this transaction: queued exactly when the call's turn commits)."""
        send_by_sms(t, self.gettext, reply.locale, summary_paragraphs(reply, self.gettext),
                    "voice_summary")
        t.add_event("voice_summary_sms", {})

    # -- a person ------------------------------------------------------------------------------

    def _to_person(self, t, data: dict, reply: Reply, call: CallRequest) -> CallStep:
        locale = reply.locale
        catalogue = self.assistant.catalogue
        # the core's "please hold" is the transfer's to say, with the wait, or not at all
        skip = tuple(catalogue.text(name, locale, MODALITY)
                     for name in ("handoff_waiting", "handoff_still_waiting"))
        said = tuple(p for p in reply.before if p and p not in skip)
        spell = reply.spell
        now = self.clock()
        if self.settings.staff_number and self.settings.office_hours.is_open(now):
            minutes = self._expected_wait(t)
            speak = [s for p in said for s in pieces(p, locale, spell)]
            speak.append(Speak(self.gettext(locale, TRANSFER).format(minutes=minutes), locale))
            data["mode"] = "transfer"
            t.add_event("transfer", {"dialled": True, "expected_minutes": minutes})
            return say_step(speak, transfer=Transfer(self.settings.staff_number,
                                                     self.settings.dial_timeout))
        why = "closed" if self.settings.staff_number else "no_line"
        if why == "closed":
            said += (self.gettext(locale, OFFICE_CLOSED),)
        return self._call_back(t, data, call, why, locale, said, spell)

    def _call_back(self, t, data: dict, call: CallRequest, why: str, locale: str,
                   before: tuple[str, ...] = (), spell: tuple[str, ...] = ()) -> CallStep:
        """``before``: what to say first (already in the caller's language)."""
        speak = [s for p in before for s in pieces(p, locale, spell)]
        data["mode"] = "over"
        if not call.textable:
            speak.append(Speak(self.gettext(locale, NO_NUMBER), locale))
            t.add_event("callback", {"why": "withheld"})
            return say_step(speak, hangup=True)
        due = self.settings.office_hours.next_opening(self.clock()) if why == "closed" else None
        request_call_back(t, call.caller, due, why)
        if due is not None:
            speak.append(Speak(self.gettext(locale, CALL_BACK_WHEN).format(
                when=format_when(due, locale)), locale))
        else:
            speak.append(Speak(self.gettext(locale, CALL_BACK_SOON), locale))
        return say_step(speak, hangup=True)

    def _expected_wait(self, t) -> int:
        """(People waiting ahead + this caller) x minutes per caller, rounded up."""
        c = conversations.c
        ahead = t.session.scalar(sa.select(sa.func.count()).select_from(conversations).where(
            c.status == "waiting", c.id != t.conversation_id)) or 0
        return max(1, math.ceil((ahead + 1) * self.settings.minutes_per_caller))

    # -- bookkeeping -----------------------------------------------------------------------------

    def _done(self, t, data: dict, key: str, step: CallStep) -> CallStep:
        data["n"] = data.get("n", 0) + 1
        step = replace(step, n=data["n"])
        if step.listen is not None and self.settings.recogniser == "vosk":
            step = self._keys_for_no_model(data, step)
        data["last"] = step.to_dict()
        t.keep_channel_data(data)
        t.remember(key, step.to_dict())
        return step


    def _keys_for_no_model(self, data: dict, step: CallStep) -> CallStep:
        """With our own recogniser, a step in a language it does not hear takes keys; where
        that is because the language has no model, the caller is told so, once per call,
        before the first such question (not at the language menu, which names the keys)."""
        locale = step.listen.locale
        if step.listen.speech and not self._hears(data, locale):
            step = replace(step, listen=replace(step.listen, speech=False))
        if data.get("mode") in ("core", "offer") and locale in NO_SPEECH \
                and locale not in dict(self.settings.vosk_models) \
                and not data.get("no_speech_said"):
            data["no_speech_said"] = True
            said = Speak(self.gettext(locale, NO_SPEECH[locale]), locale)
            step = replace(step, speak=(said, *step.speak))
        return step


def _known_locale(t) -> str | None:
    """The language of the caller's conversations on other channels (a number that texted us in
    Chinese is greeted in Cantonese), the most recent first; None for a stranger."""
    c = conversations.c
    return t.session.scalar(
        sa.select(c.locale).where(c.address == t.address, c.channel != CHANNEL,
                                  c.locale.is_not(None))
        .order_by(c.updated_at.desc()).limit(1))


def _question_only(reply: Reply) -> Reply:
    """The reply's question alone (after an end's words, or the offer of a text message)."""
    return replace(reply, before=(), parts=(reply.prompt,) if reply.prompt else (),
                   summary=None, next_steps=None, ended=False, reference=None)


def _person_at_language(call: CallRequest) -> str | None:
    """At the language menu: 0, or a person asked for in any words (真人, 我想同人講, "a real
    person"): the language to talk to them in, the one the words are in."""
    if call.digits == "0":
        return "zh-HK"
    if call.speech and u.asks_for_person(call.speech):
        return "zh-HK" if u.has_chinese(call.speech) else "en"
    return _locale_said(call, _PERSON_WORDS)


def _language_of(call: CallRequest) -> str | None:
    if call.digits in ("1", "2"):
        return "zh-HK" if call.digits == "1" else "en"
    return _locale_said(call, _LANGUAGE_WORDS)


def _locale_said(call: CallRequest, words_by_locale: dict) -> str | None:
    """The locale whose words the caller said at the language menu, if any."""
    if call.speech:
        said = u.strip_punct(u.normalise(call.speech))
        for locale, words in words_by_locale.items():
            if any(w in said for w in words):
                return locale
    return None

