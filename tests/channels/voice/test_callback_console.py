"""Call-backs in the staff console: a caller outside office hours is in the queue as "Asked to
be called back", with the number masked and when to call; "Show personal data" reveals it
(and is audited); a claim and a close take it out of the queue."""

from __future__ import annotations

import pytest

from assistant.staff import add_staff
from tests.browser import assert_no_axe_violations
from tests.channels.staff.conftest import PASSWORD, sign_in, token_in

from .conftest import CLOSED, NUMBER, Call, heard_text, make_app


def test_a_call_back_in_the_queue_and_the_conversation(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    app.config["VOICE_CLOCK"].now = CLOSED
    add_staff(app.extensions["kaifong"].store.engine, "mei", PASSWORD, "agent")
    call = Call(app.test_client())
    call.start()
    call.press("2")
    call.press("0")                                  # a person, at 20:00: a call-back
    staff = app.test_client()
    assert sign_in(staff, "mei").status_code == 303
    queue = staff.get("/staff/").get_data(as_text=True)
    assert "Asked to be called back" in queue
    assert ('Call back:</strong> <span translate="no">+*********67</span>, '
            "Thursday 26 November, 9:00 am") in queue
    assert NUMBER not in queue
    cid = app.extensions["kaifong"].store.conversation_id("voice", NUMBER)
    page = staff.get(f"/staff/conversations/{cid}").get_data(as_text=True)
    assert "+*********67, Thursday 26 November, 9:00 am (called outside office hours)" in page
    revealed = staff.post(f"/staff/conversations/{cid}/reveal",
                          data={"csrf_token": token_in(page)}).get_data(as_text=True)
    assert f"{NUMBER}, Thursday 26 November, 9:00 am" in revealed
    actions = [e.action for e in app.extensions["kaifong_desk"].audit_log(conversation_id=cid)]
    assert "revealed" in actions
    # in Chinese for a member of staff who reads Chinese
    chinese = staff.get("/staff/?lang=zh-HK").get_data(as_text=True)
    assert "11月26日（星期四）上午9時" in chinese
    app.extensions["kaifong"].store.close()


def test_staff_words_to_a_phone_caller_go_by_text_message(tmp_path, monkeypatch):
    import sqlalchemy as sa

    from assistant.outbox import outbox
    app = make_app(tmp_path, monkeypatch)
    app.config["VOICE_CLOCK"].now = CLOSED
    call = Call(app.test_client())
    call.start()
    call.press("1")                                  # Cantonese
    call.press("0")
    desk = app.extensions["kaifong_desk"]
    cid = app.extensions["kaifong"].store.conversation_id("voice", NUMBER)
    desk.claim(cid, "mei")                           # "a person is with you": not texted
    desk.reply(cid, "mei", "我哋聽日上午會打俾你。")
    with app.extensions["kaifong"].store.engine.connect() as conn:
        sent = conn.execute(sa.select(outbox.c.channel, outbox.c.address, outbox.c.body,
                                      outbox.c.kind)).all()
    assert [tuple(row) for row in sent] == [("sms", NUMBER, "我哋聽日上午會打俾你。",
                                             "staff_reply")]
    # while a member of staff has the case, a caller who rings is told so, and not kept
    heard = Call(app.test_client()).start()
    assert heard.hangup and heard.gather is None
    assert heard_text(app, heard) == "有職員跟緊你嘅個案，佢會打俾你。 再見。"
    app.extensions["kaifong"].store.close()


@pytest.mark.slow
@pytest.mark.browser
def test_the_queue_with_a_call_back_in_chromium(tmp_path, monkeypatch, live_server, page,
                                                 screenshot):
    """A real browser: the call-back row reads as it should and the page passes axe (WCAG A to
    AAA, enhanced contrast), in both languages."""
    app = make_app(tmp_path, monkeypatch)
    app.config["VOICE_CLOCK"].now = CLOSED
    add_staff(app.extensions["kaifong"].store.engine, "mei", PASSWORD, "agent")
    call = Call(app.test_client())
    call.start()
    call.press("2")
    call.press("0")
    base = live_server(app)
    page.goto(f"{base}/staff/login")
    page.fill("#username", "mei")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/staff/")
    row = page.locator("table.queue tbody tr").first
    assert "Call back: +*********67, Thursday 26 November, 9:00 am" in row.inner_text()
    assert_no_axe_violations(page)
    page.goto(f"{base}/staff/?lang=zh-HK")
    assert "回電: +*********67, 11月26日（星期四）上午9時" in page.locator(
        "table.queue tbody tr").first.inner_text()
    assert_no_axe_violations(page)
    screenshot(page, "voice-call-back-queue")
    app.extensions["kaifong"].store.close()
