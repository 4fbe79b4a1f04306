"""A person: 0 at any point, the core's hand-off, repeated silence or misses. During office hours
the caller is put through to the staff line with ``<Dial>``, hearing the expected wait; outside
them, or when no one answers, a call-back is recorded in the staff queue and the caller is told
when to expect it."""

from __future__ import annotations

from datetime import datetime

import pytest

from channels.voice.settings import HONG_KONG

from .conftest import CLOSED, NUMBER, STAFF, Call, heard_text, make_app, state


def english_call(client, number=NUMBER):
    call = Call(client, number)
    call.start()
    call.press("2")
    return call


def test_zero_in_office_hours_puts_the_caller_through(app, client):
    call = english_call(client)
    call.press("1")                                  # Cards and identity card
    heard = call.press("0")
    assert heard.dial == {"action": f"http://localhost/voice/dialled?n={heard_n(heard)}",
                          "method": "POST", "timeout": "30", "number": STAFF}
    said = heard_text(app, heard)
    assert said == ("I am putting you through to a member of staff now. The wait is about 4 "
                    "minutes: this is an estimate from the number of people waiting.")
    assert state(app)["status"] == "waiting"
    heard = call.dial_ends("completed")
    assert heard.hangup and heard.sounds == []
    # they talked to a person: the conversation leaves the queue, closed with its outcome
    assert app.extensions["kaifong_desk"].queue() == []
    assert state(app)["status"] == "closed"
    assert state(app)["escalation"]["outcome"] == "talked_on_phone"


def test_a_completed_transfer_is_not_stale(app, client):
    """After a transfer that was answered, the next call starts with the assistant (not
    straight to staff), and the next caller's expected wait does not count this one."""
    call = english_call(client)
    call.press("0")
    call.dial_ends("completed")
    heard = Call(client).start()                      # the same number rings again
    assert heard.dial is None and heard.gather is not None
    assert state(app)["status"] == "bot"
    other = english_call(client, "+85290000009").press("0")
    assert "about 4 minutes" in heard_text(app, other)   # nobody ahead: 1 x 4


def test_a_transfer_no_one_answered_stays_in_the_queue_as_a_call_back(app, client):
    call = english_call(client)
    call.press("0")
    heard = call.dial_ends("no-answer")
    assert heard.hangup
    assert [c.callback is not None for c in app.extensions["kaifong_desk"].queue()] == [True]


def heard_n(heard) -> str:
    return heard.dial["action"].rsplit("=", 1)[1]


def test_the_expected_wait_grows_with_the_queue(app, client):
    for i in range(2):
        english_call(client, f"+8529000000{i}").press("0")
    heard = english_call(client).press("0")
    assert "about 12 minutes" in heard_text(app, heard)   # two ahead, then this caller: 3 x 4


def test_zero_while_entering_digits_reaches_a_person(app, client):
    call = english_call(client)
    for key in ("1", "3", "1", "1", "1", "1"):       # identity card: to its number
        call.press(key)
    assert call.last.gather["finishOnKey"] == "#"
    heard = call.press("0#")
    assert heard.dial is not None


def test_no_answer_records_a_call_back(app, client):
    call = english_call(client)
    call.press("0")
    heard = call.dial_ends("no-answer")
    said = heard_text(app, heard)
    assert said == ("Sorry, no one could take your call. I have asked a member of staff to call "
                    "you back on this number as soon as they can. What you told me is kept. "
                    "Goodbye.")
    assert heard.hangup
    [waiting] = app.extensions["kaifong_desk"].queue()
    assert waiting.reason == "callback"
    assert waiting.callback == {"number": "+*********67", "due": None, "why": "no_answer"}


def test_outside_office_hours_a_call_back_with_when(app, client, clock):
    clock.now = CLOSED                                # Wednesday 20:00 in Hong Kong
    call = english_call(client)
    heard = call.press("0")
    assert heard.dial is None and heard.hangup
    assert heard_text(app, heard) == (       # the core's "they will reply here" is not said
        "Our staff are not in the office now. I have asked a member of staff to call you back on "
        "this number, from Thursday 26 November, 9:00 am. What you told me is kept. Goodbye.")
    [waiting] = app.extensions["kaifong_desk"].queue()
    assert waiting.callback["due"] == datetime(2026, 11, 26, 9, 0, tzinfo=HONG_KONG)
    assert waiting.summary["procedure"] is None


