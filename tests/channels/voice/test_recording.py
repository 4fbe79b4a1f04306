"""Voice messages at questions that want free words: "1#", then a recording after the tone ended
by "#", answers the question for a caller who cannot (or will not) say it to a recogniser. The
calls post exactly Twilio's fields, signed, and follow the TwiML's action URLs (a ``<Record>``'s
too); no request of a keypad-and-recordings call carries a SpeechResult."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from assistant.outbox import outbox
from assistant.services import reports
from assistant.staff import add_staff
from assistant.store import events
from channels.speech import speech_for
from channels.voice.mapping import call_from_form, recording_from
from channels.voice.settings import parse_settings
from tests.channels.staff.conftest import PASSWORD, sign_in

from .conftest import BASE, CLOSED, NUMBER, Call, client_post, heard_text, kept, make_app, state
from .test_calls import menu_keys
from .test_webhook import COMMANDS, sign

#: the placeholder a voice message gives the core, by the caller's language
PLACEHOLDER = {"en": "Voice message, {seconds} seconds (recorded: staff will listen to it)",
               "zh-HK": "語音留言，{seconds}秒（已錄音，職員會聽）"}


class KeypadCall(Call):
    """A caller who only presses keys and leaves voice messages: every form it posts is kept,
    to show that none carries a SpeechResult."""

    def __init__(self, client, caller: str = NUMBER):
        self.forms: list[dict] = []
        post = client_post(client)

        def keep(url, form, signature):
            self.forms.append(dict(form))
            return post(url, form, signature)

        super().__init__(client, caller)
        self.post = keep


def play(app, text: str, locale: str) -> str:
    return "".join(f"<Play>{BASE}/audio/{clip.id}.wav</Play>"
                   for clip in speech_for(app).say(text, locale, "phone"))


def to_the_location(app, call, locale: str = "en"):
    """From the first ring to "Where is the problem?", by keypad: not dangerous, a light."""
    call.start()
    call.press("2" if locale == "en" else "1")
    for key in menu_keys(app, "report_problem"):
        call.press(key)
    call.press("2")                                  # not dangerous now
    return call.press("1")                           # a street light


def lines_of(app, number: str = NUMBER):
    store = app.extensions["kaifong"].store
    return store.transcript(store.conversation_id("voice", number))


@pytest.mark.parametrize("locale", ["en", "zh-HK"])
def test_a_report_by_keypad_and_voice_messages_only(app, client, locale):
    call = KeypadCall(client)
    heard = to_the_location(app, call, locale)
    assert state(app)["step"] == "ask_location"
    assert heard.gather["finishOnKey"] == "#"
    heard = call.press("1#")                         # a voice message instead
    assert heard.record is not None and heard.gather is None
    heard = call.record(23)                          # "outside the wet market ..."
    assert state(app)["step"] == "ask_details"
    call.press("1#")
    call.record(9)                                   # "the light has been off for a week"
    slots = state(app)["slots"]
    call.press("2")                                  # no call back
    heard = call.press("1")                          # the review: all correct
    s = state(app)
    assert re.fullmatch(r"KF\d{7}", s["reference"]) and s["status"] == "bot"
    assert heard_text(app, heard).count(" ".join(s["reference"])) == 2
    call.press("1")                                  # the summary by text message
    assert all("SpeechResult" not in form for form in call.forms)
    assert sum("RecordingUrl" in form for form in call.forms) == 2
    # the slots, the report staff pass on and the caller's text message say it was recorded
    words = PLACEHOLDER[locale]
    assert slots["location"] == words.format(seconds=23)
    assert slots["details"] == words.format(seconds=9)
    with app.extensions["kaifong"].store.engine.connect() as conn:
        report = conn.execute(sa.select(reports)).one()
        bodies = " ".join(conn.scalars(sa.select(outbox.c.body).where(
            outbox.c.address == NUMBER)))
    assert (report.reference, report.category) == (s["reference"], "light")
    assert report.location == words.format(seconds=23)
    assert s["reference"] in bodies and words.format(seconds=23) in bodies
    # the recordings, for staff: in the transcript's meta, with the question each answers
    recordings = [x.meta["recording"] for x in lines_of(app) if "recording" in x.meta]
    assert [(r["step"], r["seconds"]) for r in recordings] == [("ask_location", 23),
                                                               ("ask_details", 9)]
    sids = [form["RecordingSid"] for form in call.forms if "RecordingSid" in form]
    assert [r["sid"] for r in recordings] == sids
    assert all(r["url"].endswith(r["sid"]) and r["url"].startswith("https://api.twilio.com/")
               for r in recordings)
    assert not any("RE" in text for text, *_ in app.config["SPEECH_ENGINE"].calls)


def test_the_question_and_the_recording_step_whole(app, client):
    call = Call(client)
    heard = to_the_location(app, call)
    n = heard.gather["action"].rsplit("=", 1)[1]
    assert heard.xml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Gather action="http://localhost/voice/turn?n={n}" finishOnKey="#" '
        f'hints="{COMMANDS}" input="dtmf speech" language="en-GB" method="POST" '
        'speechTimeout="auto" timeout="10">'
        + play(app, "Question 3 of about 6.", "en")
        + play(app, "Where is the problem? Give the street and building, or a landmark.", "en")
        + play(app, "Please say it in a few words. To leave a message instead, press 1 and the "
                    "hash key, speak after the tone, then press the hash key again.", "en")
        + f'</Gather><Redirect method="POST">http://localhost/voice/turn?n={n}</Redirect>'
        '</Response>')
    heard = call.press("1#")
    n = int(n) + 1
    assert heard.xml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        + play(app, "Please speak after the tone. When you have finished, press the hash key.",
               "en")
        + f'<Record action="http://localhost/voice/recorded?n={n}" finishOnKey="#" '
        'maxLength="60" method="POST" playBeep="true" timeout="10" />'
        f'<Redirect method="POST">http://localhost/voice/recorded?n={n}</Redirect>'
        '</Response>')


def test_the_longest_message_is_configurable(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, VOICE_RECORD_SECONDS="120")
    call = Call(app.test_client())
    to_the_location(app, call)
    assert call.press("1#").record["maxLength"] == "120"
    app.extensions["kaifong"].store.close()
    for value in ("abc", "5", "601"):
        with pytest.raises(ValueError, match="KAIFONG_VOICE_RECORD_SECONDS"):
            parse_settings({"VOICE_RECORD_SECONDS": value})


def test_an_empty_recording_is_no_input_and_the_question_comes_again(app, client):
    call = Call(client)
    to_the_location(app, call)
    call.press("1#")
    heard = call.record(0)                 # Twilio had nothing: it follows the <Redirect>
    said = heard_text(app, heard)
    assert said.startswith("Are you still there?") and "Where is the problem?" in said
    assert "location" not in state(app)["slots"] and kept(app)["mode"] == "core"
    call.press("1")                        # 1, then nothing: the Gather ends on its timeout
    # a recording Twilio reports as 0 seconds is no message either
    heard = call._send(call.last.record["action"], {
        **call._form(digits="#"), "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/"
        "AC" + "0" * 32 + "/Recordings/RE" + "1" * 32, "RecordingSid": "RE" + "1" * 32,
        "RecordingDuration": "0"}, "(empty)")
    assert "location" not in state(app)["slots"]
    assert heard.gather is not None and "Where is the problem?" in heard_text(app, heard)
    assert not any("recording" in x.meta for x in lines_of(app))


def test_a_replayed_recording_callback_moves_nothing(app, client):
    call = Call(client)
    to_the_location(app, call)
    call.press("1#")
    first = call.record(23)
    before, lines = state(app), len(lines_of(app))
    again = call.again()                   # Twilio sends the same request again
    assert again.xml == first.xml
    assert state(app) == before and len(lines_of(app)) == lines
    with app.extensions["kaifong"].store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(events).where(
            events.c.kind == "voice_recording")) == 1


def test_a_late_recording_for_an_old_step_moves_nothing(app, client):
    call = Call(client)
    to_the_location(app, call)
    call.press("1#")
    recording_step = call.last
    call.record(23)
    current = state(app)
    call.last = recording_step             # a recording request for the step before
    call.record(40)
    assert state(app) == current
    assert len([x for x in lines_of(app) if "recording" in x.meta]) == 1


def test_a_forged_recording_callback_gets_403_and_nothing_is_kept(app, client):
    call = Call(client)
    to_the_location(app, call)
    call.press("1#")
    url = call.last.record["action"]
    form = call._form(digits="#", recording_seconds=23)
    before, lines = state(app), len(lines_of(app))
    for signature in ("", sign(url, form, "another-token"), sign(url.replace("n=", "n=1"), form),
                      sign(url, {**form, "RecordingDuration": "5"})):
        response = client.post(url[len(BASE):], data=form,
                               headers={"X-Twilio-Signature": signature} if signature else {})
        assert response.status_code == 403
        assert response.get_data(as_text=True) == "forbidden\n"
    assert state(app) == before and len(lines_of(app)) == lines
    assert kept(app)["mode"] == "record"
    heard = call.record(23)                # the real one still counts
    assert state(app)["step"] == "ask_details"
    assert heard.gather is not None


def test_a_recording_that_is_not_twilios_is_not_kept():
    form = {"CallSid": "CA" + "a" * 32, "From": NUMBER, "Digits": "#",
            "RecordingSid": "RE" + "1" * 32, "RecordingDuration": "12"}
    good = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "1" * 32
    assert recording_from({**form, "RecordingUrl": good}).seconds == 12
    for url in ("http://api.twilio.com/x", "https://api.twilio.com.evil.example/x",
                "javascript:alert(1)", "https://example.org/RE1", ""):
        assert recording_from({**form, "RecordingUrl": url}) is None
    assert recording_from({**form, "RecordingUrl": good, "RecordingSid": "CA1"}) is None
    assert recording_from({**form, "RecordingUrl": good, "RecordingDuration": "x"}) is None
    assert call_from_form({**form, "RecordingUrl": good}).recording.sid == "RE" + "1" * 32


def test_a_caller_who_hangs_up_while_recording_keeps_the_message(app, client):
    call = Call(client)
    to_the_location(app, call)
    call.press("1#")
    call.record(31, end="hangup")
    assert state(app)["slots"]["location"] == PLACEHOLDER["en"].format(seconds=31)


def test_a_free_words_question_still_takes_words(app, client):
    call = Call(client)
    to_the_location(app, call)
    call.say("outside the wet market")
    assert state(app)["slots"]["location"] == "outside the wet market"
    assert not any("recording" in x.meta for x in lines_of(app))


def test_a_reference_is_still_keyed_at_a_text_question(app, client):
    """An appointment's reference is a "text" question too, answered by its digits and "#"
    (KF implied): "1#" is the voice message, any other entry is the answer."""
    from .test_calls import walk
    number = "+85291110000"
    booking = Call(client, number)
    booking.start()
    booking.press("2")
    for key in menu_keys(app, "book_appointment"):
        booking.press(key)
    walk(app, booking, booking.last, number, speech=False, locale="en")
    reference = state(app, number)["reference"]
    cancel = Call(client, number)
    cancel.start()
    cancel.press("1")                                  # anything else? yes
    for key in menu_keys(app, "book_appointment"):
        cancel.press(key)
    cancel.press("3")                                  # cancel one
    assert state(app, number)["step"] == "ask_reference"
    cancel.press(reference[2:] + "#")                  # its digits: found (the phone is known)
    assert state(app, number)["step"] == "confirm_cancel"
    heard = cancel.press("1")
    assert "cancelled" in heard_text(app, heard)
    assert not any("recording" in x.meta for x in lines_of(app, number))


def test_zero_at_a_free_words_question_is_still_a_person(app, client):
    call = Call(client)
    to_the_location(app, call)
    heard = call.press("0")
    assert heard.dial is not None


def test_the_console_shows_the_recordings_to_a_signed_in_agent(app, client):
    add_staff(app.extensions["kaifong"].store.engine, "mei", PASSWORD, "agent")
    call = Call(client)
    to_the_location(app, call)
    call.press("1#")
    call.record(23)
    call.press("1")
    call.record(9)
    call.press("2")
    call.press("1")                                  # the review: all correct
    reference = state(app)["reference"]
    cid = app.extensions["kaifong"].store.conversation_id("voice", NUMBER)
    recordings = [x.meta["recording"] for x in lines_of(app) if "recording" in x.meta]
    staff = app.test_client()
    assert staff.get("/staff/voice-messages").status_code == 303       # signed in only
    assert staff.get(f"/staff/conversations/{cid}").status_code == 303
    assert sign_in(staff, "mei").status_code == 303
    listing = staff.get("/staff/voice-messages").get_data(as_text=True)
    assert "Report a problem in your area" in listing and reference in listing
    assert "Where" in listing and "23 seconds" in listing and "9 seconds" in listing
    assert f'/staff/conversations/{cid}"' in listing
    assert NUMBER not in listing and "api.twilio.com" not in listing   # the page opens them
    page = staff.get(f"/staff/conversations/{cid}").get_data(as_text=True)
    assert "Voice messages to listen to" in page
    assert "Twilio account&#39;s SID and auth token" in page
    for r in recordings:
        assert f'href="{r["url"]}.mp3"' in page and f'href="{r["url"]}.wav"' in page
        assert r["sid"] in page
    assert "What is wrong" in page and "23 seconds" in page
    assert page.count(f"Reference number: {reference}") == 2   # each message's report
    assert "Where is the problem? Give the street and building, or a landmark." in page
    actions = [e.action for e in app.extensions["kaifong_desk"].audit_log(conversation_id=cid)]
    assert actions == ["viewed"]
    live = staff.get(f"/staff/conversations/{cid}/lines").get_json()
    shown = [x for x in live if "recording" in x]
    assert [x["recording"]["mp3"] for x in shown] == [r["url"] + ".mp3" for r in recordings]
    assert shown[0]["text"] == "Voice message recorded, 23 s"
    chinese = staff.get(f"/staff/conversations/{cid}?lang=zh-HK").get_data(as_text=True)
    assert "語音留言" in chinese


def test_a_keypad_only_deployment_offers_the_message_too(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, VOICE_RECOGNISER="keypad")
    call = KeypadCall(app.test_client())
    heard = to_the_location(app, call)
    assert heard.gather["input"] == "dtmf" and heard.gather["finishOnKey"] == "#"
    said = heard_text(app, heard)                    # no "say it": only keys are heard
    assert "say it" not in said and said.endswith(
        "To answer, leave a message: press 1 and the hash key, speak after the tone, then "
        "press the hash key again.")
    call.press("1#")
    call.record(17)
    assert state(app)["step"] == "ask_details"
    app.extensions["kaifong"].store.close()


def test_the_record_prompt_is_rendered_ahead_of_time(app):
    from channels.voice.audio import phone_clips
    catalogue = app.extensions["kaifong"].catalogue
    texts = {clip.text for clip in phone_clips(catalogue, speech_for(app))}
    for text in ("Please speak after the tone.", "When you have finished, press the hash key.",
                 ("To leave a message instead, press 1 and the hash key, speak after the "
                  "tone, then press the hash key again.")):
        assert text in texts
    assert not any("Voice message" in text for text in texts)   # never said: no clip


def test_chat_shows_the_voice_message(app):
    import io
    from types import SimpleNamespace

    from channels.voice.devtools import voice_chat
    out = io.StringIO()
    lines = ["2", *menu_keys(app, "report_problem"), "2", "1", "1#", "23", "1#", "", "1#",
             "9", "2", "1"]
    voice_chat(app.extensions["kaifong"], SimpleNamespace(address="+85290001111"), lines, {},
               out)
    text = out.getvalue()
    assert "1# = Leave a voice message" in text
    assert "[recording after the tone, up to 60 s, ends with #" in text
    assert "Are you still there?" in text              # the empty one
    assert "Your reference number is" in text


@pytest.mark.slow
@pytest.mark.browser
def test_the_voice_messages_in_chromium(tmp_path, monkeypatch, live_server, page, screenshot):
    """A real browser: the list of voice messages and a conversation with two of them pass axe
    (WCAG A to AAA, enhanced contrast) with 44 px targets, in both languages."""
    from tests.browser import assert_accessible
    app = make_app(tmp_path, monkeypatch)
    add_staff(app.extensions["kaifong"].store.engine, "mei", PASSWORD, "agent")
    call = Call(app.test_client())
    to_the_location(app, call)
    call.press("1#")
    call.record(23)
    call.press("1#")
    call.record(9)
    call.press("2")
    cid = app.extensions["kaifong"].store.conversation_id("voice", NUMBER)
    base = live_server(app)
    page.goto(f"{base}/staff/login")
    page.fill("#username", "mei")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/staff/")
    for lang in ("en", "zh-HK"):
        for name, path in (("list", "/staff/voice-messages"),
                           ("conversation", f"/staff/conversations/{cid}")):
            page.goto(f"{base}{path}?lang={lang}")
            assert_accessible(page, name)
            screenshot(page, f"voice-messages-{name}-{lang}")
    assert page.locator("section.voice-messages li").count() == 2
    app.extensions["kaifong"].store.close()


def test_the_queue_flags_a_caller_who_left_a_voice_message(app, client):
    """A caller who left a message and then asked for a person waits in the queue flagged, so
    that whoever takes the call listens first."""
    add_staff(app.extensions["kaifong"].store.engine, "mei", PASSWORD, "agent")
    app.config["VOICE_CLOCK"].now = CLOSED           # a call-back: the caller waits in the queue
    call = Call(client)
    to_the_location(app, call)
    call.press("1#")
    call.record(23)
    call.press("0#")                                  # a person, at "what is wrong?"
    other = Call(client, "+85291110000")             # another caller, no message
    other.start()
    other.press("2")
    other.press("0")
    staff = app.test_client()
    sign_in(staff, "mei")
    queue = staff.get("/staff/").get_data(as_text=True)
    table = queue[queue.index('<table class="queue'):]
    rows = table[:table.index("</table>")].split("<tr")[2:]
    assert len(rows) == 2
    flagged = [row for row in rows if "Left a voice message: listen first" in row]
    cid = app.extensions["kaifong"].store.conversation_id("voice", NUMBER)
    assert len(flagged) == 1 and f"/staff/conversations/{cid}\"" in flagged[0]
    assert "api.twilio.com" not in queue and NUMBER not in queue
    assert "Voice message, 23 seconds" in flagged[0]            # what they gave says so too
