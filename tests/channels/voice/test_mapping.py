"""The pure parts: Twilio's form -> the core's input, keypad letters and dates, the office hours
and settings, a reply -> a call step (choices in groups of five, spelled values), the recogniser
strategies' ``<Gather>`` attributes."""

from __future__ import annotations

from datetime import datetime

import pytest

from assistant.model import Digits, Expect, NoInput, Option, Reply, Text
from channels.voice.callstep import (
    CallStep,
    Listen,
    Speak,
    option_pages,
    pieces,
    reply_from_dict,
    reply_step,
    reply_to_dict,
)
from channels.voice.mapping import (
    BadCall,
    call_from_form,
    date_from_keys,
    hkid_from_keys,
    input_for,
)
from channels.voice.recognisers import KeypadOnly, TwilioGather, recogniser_named
from channels.voice.settings import HONG_KONG, OfficeHours, parse_settings


def gettext(locale, msgid):
    return msgid


FORM = {"CallSid": "CA" + "a" * 32, "AccountSid": "AC" + "0" * 32, "From": "+85291234567",
        "To": "+85230000000", "CallStatus": "in-progress", "Direction": "inbound",
        "ApiVersion": "2010-04-01"}


# -- form -> input ------------------------------------------------------------------------------

def test_keys_words_and_nothing():
    assert input_for(call_from_form({**FORM, "Digits": "1"})) == Digits("1")
    assert input_for(call_from_form({**FORM, "Digits": "*2"})) == Digits("*2")
    said = input_for(call_from_form({**FORM, "SpeechResult": " yes please ",
                                     "Confidence": "0.43"}))
    assert said == Text("yes please", 0.43)
    assert input_for(call_from_form(FORM)) == NoInput()
    assert input_for(call_from_form({**FORM, "Digits": ""})) == NoInput()


def test_a_confidence_that_is_not_a_number_is_none():
    call = call_from_form({**FORM, "SpeechResult": "yes", "Confidence": "high"})
    assert call.confidence is None
    assert call_from_form({**FORM, "SpeechResult": "yes", "Confidence": "7"}).confidence == 1.0


def test_not_a_call():
    with pytest.raises(BadCall):
        call_from_form({"AccountSid": "AC1"})
    with pytest.raises(BadCall):
        call_from_form({"CallSid": "CA1"})


def test_withheld_numbers_cannot_be_texted():
    assert call_from_form(FORM).textable
    for caller in ("anonymous", "client:alice", "Restricted", "sip:someone@example.org"):
        assert not call_from_form({**FORM, "From": caller}).textable


@pytest.mark.parametrize("keys,card", [
    ("211234563", "A1234563"),         # A 123456 (3)
    ("941234567", "Z1234567"),         # Z is the fourth letter on key 9
    ("21221234563", "AB1234563"),      # two letters
    ("2112345621", "A123456A"),        # the check digit A, as 2 then 1
    ("7412345678", None),              # 7 then 4 is S, but then 8 keys left: no reading fits
    ("12345678", None),                # no letter at all
    ("2512345", None),                 # 5 is not a place on key 2
])
def test_identity_card_letters_by_keypad(keys, card):
    assert hkid_from_keys(keys) == card


def test_entries_by_kind():
    call = call_from_form({**FORM, "Digits": "211234563"})
    assert input_for(call, "hkid") == Text("A1234563")
    assert input_for(call, "number") == Digits("211234563")
    assert input_for(call_from_form({**FORM, "Digits": "0"}), "hkid") == Digits("0")
    assert input_for(call_from_form({**FORM, "Digits": "15031950"}), "date") == \
        Text("15/03/1950")
    assert date_from_keys("1503") == "15/03" and date_from_keys("150") is None


# -- settings -----------------------------------------------------------------------------------

def test_office_hours():
    hours = OfficeHours.parse("Mon-Fri 09:00-17:00, Sat 09:00-12:00")
    wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=HONG_KONG)
    assert hours.is_open(wednesday)
    assert not hours.is_open(wednesday.replace(hour=17))
    assert not hours.is_open(wednesday.replace(hour=8, minute=59))
    assert hours.next_opening(wednesday.replace(hour=18)) == wednesday.replace(day=26, hour=9)
    saturday = datetime(2026, 11, 28, 12, 30, tzinfo=HONG_KONG)
    assert not hours.is_open(saturday)
    assert hours.next_opening(saturday) == datetime(2026, 11, 30, 9, 0, tzinfo=HONG_KONG)
    assert OfficeHours.parse("closed").next_opening(wednesday) is None
    assert OfficeHours.parse("Sat-Mon 10:00-11:00").is_open(
        datetime(2026, 11, 29, 10, 30, tzinfo=HONG_KONG))           # a span over the week's end


def test_settings_defaults_and_values():
    assert parse_settings({}).timeout == 10 and parse_settings({}).dial_timeout == 30
    assert parse_settings({}).staff_number is None
    custom = parse_settings({"VOICE_TIMEOUT_SECONDS": "20", "STAFF_NUMBER": "+852 2123 4567",
                             "DIAL_TIMEOUT_SECONDS": "45", "VOICE_RECOGNISER": "keypad"})
    assert (custom.timeout, custom.staff_number, custom.dial_timeout, custom.recogniser) == \
        (20, "+85221234567", 45, "keypad")


# -- reply -> call step -------------------------------------------------------------------------

def seven_choices() -> Reply:
    options = tuple(Option(str(i), f"v{i}", f"Choice {i}") for i in range(1, 8)) + (
        Option("0", "person", "Talk to a person"),)
    return Reply(parts=("Pick one.",), prompt="Pick one.", options=options,
                 expect=Expect("choice", digits=tuple("012345678")))


