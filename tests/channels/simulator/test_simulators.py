"""The SMS and phone simulators: off unless asked for, this machine only, and what they send
reaches the real webhooks signed as Twilio would (a wrong token is refused there, as Twilio's
would be)."""

from __future__ import annotations

import re

import pytest

from channels.speech import speech_for
from tests.browser import assert_no_axe_violations
from tests.channels.voice.conftest import make_app as voice_app


def make_app(tmp_path, monkeypatch, **config):
    """The phone tests' app (a fake speech engine that writes real WAVs, a test token), with
    the simulators on."""
    monkeypatch.delenv("KAIFONG_SIMULATORS", raising=False)
    return voice_app(tmp_path, monkeypatch, **{"SIMULATORS": "on", **config})


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    yield app
    app.extensions["kaifong"].store.close()


def test_off_by_default_and_refused_when_misconfigured(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, SIMULATORS="off")
    assert app.test_client().get("/simulator/").status_code == 404
    with pytest.raises(ValueError, match="KAIFONG_SIMULATORS"):
        make_app(tmp_path, monkeypatch, SIMULATORS="maybe")
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN"):
        make_app(tmp_path, monkeypatch, TWILIO_AUTH_TOKEN="")


def test_only_this_machine_may_use_them(app):
    client = app.test_client()
    assert client.get("/simulator/").status_code == 200
    far = client.get("/simulator/", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403
    sent = client.post("/simulator/sms", data={"from": "+85291234567", "body": "hello"},
                       environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert sent.status_code == 403
    assert app.extensions["kaifong"].store.conversation_id("sms", "+85291234567") is None


def test_a_text_goes_through_the_signed_webhook_and_the_reply_shows(app):
    client = app.test_client()
    response = client.post("/simulator/sms", data={"from": "+85291234567",
                                                    "body": "lost my id card"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "lost my id card" in page and "identity card" in page.lower()
    assert "no-store" in client.get("/simulator/sms").headers["Cache-Control"]


def _thread(client, number):
    return client.get(f"/simulator/sms?from={number}").get_data(as_text=True)


def test_the_sms_page_shows_every_message_as_sent_with_its_segments(app):
    from channels.sms.segments import count_segments

    client = app.test_client()
    number = "+85291234500"
    for body in ["lost my id card", "1", "1", "1", "1"]:
        client.post("/simulator/sms", data={"from": number, "body": body})
    page = _thread(client, number)
    store = app.extensions["kaifong"].store
    cid = store.conversation_id("sms", number)
    # what the webhook answered, as it answered it: its options, and its segments
    from tests.channels.sms.test_webhook import WHAT_HAPPENED
    assert WHAT_HAPPENED in page
    segments = re.findall(r'<span class="segments">(\d) segments?, (GSM-7|UCS-2), (\d+) units'
                          r"</span>", page)
    assert len(segments) == 5
    assert segments[1] == (str(count_segments(WHAT_HAPPENED).segments), "GSM-7",
                           str(count_segments(WHAT_HAPPENED).units))
    assert cid is not None


def test_the_sms_page_shows_what_staff_send_and_never_a_private_note(app):
    client = app.test_client()
    number = "+85291234501"
    for body in ["lost my id card", "0"]:
        client.post("/simulator/sms", data={"from": number, "body": body})
    desk = app.extensions["kaifong_desk"]
    cid = app.extensions["kaifong"].store.conversation_id("sms", number)
    desk.claim(cid, "agent1")
    desk.reply(cid, "agent1", "Hello, I am Mary from the district office.")
    desk.hand_back(cid, "agent1", note="PRIVATE: sounded confused, check on Monday")
    page = _thread(client, number)
    assert "Hello, I am Mary from the district office." in page
    assert "(from the outbox: staff_reply, queued)" in page
    assert "PRIVATE" not in page
    assert "PRIVATE" in " ".join(line.text for line in app.extensions["kaifong"].store.transcript(
        cid))                                    # it is kept, for staff, and only there


def test_the_suggested_first_messages_start_a_procedure(app):
    from channels.simulator.views import SUGGESTIONS

    client = app.test_client()
    page = _thread(client, "+85291234502")
    store = app.extensions["kaifong"].store
    for n, body in enumerate(SUGGESTIONS):
        assert f"“{body}”" in page
        number = f"+8529123460{n}"
        client.post("/simulator/sms", data={"from": number, "body": body})
        assert (store.state("sms", number) or {}).get("procedure") is not None, body


def test_a_wrong_token_is_refused_by_the_webhook_not_waved_through(app):
    app.config["TWILIO_AUTH_TOKEN"] = "not-the-token-the-webhook-checks"
    client = app.test_client()
    page = client.post("/simulator/sms", data={"from": "+85291234567", "body": "hello"})
    assert page.status_code == 200 and "answered 403" in page.get_data(as_text=True)
    assert app.extensions["kaifong"].store.conversation_id("sms", "+85291234567") is None


def test_a_call_plays_the_prompts_and_takes_keys(app):
    client = app.test_client()
    page = client.post("/simulator/phone", data={"from": "+85291234567", "start": "1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    clips = re.findall(r'src="(/audio/[0-9a-f]{32}\.wav)"', html)
    assert clips, html
    for url in clips[:3]:
        audio = client.get(url)
        assert audio.status_code == 200 and audio.data[:4] == b"RIFF"
        audio.close()
    call = re.search(r'name="call" value="(CA[0-9a-f]+)"', html).group(1)
    action = re.search(r'name="action" value="([^"]+)"', html).group(1)
    # press 2 for English at the language menu: the next prompts are English
    page = client.post("/simulator/phone", data={"from": "+85291234567", "call": call,
                                                 "action": action, "digits": "2"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "answered" not in html
    texts = [speech_for(app).noted(c.split("/")[-1][:-4]) for c in
             re.findall(r'src="(/audio/[0-9a-f]{32}\.wav)"', html)]
    assert any(t and t.locale == "en" for t in texts)


@pytest.mark.slow
def test_the_simulator_pages_pass_axe(app, live_server, page):
    base = live_server(app)
    for path in ("/simulator/", "/simulator/sms", "/simulator/phone"):
        page.goto(base + path)
        assert_no_axe_violations(page)


def test_a_voice_message_can_be_left_at_a_free_words_question(app):
    from tests.channels.voice.test_calls import menu_keys

    client = app.test_client()

    def step(html: str, **form) -> str:
        call = re.search(r'name="call" value="(CA[0-9a-f]+)"', html).group(1)
        action = re.search(r'name="action" value="([^"]+)"', html).group(1)
        page = client.post("/simulator/phone", data={"from": "+85291234567", "call": call,
                                                     "action": action, **form})
        assert page.status_code == 200
        return page.get_data(as_text=True)

    html = client.post("/simulator/phone", data={"from": "+85291234567", "start": "1"}
                       ).get_data(as_text=True)
    for key in ["2", *menu_keys(app, "report_problem"), "2", "1", "1#"]:
        html = step(html, digits=key)
    assert "Leave the message" in html                  # the <Record> is offered, not skipped
    html = step(html, record="1", seconds="23")
    state = app.extensions["kaifong"].store.state("voice", "+85291234567")
    assert state["step"] == "ask_details" and "Voice message" in state["slots"]["location"]