def test_saturday_afternoon_is_closed_until_monday(app, client, clock):
    clock.now = datetime(2026, 11, 28, 13, 0, tzinfo=HONG_KONG)
    heard = english_call(client).press("0")
    assert "from Monday 30 November, 9:00 am" in heard_text(app, heard)


def test_without_a_staff_number_every_person_is_a_call_back(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, STAFF_NUMBER="")
    heard = english_call(app.test_client()).press("0")
    assert heard.dial is None
    assert "as soon as they can" in heard_text(app, heard)
    app.extensions["kaifong"].store.close()


def test_a_hidden_number_cannot_be_called_back(app, client, clock):
    clock.now = CLOSED
    heard = english_call(client, "anonymous").press("0")
    assert "Your number is hidden" in heard_text(app, heard)
    assert app.extensions["kaifong_desk"].queue()[0].callback is None


def test_silence_escalates_then_offers_a_person_then_hands_over(app, client):
    call = english_call(client)
    said = [heard_text(app, call.silence()) for _ in range(4)]
    assert said[0].startswith("Are you still there?")
    assert said[2].startswith("Sorry, I still did not understand. For a person, press 0.")
    heard = call.silence()                            # the fifth: a person
    assert heard.dial is not None
    assert state(app)["escalation"]["reason"] == "misses"


def test_misses_escalate_to_a_person(app, client):
    call = english_call(client)
    call.press("1")                                   # Cards and identity card
    said = [heard_text(app, call.press("8")) for _ in range(4)]
    assert said[0].startswith("Sorry, I did not understand.")
    assert "For a person, press 0." in said[2]
    heard = call.press("8")
    assert heard.dial is not None


def test_the_generous_timeout_is_configurable(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, VOICE_TIMEOUT_SECONDS="15")
    heard = Call(app.test_client()).start()
    assert heard.gather["timeout"] == "15"
    app.extensions["kaifong"].store.close()


DANGER = "If you are in danger or need an ambulance, hang up now and dial 9 9 9."


def test_distress_tells_them_to_dial_999_twice_and_never_holds_them(app, client):
    call = english_call(client)
    heard = call.say("help me I fell")
    said = heard_text(app, heard)
    assert said == (f"{DANGER} Once more: {DANGER} If you also want a member of staff to call "
                    "you back, press 1.")
    assert heard.dial is None and heard.gather["numDigits"] == "1"
    assert state(app)["escalation"]["priority"] == 0
    heard = call.press("1")                           # yes, call me back
    assert heard.hangup and heard.dial is None
    assert heard_text(app, heard) == ("A member of staff will call you back on this number. If "
                                      "you are in danger, hang up and dial 9 9 9 now. Goodbye.")
    [waiting] = app.extensions["kaifong_desk"].queue()
    assert waiting.callback is not None and state(app)["escalation"]["reason"] == "distress"


def test_distress_without_a_call_back_ends_the_call(app, client):
    call = english_call(client)
    call.say("help me I fell")
    heard = call.silence()
    assert heard.hangup and heard.dial is None
    assert heard_text(app, heard) == "If you are in danger, hang up and dial 9 9 9 now. Goodbye."


def test_distress_in_cantonese(app, client):
    call = Call(client)
    call.start()
    call.press("1")
    heard = call.say("救命呀")
    said = heard_text(app, heard)
    assert said.count("9 9 9") == 2 and heard.dial is None, said


@pytest.mark.parametrize("answer", [
    ("press", "0"), ("say", "真人"), ("say", "a person please"),
    # asked for in any words, at the very first menu (issue 12)
    ("say", "我想搵真人"), ("say", "我要搵職員"), ("say", "我想同人講"),
    ("say", "can I speak to someone"), ("say", "get me an operator"),
])
def test_the_language_menu_reaches_a_person(app, client, answer):
    call = Call(client)
    heard = call.start()
    said = heard_text(app, heard)
    assert "搵真人，請按0。" in said and "For a person, press 0." in said
    how, what = answer
    heard = call.press(what) if how == "press" else call.say(what)
    assert heard.dial is not None
    assert state(app)["status"] == "waiting"
    assert state(app)["locale"] == ("en" if what[0].isascii() and what != "0" else "zh-HK")