def test_at_most_five_choices_at_once():
    pages = option_pages(seven_choices().options)
    assert [[o.key for o in p] for p in pages] == [["1", "2", "3", "4"], ["5", "6", "7"]]
    first = reply_step(seven_choices(), gettext, timeout=10)
    assert [s.text for s in first.speak] == [
        "Pick one.", "For Choice 1, press 1.", "For Choice 2, press 2.", "For Choice 3, press 3.",
        "For Choice 4, press 4.", "For more choices, press 9.", "To talk to a person, press 0."]
    second = reply_step(seven_choices(), gettext, timeout=10, page=1)
    assert [s.text for s in second.speak] == [
        "For Choice 5, press 5.", "For Choice 6, press 6.", "For Choice 7, press 7.",
        "To hear the first choices again, press 9.", "To talk to a person, press 0."]
    assert "9" in first.listen.keys and first.listen.max_keys == 1


def test_five_choices_and_a_person_are_one_menu():
    options = tuple(Option(str(i), f"v{i}", f"C{i}") for i in range(1, 6)) + (
        Option("0", "person", "Talk to a person"),)
    assert len(option_pages(options)) == 1


def test_personal_values_are_cut_out_to_be_spelled():
    said = pieces("You gave: A123456(3). Is that right?", "en", ("A123456(3)",))
    assert said == [Speak("You gave: ", "en"), Speak("A123456(3)", "en", spell=True),
                    Speak(". Is that right?", "en")]
    assert pieces("KF1 and KF1", "en", ("KF1",)) == [
        Speak("KF1", "en", True), Speak(" and ", "en"), Speak("KF1", "en", True)]


def test_an_entry_listens_until_hash():
    reply = Reply(parts=("Your phone number?",), prompt="Your phone number?",
                  expect=Expect("phone", grammar=("person",)), locale="zh-HK")
    step = reply_step(reply, gettext, timeout=12)
    assert step.listen == Listen("phone", "zh-HK", keys=(), max_keys=None, end_key="#",
                                 timeout=12, phrases=("person",))
    assert step.speak[-1].text == "Press the 8 digits, then the hash key."


def test_a_step_and_a_reply_survive_json():
    import json
    step = reply_step(seven_choices(), gettext, timeout=10)
    assert CallStep.from_dict(json.loads(json.dumps(step.to_dict()))) == step
    reply = seven_choices()
    assert reply_from_dict(json.loads(json.dumps(reply_to_dict(reply)))).options == reply.options


# -- recognisers --------------------------------------------------------------------------------

def test_twilio_listens_to_keys_and_words_in_the_callers_language():
    listen = Listen("yes_no", "zh-HK", keys=("1", "2"), timeout=10, phrases=("係", "唔係", "a, b"))
    assert TwilioGather().gather(listen, "https://x/voice/turn?n=3") == {
        "input": "dtmf speech", "action": "https://x/voice/turn?n=3", "method": "POST",
        "timeout": 10, "num_digits": 1, "finish_on_key": "", "language": "yue-Hant-HK",
        "speech_timeout": "auto", "hints": "係, 唔係"}


def test_keypad_only_asks_twilio_for_keys_only():
    listen = Listen("phone", "en", max_keys=None, end_key="#", timeout=10, phrases=("x",))
    assert KeypadOnly().gather(listen, "/a") == {
        "input": "dtmf", "action": "/a", "method": "POST", "timeout": 10, "finish_on_key": "#"}
    assert isinstance(recogniser_named("keypad"), KeypadOnly)


# -- reviews and re-prompts ------------------------------------------------------------------------

def a_review(n: int) -> Reply:
    from assistant.model import Summary, SummaryItem
    items = tuple(SummaryItem(f"s{i}", f"Answer {i}", f"value {i}", change=f"change:s{i}")
                  for i in range(1, n + 1))
    options = (Option("1", "ok", "All correct, go on"),) + tuple(
        Option(str(i + 1), f"change:s{i}", f"Change: Answer {i}") for i in range(1, n + 1))
    return Reply(before=(), prompt="Is everything right?", options=options,
                 expect=Expect("choice"), tags=("review",),
                 summary=Summary("Please check your answers:", items))


@pytest.mark.parametrize("n", [1, 4, 5, 7])
def test_a_review_reads_at_most_five_keys_at_once(n):
    pages = -(-n // 4) if n <= 4 else -(-n // 3)
    heard = set()
    for page in range(pages):
        step = reply_step(a_review(n), gettext, timeout=10, page=page)
        said = [s.text for s in step.speak]
        assert sum("press" in s for s in said) <= 5, said
        assert "If everything is right, press 1." in said
        heard |= {s for s in said if s.startswith("Answer")}
    assert heard == {f"Answer {i}: value {i}" for i in range(1, n + 1)}


def test_a_re_prompt_is_the_question_and_its_keys():
    options = tuple(Option(str(i), f"v{i}", f"Choice {i}") for i in range(1, 6)) + (
        Option("0", "person", "Talk to a person"),)
    reply = Reply(before=("Are you still there?",), prompt="Pick one.", options=options,
                  expect=Expect("choice"), tags=("noinput",), progress=(2, 5))
    step = reply_step(reply, gettext, timeout=10)
    assert [s.text for s in step.speak] == ["Are you still there?", "Pick one.",
                                            "Press 1 to 5."]
    assert step.listen.keys[:6] == ("1", "2", "3", "4", "5", "0")


def test_a_reply_with_its_summary_and_next_steps_survives_json():
    import json

    from assistant.model import NextSteps
    reply = a_review(3)
    reply = Reply(**{**reply.__dict__, "next_steps": NextSteps("Next:", ("Bring: a card",),
                                                               where="Where: here")})
    assert reply_from_dict(json.loads(json.dumps(reply_to_dict(reply)))) == reply
