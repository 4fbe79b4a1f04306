"""The webhooks themselves: signatures (as for SMS), whole TwiML of the key steps, what happens
without an auth token, a synthesis failure falling back to ``<Say>``."""

from __future__ import annotations

import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from assistant.store import conversations
from channels.speech import speech_for
from channels.voice.devtools import voice_form

from .conftest import BASE, NUMBER, TOKEN, Call, heard_text, make_app, state


def sign(url: str, form: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def conversation_count(app) -> int:
    with app.extensions["kaifong"].store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(conversations))


def play(app, text: str, locale: str) -> str:
    """The ``<Play>`` verbs of a text: one clip a sentence, as the speech service cuts it."""
    return "".join(f"<Play>{BASE}/audio/{clip.id}.wav</Play>"
                   for clip in speech_for(app).say(text, locale, "phone"))


def test_forged_and_unsigned_requests_get_403_and_nothing_is_stored(app, client):
    form = voice_form("CA" + "1" * 32, NUMBER, "+85230000000", status="ringing")
    for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
                    {"X-Twilio-Signature": sign(f"{BASE}/voice", form, "another-token")}):
        for path in ("/voice", "/voice/turn?n=1", "/voice/dialled?n=1"):
            response = client.post(path, data=form, headers=headers)
            assert response.status_code == 403
            assert response.get_data(as_text=True) == "forbidden\n"
    # a signature for another address (the step number is signed too)
    for path in ("/voice/turn?n=1", "/voice/turn?n=2", "/voice/dialled?n=1"):
        response = client.post(path, data=form, headers={
            "X-Twilio-Signature": sign(f"{BASE}/voice", form)})
        assert response.status_code == 403
    # a signed request whose form was changed on the way
    signature = sign(f"{BASE}/voice", form, TOKEN)
    response = client.post("/voice", data={**form, "From": "+85299999999"},
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert conversation_count(app) == 0
    assert app.config["SPEECH_ENGINE"].calls == []


def test_a_signed_request_that_is_not_a_call_is_refused(app, client):
    form = {"AccountSid": "AC" + "0" * 32}
    response = client.post("/voice", data=form,
                           headers={"X-Twilio-Signature": sign(f"{BASE}/voice", form)})
    assert response.status_code == 400
    assert conversation_count(app) == 0


def test_behind_a_proxy_the_public_url_is_signed_and_used_for_audio(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, PUBLIC_URL="https://kaifong.example.org")
    call = Call(app.test_client())
    call.base_url = "https://kaifong.example.org"
    heard = call.start()
    assert heard.gather["action"] == "https://kaifong.example.org/voice/turn?n=1"
    assert all(url.startswith("https://kaifong.example.org/audio/") for url in heard.played)
    app.extensions["kaifong"].store.close()


def test_without_a_token_there_is_no_phone_but_audio_stays(tmp_path, monkeypatch, capsys):
    app = make_app(tmp_path, monkeypatch, TWILIO_AUTH_TOKEN="")
    client = app.test_client()
    assert client.post("/voice", data={}).status_code == 404
    assert "voice" not in app.blueprints and "audio" in app.blueprints
    assert "the phone is off" in capsys.readouterr().err
    app.extensions["kaifong"].store.close()


# -- whole TwiML of key steps -------------------------------------------------------------------

def test_the_language_menu(app, call):
    heard = call.start()
    assert heard.xml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Gather action="http://localhost/voice/turn?n=1" finishOnKey="" '
        'hints="廣東話, 中文, English, Cantonese" input="dtmf speech" language="yue-Hant-HK" '
        'method="POST" numDigits="1" speechTimeout="auto" timeout="10">'
        + play(app, "街坊。廣東話請按1。", "zh-HK")
        + play(app, "Kaifong. For English, press 2.", "en")
        + '</Gather><Redirect method="POST">http://localhost/voice/turn?n=1</Redirect>'
        '</Response>')


COMMANDS = ("help, what do i do, i don't understand, repeat, say again, say that again, back, "
            "go back, previous, start again, start over, restart, person, human, a person, stop, "
            "quit, exit, english, 英文, in english, carry on, continue, go on, assistant, back to "
            "assistant")


def test_a_question_with_an_entry(app, call):
    call.start()
    for key in ("2", "1", "3", "1", "1", "1"):     # English, identity card, lost, to the number
        heard = call.press(key)
    heard = call.press("1")                        # yes to the collection statement
    n = heard.gather["action"].rsplit("=", 1)[1]
    assert heard.xml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Gather action="http://localhost/voice/turn?n={n}" finishOnKey="#" '
        f'hints="{COMMANDS}" input="dtmf speech" language="en-GB" method="POST" '
        'speechTimeout="auto" timeout="10">'
        + play(app, "Question 2 of about 5.", "en")      # what_happened was the first
        + play(app, "What is your identity card number? If you do not know it, say PERSON.",
               "en")
        + play(app, "You can say it, or press it. For a letter, press the key that shows it, "
                    "then 1, 2, 3 or 4 for its place on that key: for A press 2 then 1, for Z "
                    "press 9 then 4. Then press the numbers, and the hash key.", "en")
        + f'</Gather><Redirect method="POST">http://localhost/voice/turn?n={n}</Redirect>'
        '</Response>')


