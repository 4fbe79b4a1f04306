"""The console's working pages with the real SMS webhook: the whole loop (a citizen asks for a
person, an agent claims, replies, the citizen answers, the agent hands back, the assistant
goes on), its audit trail, the outbox, masking, roles, CSRF, and citizens' markup kept inert."""

from __future__ import annotations

import json
import logging
import re

import pytest
import sqlalchemy as sa

from assistant.outbox import outbox
from assistant.staff import add_staff
from tests.channels.sms.conftest import NUMBER, TOKEN, Phone
from tests.conftest import Clock

from .conftest import PASSWORD, app_with_staff, make_app, sign_in, token_in


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = app_with_staff(tmp_path, monkeypatch,
                         {"mei": "agent", "chan": "agent", "wong": "supervisor"},
                         TWILIO_AUTH_TOKEN=TOKEN, SEED_SLOTS_DAYS=3)
    yield app
    app.extensions["kaifong"].store.close()


@pytest.fixture
def phone(app):
    return Phone(app.test_client())


def agent(app, name="mei"):
    client = app.test_client()
    assert sign_in(client, name).status_code == 303
    return client


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def post(client, url, **form):
    token = token_in(page(client, "/staff/"))
    return client.post(url, data={"csrf_token": token, **form})


def sent(app) -> list[tuple[str, str]]:
    with app.extensions["kaifong"].store.engine.connect() as conn:
        return [(r.kind, r.body) for r in conn.execute(
            sa.select(outbox.c.kind, outbox.c.body).order_by(outbox.c.id))]


def conversation_id(app) -> int:
    return app.extensions["kaifong"].store.conversation_id("sms", NUMBER)


def test_the_whole_loop_through_the_sms_webhook_with_its_audit_trail(app, phone, caplog):
    caplog.set_level(logging.DEBUG)
    phone.conversation("lost my id card", "1", "1", "1", "yes", "A123456(3)", "yes")
    assert phone.say("person").startswith("I am passing you to a member of staff.")
    mei = agent(app)
    queue = page(mei, "/staff/")
    assert "Asked for a person" in queue and "Replace an identity card" in queue
    assert "A******(*)" in queue and "A123456(3)" not in queue     # masked in the summary
    cid = conversation_id(app)

    assert post(mei, f"/staff/conversations/{cid}/claim").status_code == 303
    assert sent(app) == [("staff_joined",
                          "A member of staff is with you now. Please write to them here.")]
    assert post(mei, f"/staff/conversations/{cid}/reply",
                text="Hello, did you report the loss to the police?").status_code == 303
    assert phone.say("yes, yesterday") == ""               # for the member of staff
    view = page(mei, f"/staff/conversations/{cid}")
    assert "yes, yesterday" in view and "Hello, did you report the loss" in view
    back = post(mei, f"/staff/conversations/{cid}/hand-back", procedure="book_appointment",
                note="police report seen")
    assert back.status_code == 303 and back.headers["Location"].endswith("/staff/")
    kinds = [kind for kind, _ in sent(app)]
    assert kinds == ["staff_joined", "staff_reply", "hand_back"]
    assert sent(app)[-1][1].startswith("You are back with the assistant.")
    # the assistant goes on by SMS, in the procedure the agent picked
    state = app.extensions["kaifong"].store.state("sms", NUMBER)
    assert state["status"] == "bot" and state["procedure"] == "book_appointment"
    assert phone.say("help") != ""

    wong = agent(app, "wong")
    audit = page(wong, f"/staff/audit?conversation={cid}")
    for action in ("took", "replied", "gave back", "viewed"):
        assert action in audit
    entries = app.extensions["kaifong_desk"].audit_log(conversation_id=cid)
    assert [(e.staff, e.action) for e in reversed(entries)] == [
        ("mei", "claimed"), ("mei", "replied"), ("mei", "viewed"), ("mei", "handed_back")]
    # nothing personal in the logs: not the number, not the card, not what anyone wrote
    for secret in (NUMBER, "A123456", "yesterday", "did you report", "police report seen"):
        assert secret not in caplog.text