@pytest.mark.parametrize("value,problem", [
    ({"VOICE_TIMEOUT_SECONDS": "ten"}, "KAIFONG_VOICE_TIMEOUT_SECONDS"),
    ({"VOICE_TIMEOUT_SECONDS": "1"}, "KAIFONG_VOICE_TIMEOUT_SECONDS"),
    ({"DIAL_TIMEOUT_SECONDS": "0"}, "KAIFONG_DIAL_TIMEOUT_SECONDS"),
    ({"OFFICE_HOURS": "Mon-Fri 9 to 5"}, "KAIFONG_OFFICE_HOURS"),
    ({"STAFF_NUMBER": "call mei"}, "KAIFONG_STAFF_NUMBER"),
    ({"VOICE_RECOGNISER": "whisper"}, "KAIFONG_VOICE_RECOGNISER"),
    ({"VOICE_RECOGNISER": "vosk"}, "KAIFONG_VOSK_MODEL"),
    ({"VOICE_RECOGNISER": "vosk", "VOSK_MODEL_EN": "/no/such/model"}, "KAIFONG_VOSK_MODEL_EN"),
    ({"VOICE_RECOGNISER": "vosk", "VOSK_MODEL_EN": "/tmp", "MEDIA_URL": "http://x/"},
     "KAIFONG_MEDIA_URL"),
    ({"VOICE_MINUTES_PER_CALLER": "-1"}, "KAIFONG_VOICE_MINUTES_PER_CALLER"),
])
def test_a_bad_setting_stops_the_start(tmp_path, monkeypatch, value, problem):
    with pytest.raises(ValueError, match=problem):
        make_app(tmp_path, monkeypatch, **value)


def test_a_caller_waiting_for_a_call_back_who_rings_in_office_hours_is_put_through(
        app, client, clock):
    clock.now = CLOSED
    english_call(client).press("0")                  # a call-back, at night
    clock.now = datetime(2026, 11, 26, 10, 0, tzinfo=HONG_KONG)    # the next morning
    heard = Call(client).start()
    assert heard.dial is not None and heard.dial["number"] == STAFF
    said = heard_text(app, heard)
    assert said.endswith("this is an estimate from the number of people waiting.")
    assert "they will reply here" not in said


def test_zero_right_after_star_is_still_a_person(app, client):
    call = english_call(client)
    call.press("1")
    call.press("*")
    heard = call.press("0")
    assert heard.dial is not None


def test_star_and_a_key_that_is_no_command_goes_back(app, client):
    call = english_call(client)
    call.press("1")
    call.press("*")
    heard = call.press("8")                           # back from the group to the menu
    assert heard_text(app, heard).startswith("What do you need help with?")


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, STAFF_NUMBER=None)
    app.extensions["kaifong"].store.close()
    for name, value in (("KAIFONG_VOICE_TIMEOUT_SECONDS", "20"),
                        ("KAIFONG_STAFF_NUMBER", "+852 2999 0000"),
                        ("KAIFONG_OFFICE_HOURS", "Mon-Sun 00:00-23:59"),
                        ("KAIFONG_DIAL_TIMEOUT_SECONDS", "45")):
        monkeypatch.setenv(name, value)
    from channels import create_app
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "SEED_SLOTS_DAYS": 0,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}",
                      "TWILIO_AUTH_TOKEN": "test-voice-token-0123456789abcdef",
                      "SPEECH_ENGINE": app.config["SPEECH_ENGINE"]})
    call = Call(app.test_client())
    assert call.start().gather["timeout"] == "20"
    call.press("2")
    heard = call.press("0")
    assert heard.dial["number"] == "+85229990000" and heard.dial["timeout"] == "45"
    app.extensions["kaifong"].store.close()
