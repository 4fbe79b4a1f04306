"""Working as a team in the console: assigning and transferring a conversation to a colleague
(the queue's "who has it" and "mine" follow, the audit log says so, the colleague's live
queue hears it), internal notes (never sent), ready replies managed by supervisors, and the
citizen's other conversations on any channel. With the real SMS webhook and outbox."""

from __future__ import annotations

import re

import sqlalchemy as sa

from assistant.store import transcript_lines
from tests.channels.sms.conftest import NUMBER

from . import test_console
from .test_console import agent, conversation_id, page, post, sent

#: the same fixtures as the console's tests: the app (mei and chan agents, wong supervisor)
#: with the SMS webhook, and a citizen's phone
app = test_console.app
phone = test_console.phone


def _queue_row(html: str, cid: int) -> str:
    found = re.search(rf'<tr[^>]*data-id="{cid}".*?</tr>', html, re.S)
    assert found, f"conversation {cid} not in the queue"
    return found.group(0)


def test_a_waiting_conversation_is_assigned_to_a_colleague_with_a_note(app, phone):
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    mei, chan = agent(app), agent(app, "chan")
    assert f'data-id="{cid}"' not in page(chan, "/staff/queue?who=mine")
    answer = post(mei, f"/staff/conversations/{cid}/assign", to="chan",
                  note="She called yesterday too")
    assert answer.status_code == 303
    # chan has it: in chan's "mine", in no one's "unassigned", and the row says who
    assert f'data-id="{cid}"' in page(chan, "/staff/queue?who=mine")
    assert f'data-id="{cid}"' not in page(mei, "/staff/queue?who=mine")
    assert f'data-id="{cid}"' not in page(mei, "/staff/queue?who=unassigned")
    assert "chan" in _queue_row(page(mei, "/staff/queue"), cid)
    # the citizen is told a person is with them; the note is not sent
    assert sent(app)[-1][0] == "staff_joined"
    assert all("yesterday" not in body for _, body in sent(app))
    shown = page(chan, f"/staff/conversations/{cid}")
    assert re.search(r'class="line staff note">.*?She called yesterday too', shown, re.S)
    assert 'id="reply-text"' in shown               # chan may reply now
    audit = [(e.action, e.detail) for e in app.extensions["kaifong_desk"].audit_log()]
    assert ("assigned", {"to": "chan", "from": None}) in audit
    assert all("yesterday" not in str(detail) for _, detail in audit)


def test_only_whoever_has_it_or_a_supervisor_transfers_it(app, phone):
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    mei, chan, wong = agent(app), agent(app, "chan"), agent(app, "wong")
    post(mei, f"/staff/conversations/{cid}/claim")
    before = len(sent(app))
    refused = post(chan, f"/staff/conversations/{cid}/assign", to="chan")
    assert "problem=claimed" in refused.headers["Location"]
    assert post(mei, f"/staff/conversations/{cid}/assign", to="nobody").status_code == 303
    assert f'data-id="{cid}"' in page(mei, "/staff/queue?who=mine")
    # the holder transfers to a supervisor; the supervisor gives it back to chan
    post(mei, f"/staff/conversations/{cid}/assign", to="wong", note="needs a supervisor")
    assert f'data-id="{cid}"' in page(wong, "/staff/queue?who=mine")
    post(wong, f"/staff/conversations/{cid}/assign", to="chan")
    assert f'data-id="{cid}"' in page(chan, "/staff/queue?who=mine")
    # a transfer between staff tells the citizen nothing new
    assert len(sent(app)) == before
    audit = [e.detail for e in app.extensions["kaifong_desk"].audit_log()
             if e.action == "assigned"]
    assert audit == [{"to": "chan", "from": "wong"}, {"to": "wong", "from": "mei"}]


def test_the_colleagues_live_queue_hears_the_assignment(app, phone):
    app.config["STAFF_STREAM_SECONDS"] = 1.0
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    desk = app.extensions["kaifong_desk"]
    since = desk.queue_version()
    desk.assign(cid, "mei", "chan")
    assert desk.wait_for_change(desk.queue_version, since, timeout=1.0) != since


