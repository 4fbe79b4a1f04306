"""The webhooks themselves: signatures (as for SMS), whole TwiML of the key steps, what happens
without an auth token, a synthesis failure falling back to ``<Say>``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from assistant.store import conversations
from channels.speech import speech_for
from channels.speech.normalise import spoken
from channels.voice.devtools import voice_form

from .conftest import BASE, NUMBER, TOKEN, Call, heard_text, kept, make_app, state


def sign(url: str, form: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def conversation_count(app) -> int:
    with app.extensions["kaifong"].store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(conversations))


def play(app, text: str, locale: str) -> str:
    """The ``<Play>`` verbs of a text: one clip a sentence, as the speech service cuts it, of
    the text as it is spoken ("2852 3125" digit by digit ...)."""
    return "".join(f"<Play>{BASE}/audio/{clip.id}.wav</Play>"
                   for clip in speech_for(app).say(spoken(text, locale), locale, "phone"))


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
        'hints="廣東話, 中文, English, Cantonese, 真人, person" input="dtmf speech" '
        'language="yue-Hant-HK" method="POST" numDigits="1" speechTimeout="auto" timeout="10">'
        + play(app, "街坊。廣東話請按1。", "zh-HK")
        + play(app, "Kaifong. For English, press 2.", "en")
        + play(app, "搵真人，請按0。", "zh-HK")
        + play(app, "For a person, press 0.", "en")
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
        + play(app, "What is your identity card number? If you do not know it, press 0.", "en")
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


def to_the_review(call, *, keys=("2", "1", "3", "1", "1", "1", "1", "211234563#", "1",
                                   "91234567#", "1", "1", "1", "1")):
    """An identity card replaced, in English, by keys: lost, the collection statement, the
    number, the phone, the first office and the first time (each read back and confirmed);
    then the review."""
    call.start()
    for key in keys:
        heard = call.press(key)
    return heard


def test_the_review_reads_each_answer_with_its_key_five_keys_at_most(app, client):
    call = Call(client)
    heard = to_the_review(call)
    assert "review" in kept(app)["reply"]["tags"]
    said = heard_text(app, heard)
    assert said.startswith("Please check your answers: What happened to the card: I lost it To "
                           "change it, press 2."), said
    # the number as the summary masks it, spelled
    assert "Identity card number: A 1 2 3 To change it, press 3." in said
    assert said.endswith("If everything is right, press 1. For more of your answers, press 9.")
    assert said.count("press") <= 5
    heard = call.press("9")                         # the other answers
    more = heard_text(app, heard)
    assert "To change it, press 5." in more and "If everything is right, press 1." in more
    assert more.count("press") <= 5


def test_a_changed_answer_returns_to_the_review(app, client):
    call = Call(client)
    to_the_review(call)
    heard = call.press("3")                         # change the identity card number
    assert "What is your identity card number?" in heard_text(app, heard)
    heard = call.press("211234563#")
    heard = call.press("1")                         # yes, that is right
    assert "review" in kept(app)["reply"]["tags"], heard_text(app, heard)
    assert heard_text(app, heard).startswith("Please check your answers:")


def test_the_end(app, client):
    """The reference first, spelled, twice; then what to bring, where, when, the office's
    address and hours; then the offer of a text message carrying the same."""
    call = Call(client)
    to_the_review(call)
    heard = call.press("1")                         # all correct
    reference = state(app)["reference"]
    said = heard_text(app, heard)
    spelled = " ".join(reference)
    assert said.startswith(f"Your reference number is {spelled} Please keep it. Once more, "
                           f"your reference number is: {spelled}"), said
    steps = said[said.index("Please keep it."):]
    for line in ("Bring: ", "When: ", "Where: ", "Open: ", "Fee: 370 dollars"):
        assert line in steps, (line, said)
    assert steps.index("When: ") < steps.index("Where: ") < steps.index("Open: ")
    assert "Sham Shui Po" in steps or "District Office" in steps
    assert said.endswith("To get this by text message, press 1. To go on, press 2.")
    assert heard.gather["numDigits"] == "1"
    heard = call.press("1")
    import sqlalchemy as sa

    from assistant.outbox import outbox
    with app.extensions["kaifong"].store.engine.connect() as conn:
        body = " ".join(conn.scalars(sa.select(outbox.c.body).order_by(outbox.c.id)))
    assert body.index(reference) < body.index("Bring:") < body.index("Where:"), body
    assert heard_text(app, heard).endswith(
        "Is there anything else I can help you with? For Yes, something else, press 1. "
        "If that is all, press 2 or the hash key.")


@pytest.mark.parametrize("key", ["2", "#"])
def test_that_is_all_ends_the_call_politely(app, client, key):
    call = Call(client)
    to_the_review(call)
    call.press("1")
    call.press("2")                                 # no text message
    heard = call.press(key)
    assert heard.hangup and heard.gather is None
    assert heard_text(app, heard) == "Thank you for calling. Goodbye."
    assert state(app)["status"] == "closed"


def test_silence_after_anything_else_ends_the_call_with_no_hand_off(app, client):
    call = Call(client)
    to_the_review(call)
    call.press("1")
    call.press("2")
    heard = call.silence()
    assert heard.hangup and heard.dial is None
    assert state(app)["status"] == "closed" and not state(app).get("escalation")


def test_an_information_procedure_ends_with_no_reference_and_its_next_steps(app, client):
    call = Call(client)
    call.start()
    for key in ("2", "1", "1", "1", "70#", "1", "1", "1", "1", "1"):   # Senior Citizen Card
        heard = call.press(key)
    said = heard_text(app, heard)
    assert "reference" not in said.lower()
    assert "Bring: your identity card" in said and "Where: Senior Citizen Card Office" in said
    assert "Questions: call 2 8 5 2, 3 1 2 5" in said                # digit by digit
    assert said.endswith("To get this by text message, press 1. To go on, press 2.")


def test_a_synthesis_failure_falls_back_to_say(app, client, engine):
    engine.fail_on = "For English"
    heard = Call(client).start()
    assert [s[0] for s in heard.sounds] == ["play", "play", "play", "say", "play", "play"]
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
    assert [s[0] for s in heard.sounds] == ["say"] * 6
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
    assert heard_text(app, Call(client).start()) == (
        "街坊。 廣東話請按1。 Kaifong. For English, press 2. 搵真人，請按0。 For a person, press 0.")


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
    call.press("2")                                 # no call back
    heard = call.press("1")                         # the review: all correct
    said = heard_text(app, heard)
    assert "Your answers" not in said and "Pei Ho" not in said
    assert said.count(" ".join(state(app)["reference"])) == 2
    # read back at the review from a clip made for this call only, never into the shared cache
    audio = app.extensions["kaifong_speech"].directory
    assert not any("Pei Ho" in p.read_text(encoding="utf-8") for p in audio.glob("*.json"))
    call.press("1")                                 # by text message: there it is
    import sqlalchemy as sa

    from assistant.outbox import outbox
    with app.extensions["kaifong"].store.engine.connect() as conn:
        bodies = " ".join(conn.scalars(sa.select(outbox.c.body)))
    assert "Pei Ho Street" in bodies and "Your answers" in bodies