def test_a_read_back_spells_the_value(app, call):
    call.start()
    for key in ("2", "1", "3", "1", "1", "1", "1"):
        call.press(key)
    heard = call.press("21" "123456" "3#")        # A (2, first letter), the digits, (3)
    assert state(app)["pending"]["value"] == "A123456(3)"
    spelled = "".join(play(app, ch, "en") for ch in "A1234563")
    n = heard.gather["action"].rsplit("=", 1)[1]
    assert heard.xml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Gather action="http://localhost/voice/turn?n={n}" finishOnKey="" '
        f'hints="Yes, yes, No, no, {COMMANDS}" input="dtmf speech" language="en-GB" '
        'method="POST" numDigits="1" speechTimeout="auto" timeout="10">'
        + play(app, "You gave:", "en") + spelled + play(app, "Is that right?", "en")
        + play(app, "For Yes, press 1.", "en") + play(app, "For No, press 2.", "en")
        + f'</Gather><Redirect method="POST">http://localhost/voice/turn?n={n}</Redirect>'
        '</Response>')


def test_the_end(app, client):
    call = Call(client)
    call.start()
    for key in ("2", "1", "1", "1", "70#", "1", "1", "1", "1", "1"):  # Senior Citizen Card
        heard = call.press(key)
    reference = state(app)["reference"]
    spelled = "".join(play(app, ch, "en") for ch in reference)
    n = heard.gather["action"].rsplit("=", 1)[1]
    assert heard.xml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Gather action="http://localhost/voice/turn?n={n}" finishOnKey="" '
        'hints="Yes, No, yes, no" input="dtmf speech" language="en-GB" method="POST" '
        'numDigits="1" speechTimeout="auto" timeout="10">'
        + play(app, "Your reference number is", "en") + spelled
        + play(app, "Please keep it.", "en")
        + play(app, "Once more, your reference number is:", "en") + spelled
        + play(app, "Remember to take what I listed, and your identity card. For questions, "
                    "call 2852 3125.", "en")
        + play(app, "To get your reference number and summary by text message, press 1. To go "
                    "on, press 2.", "en")
        + f'</Gather><Redirect method="POST">http://localhost/voice/turn?n={n}</Redirect>'
        '</Response>')


def test_a_synthesis_failure_falls_back_to_say(app, client, engine):
    engine.fail_on = "For English"
    heard = Call(client).start()
    assert [s[0] for s in heard.sounds] == ["play", "play", "play", "say"]
    assert heard.sounds[3] == ("say", "For English, press 2.", "en-GB")
    assert not speech_for(app).ready(speech_for(app).clip("For English, press 2.", "en",
                                                          "phone"))


def test_a_cantonese_fallback_says_it_in_cantonese(app, client, engine):
    engine.fail_on = "廣東話"
    heard = Call(client).start()
    assert heard.sounds[1] == ("say", "廣東話請按1。", "zh-HK")


def test_the_caller_never_waits_on_the_same_failure_twice_in_one_answer(app, client, engine):
    engine.fail_on = ""                                  # everything fails
    heard = Call(client).start()
    assert [s[0] for s in heard.sounds] == ["say"] * 4
    assert state(app) == {} or state(app)["locale"]      # the call goes on


def test_the_audio_of_a_call_is_served(app, client):
    heard = Call(client).start()
    for url in heard.played:
        response = client.get(url[len(BASE):])
        assert response.status_code == 200 and response.mimetype == "audio/wav"
        response.close()


def test_what_a_caller_said_is_not_logged(app, client, caplog):
    call = Call(client)
    call.start()
    call.press("2")
    call.say("my id card is A123456(3) and my phone is 91234567")
    assert "A123456" not in caplog.text and "91234567" not in caplog.text
    assert NUMBER not in caplog.text


def test_heard_text_reads_every_clip(app, client):
    assert heard_text(app, Call(client).start()) == ("街坊。 廣東話請按1。 Kaifong. For "
                                                     "English, press 2.")


def test_a_keypad_only_deployment_sends_no_voice_to_a_recogniser(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, VOICE_RECOGNISER="keypad")
    call = Call(app.test_client())
    for heard in (call.start(), call.press("2"), call.press("1")):
        assert heard.gather["input"] == "dtmf"
        assert "language" not in heard.gather and "hints" not in heard.gather
    assert state(app)["locale"] == "en"
    app.extensions["kaifong"].store.close()


def test_the_end_does_not_read_the_summary_out(app, client):
    """The caller's answers are not read back at the end (they go by text message): a free-text
    answer, such as where a problem is, is never synthesised into the audio cache."""
    call = Call(client)
    call.start()
    for key in ("2", "4", "2", "2", "1"):          # report a problem: not dangerous, a light
        heard = call.press(key)
    heard = call.say("outside the wet market on Pei Ho Street")
    heard = call.say("the light has been off for a week")
    heard = call.press("2")                         # no call back
    said = heard_text(app, heard)
    assert "Your summary" not in said and "Pei Ho" not in said
    assert said.count(" ".join(state(app)["reference"])) == 2
    engine = app.config["SPEECH_ENGINE"]
    assert not any("Pei Ho" in text for text, *_ in engine.calls)
    call.press("1")                                 # by text message: there it is
    import sqlalchemy as sa

    from assistant.outbox import outbox
    with app.extensions["kaifong"].store.engine.connect() as conn:
        bodies = " ".join(conn.scalars(sa.select(outbox.c.body)))
    assert "Pei Ho Street" in bodies and "Your summary" in bodies