def test_two_agents_one_claim_and_the_other_is_told(app, phone):
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    mei, chan = agent(app, "mei"), agent(app, "chan")
    assert post(mei, f"/staff/conversations/{cid}/claim").status_code == 303
    refused = post(chan, f"/staff/conversations/{cid}/claim")
    assert refused.headers["Location"].endswith("problem=claimed")
    assert "Someone else has this conversation" in page(chan, refused.headers["Location"])
    # chan cannot reply to mei's conversation either
    post(chan, f"/staff/conversations/{cid}/reply", text="hi")
    assert [kind for kind, _ in sent(app)] == ["staff_joined"]


def test_closing_keeps_the_note_and_the_next_text_starts_with_the_assistant(app, phone):
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    mei = agent(app)
    post(mei, f"/staff/conversations/{cid}/claim")
    post(mei, f"/staff/conversations/{cid}/close", outcome="resolved", note="card found")
    assert app.extensions["kaifong"].store.state("sms", NUMBER)["status"] == "closed"
    assert phone.say("hello").startswith("Hello, I am Kaifong")
    assert "card found" in page(mei, f"/staff/conversations/{cid}")
    assert "No one is waiting." in page(mei, "/staff/")


def test_a_citizens_markup_is_inert_everywhere(app, phone):
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    phone.conversation("lost my id card", evil, "person")
    cid = conversation_id(app)
    mei = agent(app)
    for url in ("/staff/", "/staff/queue", f"/staff/conversations/{cid}"):
        html = page(mei, url)
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page(mei, f"/staff/conversations/{cid}")
    lines = json.loads(page(mei, f"/staff/conversations/{cid}/lines?after=0"))
    assert evil in [line["text"] for line in lines]       # JSON for textContent, not markup
    response = mei.get("/staff/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_reveal_is_a_logged_post_and_the_audit_log_is_for_supervisors(app, phone):
    phone.conversation("lost my id card", "1", "1", "1", "yes", "A123456(3)", "yes", "person")
    cid = conversation_id(app)
    mei = agent(app)
    assert "A123456(3)" not in page(mei, f"/staff/conversations/{cid}")
    assert mei.post(f"/staff/conversations/{cid}/reveal").status_code == 400   # no CSRF token
    shown = post(mei, f"/staff/conversations/{cid}/reveal")
    assert shown.status_code == 200 and "A123456(3)" in shown.get_data(as_text=True)
    assert mei.get("/staff/audit").status_code == 403
    audit = page(agent(app, "wong"), "/staff/audit")
    assert "revealed personal data" in audit and "mei" in audit
    actions = [e.action for e in app.extensions["kaifong_desk"].audit_log()]
    assert actions == ["revealed", "viewed"]


def test_ready_replies_go_in_the_citizens_language(app):
    chinese = Phone(app.test_client(), number="+85298765432")
    chinese.conversation("我唔見咗身份證", "真人")
    cid = app.extensions["kaifong"].store.conversation_id("sms", "+85298765432")
    mei = agent(app)
    post(mei, f"/staff/conversations/{cid}/claim")
    # the four replies migration 0010 put in, the second being "Please wait"
    shown = page(mei, f"/staff/conversations/{cid}")
    second = re.findall(r'name="ready" value="(\d+)"', shown)[1]
    post(mei, f"/staff/conversations/{cid}/reply", ready=second)
    assert sent(app)[-1] == ("staff_reply", "多謝你。請等一等，我幫你查吓。")
    assert post(mei, f"/staff/conversations/{cid}/reply", ready="999").status_code == 400
    assert post(mei, f"/staff/conversations/{cid}/reply", ready="x").status_code == 400


def test_the_live_streams_send_the_queue_change_and_new_lines(app, phone):
    app.config["STAFF_STREAM_SECONDS"] = 0.5
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    mei = agent(app)
    queue = mei.get("/staff/events")
    assert queue.mimetype == "text/event-stream"
    assert "event: changed" in queue.get_data(as_text=True)
    stream = mei.get(f"/staff/conversations/{cid}/events?after=0").get_data(as_text=True)
    first = [json.loads(chunk.split("data: ", 1)[1]) for chunk in stream.split("\n\n")
             if chunk.startswith("event: lines")][0]
    texts = [line["text"] for line in first]
    assert texts[0] == "(the conversation started)" and "lost my id card" in texts
    last = first[-1]["seq"]
    phone.say("are you there?")
    more = mei.get(f"/staff/conversations/{cid}/lines?after={last}").get_json()
    assert [line["text"] for line in more][0] == "are you there?"
    assert all(line["seq"] > last for line in more)


def test_live_updates_do_not_keep_an_idle_session_alive(tmp_path, monkeypatch):
    from .conftest import START
    clock = Clock(START)
    app = make_app(tmp_path, monkeypatch, STAFF_CLOCK=clock, STAFF_STREAM_SECONDS=0.1)
    add_staff(app.extensions["kaifong"].store.engine, "mei", PASSWORD, "agent")
    mei = agent(app)
    for _ in range(4):
        clock.advance(minutes=7)
        assert mei.get("/staff/queue").status_code == 200
    clock.advance(minutes=3)
    assert mei.get("/staff/queue").status_code == 303     # 31 idle minutes: signed out
    app.extensions["kaifong"].store.close()


def test_a_long_queue_says_how_many_wait_beyond_the_rows_shown(app):
    app.config["STAFF_QUEUE_ROWS"] = 2
    for n in range(3):
        Phone(app.test_client(), number=f"+8529100000{n}").conversation("lost my id card",
                                                                         "person")
    html = page(agent(app), "/staff/queue")
    assert "People waiting: 3 (the first 2 are shown)" in html
    assert html.count("<tr") == 3        # the header and two rows


def test_live_update_requests_never_set_the_session_cookie(app, phone):
    # a late answer to one of them must not bring back an older session (a language, a user)
    app.config["STAFF_STREAM_SECONDS"] = 0.1
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    mei = agent(app)
    for url in ("/staff/queue", "/staff/events", f"/staff/conversations/{cid}/lines",
                f"/staff/conversations/{cid}/events", "/staff/static/console.js"):
        with mei.get(url) as response:
            assert response.status_code == 200, url
            assert "Set-Cookie" not in response.headers, url
    assert "Set-Cookie" in mei.get("/staff/?lang=zh-HK").headers       # a page the staff opened


def test_a_kiosk_conversation_shows_its_kiosk_not_the_session_hash():
    from types import SimpleNamespace

    from channels.staff.console import _where

    kiosk = SimpleNamespace(channel="kiosk", address="ssp-1:" + "a" * 64)
    assert _where(kiosk) == "ssp-1"
    phone = SimpleNamespace(channel="sms", address="+*** **** **67")
    assert _where(phone) == "+*** **** **67"


def _events(stream: str) -> list[tuple[str, object]]:
    return [(chunk.split("\n")[0].removeprefix("event: "),
             json.loads(chunk.split("data: ", 1)[1]))
            for chunk in stream.split("\n\n") if chunk.startswith("event: ")]


def test_streams_beyond_the_budget_send_what_there_is_and_busy(app, phone):
    polls = app.extensions["kaifong_long_polls"]
    app.config["STAFF_STREAM_SECONDS"] = 0.3
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    mei = agent(app)
    held = mei.get(f"/staff/conversations/{cid}/events?after=0")
    assert polls.held == 1                  # the stream holds a place until it is closed
    streamed = _events(held.get_data(as_text=True))
    held.close()
    assert polls.held == 0
    assert [name for name, _ in streamed] == ["lines"]

    polls.total = 0                         # the budget is taken (here: there is none)
    app.config["STAFF_STREAM_SECONDS"] = 60  # a held stream would last a minute
    busy = mei.get(f"/staff/conversations/{cid}/events?after=0")
    text = busy.get_data(as_text=True)      # ends at once
    busy.close()
    found = _events(text)
    assert [name for name, _ in found] == ["lines", "busy"]
    assert found[0][1] == streamed[0][1]    # what there is now, as a held stream sends it
    assert 1.5 <= found[1][1]["retry"] <= 4.5
    assert f"retry: {int(found[1][1]['retry'] * 1000)}" in text
    queue = _events(mei.get("/staff/events").get_data(as_text=True))
    assert [name for name, _ in queue] == ["changed", "busy"]
    assert polls.held == 0 and polls.refused == 2