def test_a_note_at_any_time_is_never_sent_and_is_audited(app, phone):
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    chan = agent(app, "chan")
    before = sent(app)
    # chan has not taken it: a note needs no claim
    assert post(chan, f"/staff/conversations/{cid}/note",
                text="Daughter says she is deaf").status_code == 303
    assert sent(app) == before
    with app.extensions["kaifong"].store.engine.connect() as conn:
        meta = conn.scalar(sa.select(transcript_lines.c.meta).where(
            transcript_lines.c.text == "Daughter says she is deaf"))
    assert meta == {"staff": "chan", "note": True}
    refused = post(chan, f"/staff/conversations/{cid}/note", text="   ")
    assert "problem=refused" in refused.headers["Location"]
    actions = [e.action for e in app.extensions["kaifong_desk"].audit_log()]
    assert actions.count("noted") == 1
    # the citizen's next SMS answer carries nothing of it
    phone.send("hello?")
    assert all("deaf" not in body for _, body in sent(app))


def test_a_supervisor_manages_ready_replies_and_agents_may_not(app):
    mei, wong = agent(app), agent(app, "wong")
    assert mei.get("/staff/ready-replies").status_code == 403
    assert post(mei, "/staff/ready-replies", label_en="x", label_zh_hk="x", text_en="x",
                text_zh_hk="x").status_code == 403
    html = page(wong, "/staff/ready-replies")
    assert html.count('class="ready-reply"') == 4
    post(wong, "/staff/ready-replies", label_en="Opening hours", label_zh_hk="辦公時間",
         text_en="We are open 9 to 5.", text_zh_hk="我哋朝九晚五開放。")
    ids = re.findall(r'action="/staff/ready-replies/(\d+)/remove"', page(wong, "/staff/ready-replies"))
    assert len(ids) == 5
    new = ids[-1]
    # moved to the top, edited, then the first of the old ones removed
    post(wong, f"/staff/ready-replies/{new}/move", by="up")
    post(wong, f"/staff/ready-replies/{new}/move", by="up")
    post(wong, f"/staff/ready-replies/{new}/move", by="up")
    post(wong, f"/staff/ready-replies/{new}/move", by="up")
    post(wong, f"/staff/ready-replies/{new}/move", by="up")       # at the top already
    post(wong, f"/staff/ready-replies/{new}", label_en="Hours", label_zh_hk="時間",
         text_en="We are open 9 to 6.", text_zh_hk="我哋朝九晚六開放。")
    post(wong, f"/staff/ready-replies/{ids[0]}/remove")
    replies = _replies(app)
    assert [r.labels["en"] for r in replies] == ["Hours", "Please wait", "We will call back",
                                                  "Visit the office"]
    assert replies[0].texts["zh-HK"] == "我哋朝九晚六開放。"
    missing = post(wong, "/staff/ready-replies", label_en="Only English", label_zh_hk="",
                   text_en="Hi", text_zh_hk="")
    assert "problem=refused" in missing.headers["Location"]
    assert len(_replies(app)) == 4
    changes = [e.detail["what"] for e in app.extensions["kaifong_desk"].audit_log()
               if e.action == "ready_replies"]
    assert changes.count("moved") == 5 and changes[0] == "removed"


def _replies(app):
    from assistant.ready_replies import ready_replies

    return ready_replies(app.extensions["kaifong"].store)


def test_the_citizens_other_conversations_on_any_channel(app, phone):
    store = app.extensions["kaifong"].store
    # a phone call from the same number, and a kiosk visit that gave a reference number
    with store.turn("voice", NUMBER) as t:
        t.state = {"status": "closed", "procedure": "hkid_replacement", "locale": "en",
                   "escalation": {"outcome": "resolved"}}
        t.add_line("user", "lost card")
        t.add_event("ended", {"reference": "KF0000422"})
    with store.turn("voice", "+85291111111") as t:         # someone else
        t.state = {"status": "bot", "locale": "en"}
        t.add_line("user", "hello")
    with store.turn("kiosk", "k1:abc") as t:
        t.state = {"status": "bot", "locale": "en"}
        t.add_line("user", "my reference is KF0000422")
    phone.conversation("lost my id card", "person")
    cid = conversation_id(app)
    voice = store.conversation_id("voice", NUMBER)
    kiosk = store.conversation_id("kiosk", "k1:abc")
    # the SMS conversation has no reference: the kiosk one is found through the phone call's
    related = app.extensions["kaifong_desk"].related(cid)
    assert {c.id for c in related} == {voice, kiosk}
    assert {c.id for c in app.extensions["kaifong_desk"].related(voice)} == {cid, kiosk}
    # a kiosk visit is found by its reference, never by its address
    assert {c.id for c in app.extensions["kaifong_desk"].related(kiosk)} == {voice}
    html = page(agent(app), f"/staff/conversations/{cid}")
    section = html[html.index('class="related"'):]
    assert f'href="/staff/conversations/{voice}"' in section
    assert "Phone" in section and "Resolved" in section
