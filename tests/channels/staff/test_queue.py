"""The queue page's filters and search, its waiting-time targets, the closed list with its
outcomes and the supervisors' per-channel counts, with citizens texting the real SMS webhook
and one at the real kiosk."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from assistant.services import _luhn_digit
from assistant.store import conversations
from channels.staff.console import DEFAULT_WAIT_TARGETS, lateness, wait_targets
from tests.channels.kiosk.conftest import Kiosk, SilentEngine
from tests.channels.sms.conftest import TOKEN, Phone

from .conftest import app_with_staff, sign_in, token_in

A, B, C = "+85291230001", "+85291230002", "+85291230003"


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = app_with_staff(tmp_path, monkeypatch,
                         {"mei": "agent", "chan": "agent", "wong": "supervisor"},
                         TWILIO_AUTH_TOKEN=TOKEN, SPEECH_ENGINE=SilentEngine(),
                         KIOSK_IDS="demo", STAFF_WAIT_TARGETS="2=10/20")
    yield app
    app.extensions["kaifong"].store.close()


def signed_in(app, name="mei"):
    client = app.test_client()
    assert sign_in(client, name).status_code == 303
    return client


def rows(client, url="/staff/") -> list[str]:
    html = client.get(url).get_data(as_text=True)
    return re.findall(r'<tr class="[^"]*" data-id="(\d+)"', html)


def ids(app) -> dict[str, int]:
    with app.extensions["kaifong"].store.engine.connect() as conn:
        return {address: cid for cid, address in conn.execute(
            sa.select(conversations.c.id, conversations.c.address))}


@pytest.fixture
def people(app):
    """A and B text in English (A about a lost identity card, B in Chinese), C at nothing yet;
    a kiosk visitor reports a danger now. Three wait, all but the kiosk by SMS."""
    Phone(app.test_client(), A).conversation("lost my id card", "person")
    Phone(app.test_client(), B).conversation("補領身份證", "真人")
    Phone(app.test_client(), C).conversation("person")
    kiosk = Kiosk(app.test_client())
    kiosk.start("choose:report_problem")
    kiosk.touch("choose:yes")
    return ids(app)


def claim(app, client, cid):
    token = token_in(client.get("/staff/").get_data(as_text=True))
    assert client.post(f"/staff/conversations/{cid}/claim",
                       data={"csrf_token": token}).status_code == 303


def test_filters_narrow_the_queue(app, people):
    mei = signed_in(app)
    everyone = rows(mei)
    assert len(everyone) == 4
    kiosk = next(cid for address, cid in people.items() if not address.startswith("+"))
    assert everyone[0] == str(kiosk)                   # urgent first
    assert rows(mei, "/staff/?channel=kiosk") == [str(kiosk)]
    assert str(people[A]) not in rows(mei, "/staff/?channel=sms&language=zh-HK")
    assert str(people[B]) in rows(mei, "/staff/?channel=sms&language=zh-HK")
    # ?lang= is the console's own language, never a filter: switching it hides no one
    assert len(rows(mei, "/staff/?lang=zh-HK")) == 4
    mei.get("/staff/?lang=en")
    assert rows(mei, "/staff/?procedure=report_problem") == [str(kiosk)]
    claim(app, mei, people[A])
    assert rows(mei, "/staff/?who=mine") == [str(people[A])]
    assert str(people[A]) not in rows(mei, "/staff/?who=unassigned")
    assert rows(mei, "/staff/?status=with_staff") == [str(people[A])]
    assert rows(signed_in(app, "chan"), "/staff/?who=mine") == []
    # the live fragment keeps the page's filters
    page = mei.get("/staff/?channel=kiosk").get_data(as_text=True)
    assert 'data-fragment="/staff/queue?' in page and "channel=kiosk" in page
    assert re.findall(r'data-id="(\d+)"', mei.get("/staff/queue?channel=kiosk").get_data(
        as_text=True)) == [str(kiosk)]
    # an unknown status or "who" is ignored, not an error
    assert len(rows(mei, "/staff/?status=nonsense&who=nonsense")) == 4


def test_search_by_reference_number_and_words(app, people):
    store = app.extensions["kaifong"].store
    digits = "004211"
    reference = f"KF{digits}{_luhn_digit(digits)}"
    with store.turn("sms", C) as t:
        t.add_line("assistant", f"Your reference number is {reference}. Please keep it.")
        t.add_event("ended", {"reference": reference})
    mei = signed_in(app)
    spaced = f"kf {digits[:3]} {digits[3:]}-{reference[-1]}"
    assert rows(mei, f"/staff/?q={spaced}") == [str(people[C])]
    # the last digits of a number, as a masked number shows them
    assert rows(mei, "/staff/?q=**02") == [str(people[B])]
    assert rows(mei, "/staff/?q=0001") == [str(people[A])]
    # words anyone wrote, in any case
    assert rows(mei, "/staff/?q=LOST+MY") == [str(people[A])]
    page = mei.get("/staff/?q=nobody+wrote+this").get_data(as_text=True)
    assert "Nothing matches these filters." in page
    # a search finds closed conversations too, with their outcome
    claim(app, mei, people[A])
    token = token_in(mei.get("/staff/").get_data(as_text=True))
    mei.post(f"/staff/conversations/{people[A]}/close",
             data={"csrf_token": token, "outcome": "referred"})
    page = mei.get("/staff/?q=lost+my").get_data(as_text=True)
    assert f'data-id="{people[A]}"' in page and "Closed: Referred to a department" in page
    # a number shown by a search is masked, like everywhere else in the console
    assert "91230001" not in page


def test_the_closed_list_shows_outcomes(app, people):
    mei = signed_in(app)
    assert "No conversation has been closed yet." in mei.get("/staff/closed").get_data(
        as_text=True)
    claim(app, mei, people[B])
    token = token_in(mei.get("/staff/").get_data(as_text=True))
    mei.post(f"/staff/conversations/{people[B]}/close",
             data={"csrf_token": token, "outcome": "resolved"})
    page = mei.get("/staff/closed").get_data(as_text=True)
    assert f'data-id="{people[B]}"' in page and "Resolved" in page
    assert str(people[B]) not in rows(mei)
    zh = mei.get("/staff/closed?lang=zh-HK").get_data(as_text=True)
    assert "已結束的對話" in zh and "+08:00" in zh


def test_waiting_times_against_targets(app, people):
    store = app.extensions["kaifong"].store
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        for address, minutes in ((A, 12), (B, 25), (C, 3)):
            conn.execute(sa.update(conversations).where(conversations.c.address == address)
                         .values(waiting_since=now - timedelta(minutes=minutes)))
    html = signed_in(app).get("/staff/").get_data(as_text=True)
    row = {cid: re.search(rf'<tr class="([^"]*)" data-id="{cid}"', html).group(1)
           for cid in (people[A], people[B], people[C])}
    assert "late-amber" in row[people[A]] and "late-red" in row[people[B]]
    assert "late" not in row[people[C]]
    assert "far over target" in html and "over target" in html
    # the targets are on the page, where the order is explained (priority 2 as configured)
    assert "10 min" in html and "20 min" in html


def test_wait_targets_setting():
    assert wait_targets(None) == DEFAULT_WAIT_TARGETS
    assert wait_targets("0=1/3, 3=30/60")[0] == (1, 3)
    assert wait_targets({"1": "4/8"})[1] == (4, 8)
    with pytest.raises(ValueError, match="amber"):
        wait_targets("2=20/10")

    class Waiting:
        status, priority = "waiting", 0
        waiting_since = datetime.now(UTC) - timedelta(minutes=4)

    assert lateness(Waiting, wait_targets("0=2/5")) == "amber"
    assert lateness(Waiting, wait_targets("0=1/3")) == "red"
    assert lateness(Waiting, wait_targets("0=5/9")) == ""


def test_supervisors_see_the_waiting_count_per_channel(app, people):
    wong = signed_in(app, "wong").get("/staff/queue").get_data(as_text=True)
    counts = dict(re.findall(r'data-channel="(\w+)">[^<]*<strong>(\d+)</strong>', wong))
    assert counts["sms"] == "3" and counts["kiosk"] == "1" and counts["voice"] == "0"
    assert 'data-waiting="4"' in wong
    assert "per-channel" not in signed_in(app).get("/staff/queue").get_data(as_text=True)


# -- entries whose citizen has gone close by themselves ------------------------------------------

def audit_rows(app, action="closed_by_itself"):
    return [e for e in app.extensions["kaifong_desk"].audit_log(50) if e.action == action]


def test_a_kiosk_visitor_who_leaves_while_waiting_leaves_the_queue(app):
    kiosk = Kiosk(app.test_client())
    kiosk.start("choose:hkid_replacement")
    kiosk.touch("person")
    desk = app.extensions["kaifong_desk"]
    [waiting] = desk.queue()
    kiosk.touch("finish")
    kiosk.client.post("/kiosk/demo/end")                # the visitor gives up and goes
    assert desk.queue() == []
    [closed] = desk.closed()
    assert closed.id == waiting.id and closed.outcome == "left"
    [entry] = audit_rows(app)
    assert entry.conversation_id == waiting.id and entry.detail["why"] == "kiosk_left"
    wong = signed_in(app, "wong")
    audit = wong.get("/staff/audit").get_data(as_text=True)
    assert "closed by itself" in audit and "the visitor left the kiosk" in audit
    assert "System" in audit and "The citizen left" in audit
    assert "使用者已離開自助機" in wong.get("/staff/audit?lang=zh-HK").get_data(as_text=True)
    assert "The citizen left" in wong.get("/staff/closed?lang=en").get_data(as_text=True)


def test_a_kiosk_visitor_who_leaves_a_member_of_staff_stays_with_them(app):
    kiosk = Kiosk(app.test_client())
    kiosk.start("person")
    desk = app.extensions["kaifong_desk"]
    [waiting] = desk.queue()
    desk.claim(waiting.id, "mei")
    kiosk.touch("finish")
    kiosk.client.post("/kiosk/demo/end")
    [still] = desk.queue()
    assert still.status == "with_staff" and not audit_rows(app)


def test_a_phone_transfer_that_completed_is_closed_and_audited(app):
    from assistant.desk import close_transferred
    Phone(app.test_client(), A).conversation("person")
    store = app.extensions["kaifong"].store
    with store.turn("sms", A) as t:
        close_transferred(t)
    desk = app.extensions["kaifong_desk"]
    assert desk.queue() == []
    [entry] = audit_rows(app)
    assert entry.detail == {"outcome": "talked_on_phone", "why": "phone_transfer"}


def test_waiting_with_nothing_happening_closes_after_the_configured_time(app):
    from assistant.desk import request_call_back
    for address in (A, B, C):
        Phone(app.test_client(), address).conversation("person")
    store = app.extensions["kaifong"].store
    with store.turn("sms", C) as t:
        request_call_back(t, C, None, "no_answer")
    old = datetime.now(UTC) - timedelta(minutes=130)
    with store.engine.begin() as conn:
        conn.execute(sa.update(conversations).where(conversations.c.address.in_([A, C]))
                     .values(updated_at=old))
    desk = app.extensions["kaifong_desk"]
    assert desk.close_stale(180) == 0                   # not that old yet
    # through the queue page, as configured: A has waited with nothing for over 2 hours; B
    # is recent; C waits for a call-back from staff, which is not the citizen gone
    app.config.update(STAFF_STALE_MINUTES=120, STAFF_STALE_SWEEP_SECONDS=0)
    left = rows(signed_in(app))
    ids_now = ids(app)
    assert str(ids_now[A]) not in left and {str(ids_now[B]), str(ids_now[C])} <= set(left)
    [entry] = audit_rows(app)
    assert entry.conversation_id == ids_now[A]
    assert entry.detail == {"outcome": "no_response", "why": "no_reply", "minutes": 120}
    assert entry.staff == "(system)"
    # off unless set
    app.config.update(STAFF_STALE_MINUTES=0)
    with store.engine.begin() as conn:
        conn.execute(sa.update(conversations).where(conversations.c.address == B)
                     .values(updated_at=old))
    assert str(ids_now[B]) in rows(signed_in(app))


def test_no_member_of_staff_can_be_named_as_the_system(app):
    from assistant.desk import SYSTEM_STAFF
    from assistant.staff import StaffError, add_staff
    with pytest.raises(StaffError, match="may not start"):
        add_staff(app.extensions["kaifong"].store.engine, SYSTEM_STAFF, "a long enough password",
                  "agent")
