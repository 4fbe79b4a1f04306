"""Working as a team, in Chromium: an agent assigns a conversation to a colleague, who sees it
arrive live in their own console (a second browser context, its own session) under "mine",
with the note; internal notes shown apart from what the citizen was sent; a supervisor
manages the ready replies and an agent sends one to a Chinese citizen; a search by reference
finds a phone call, whose page lists the same citizen's SMS conversation. Axe (WCAG 2.2 up to
AAA) and 44 px targets on the new pages, in both languages.

Citizens reach the app through its real SMS webhook (the test client); Chromium talks to the
same app over real HTTP. Waits are Playwright's, never sleeps; ``window.__marker`` is set
before a live wait and read after it (a reloaded page would have lost it)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from assistant.outbox import outbox
from assistant.staff import add_staff
from channels.staff.words import hong_kong
from tests.browser import VIEWPORT, assert_accessible
from tests.channels.sms.conftest import NUMBER, TOKEN, Phone

from .conftest import PASSWORD, make_app

pytestmark = pytest.mark.browser

LIVE_MS = 10_000
REFERENCE = "KF0000422"


@pytest.fixture
def console(tmp_path, monkeypatch, live_server):
    app = make_app(tmp_path, monkeypatch, TWILIO_AUTH_TOKEN=TOKEN, STAFF_STREAM_SECONDS=3)
    engine = app.extensions["kaifong"].store.engine
    for name, role in (("mei", "agent"), ("chan", "agent"), ("wong", "supervisor")):
        add_staff(engine, name, PASSWORD, role)
    yield app, live_server(app)
    app.extensions["kaifong"].store.close()


@pytest.fixture
def second_page(browser, console):
    """A colleague's browser: a context of its own (own cookies, own session)."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB",
                                  timezone_id="Asia/Hong_Kong")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def sign_in(page: Page, url: str, username: str, lang: str = "en") -> None:
    page.goto(f"{url}/staff/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{url}/staff/")


def sent(app) -> list[tuple[str, str]]:
    with app.extensions["kaifong"].store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(outbox.c.kind, outbox.c.body).order_by(outbox.c.id))]


def test_an_agent_assigns_to_a_colleague_who_sees_it_live(console, page, second_page):
    app, url = console
    Phone(app.test_client()).conversation("lost my id card", "person")
    cid = app.extensions["kaifong"].store.conversation_id("sms", NUMBER)
    sign_in(second_page, url, "chan")
    second_page.goto(f"{url}/staff/?who=mine")
    expect(second_page.locator("#queue table.queue tbody tr")).to_have_count(0)
    second_page.evaluate("window.__marker = 1")

    sign_in(page, url, "mei")
    page.goto(f"{url}/staff/conversations/{cid}")
    page.locator("#assign-to").select_option("chan")
    page.locator("#assign-note").fill("Lost it on the MTR; wants a call after 6 pm")
    page.locator("form.assign button[type=submit]").click()
    page.wait_for_url(f"{url}/staff/")
    row = page.locator(f"#queue tr[data-id='{cid}']")
    expect(row).to_contain_text("chan")

    # chan's console: the row arrives under "mine" without a reload
    mine = second_page.locator(f"#queue tr[data-id='{cid}']")
    expect(mine).to_have_count(1, timeout=LIVE_MS)
    expect(mine).to_contain_text("chan")
    assert second_page.evaluate("window.__marker") == 1, "the page was reloaded"
    mine.locator("a.open").click()
    note = second_page.locator("#transcript li.note")
    expect(note).to_contain_text("Lost it on the MTR")
    expect(note).to_contain_text("mei")
    expect(note).to_contain_text("note")
    expect(second_page.locator("#reply-text")).to_be_visible()     # chan's to answer now

    # a note chan adds is shown as a note, live in mei's page too, and never sent
    page.goto(f"{url}/staff/conversations/{cid}")
    page.evaluate("window.__marker = 1")
    second_page.locator("#note-text").fill("Called her back, no answer")
    second_page.locator("form.note button[type=submit]").click()
    expect(second_page.locator("#transcript li.note")).to_have_count(2)
    expect(page.locator("#transcript li.note").last).to_contain_text(
        "Called her back, no answer", timeout=LIVE_MS)
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    # dashed and tinted: a note does not look like a reply to the citizen
    style = page.locator("#transcript li.note").last.evaluate(
        "el => getComputedStyle(el).borderLeftStyle")
    assert style == "dashed"
    assert all("MTR" not in body and "no answer" not in body for _, body in sent(app))
    audit = [e.action for e in app.extensions["kaifong_desk"].audit_log()]
    assert "assigned" in audit and "noted" in audit


def test_a_supervisor_manages_ready_replies_and_an_agent_uses_one_in_chinese(console, page,
                                                                             second_page):
    app, url = console
    sign_in(page, url, "wong")
    page.get_by_role("link", name="Ready replies").click()
    expect(page.locator("section.ready-reply")).to_have_count(4)
    page.locator("#new-label-en").fill("Opening hours")
    page.locator("#new-text-en").fill("The office is open 9 am to 5 pm, Monday to Friday.")
    page.locator("#new-label-zh_hk").fill("辦公時間")
    page.locator("#new-text-zh_hk").fill("辦事處星期一至五，朝九晚五開放。")
    page.get_by_role("button", name="Add", exact=True).click()
    replies = page.locator("section.ready-reply")
    expect(replies).to_have_count(5)
    expect(replies.last.locator("h2")).to_have_text("5. Opening hours")
    replies.last.get_by_role("button", name="Move up").click()
    expect(replies.nth(3).locator("h2")).to_have_text("4. Opening hours")
    replies.first.get_by_role("button", name="Remove").click()
    expect(replies).to_have_count(4)
    expect(replies.nth(2).locator("h2")).to_have_text("3. Opening hours")

    chinese = Phone(app.test_client(), number="+85298765432")
    chinese.conversation("我唔見咗身份證", "真人")
    cid = app.extensions["kaifong"].store.conversation_id("sms", "+85298765432")
    sign_in(second_page, url, "mei", "zh-HK")
    second_page.goto(f"{url}/staff/conversations/{cid}")
    second_page.locator(f"form[action$='/conversations/{cid}/claim'] button").click()
    buttons = second_page.locator("fieldset.canned button")
    expect(buttons).to_have_text(["請稍等", "我們會回電", "辦公時間", "親身到辦事處"])
    second_page.get_by_role("button", name="辦公時間").click()
    expect(second_page.locator("#transcript li.staff").last).to_contain_text(
        "辦事處星期一至五，朝九晚五開放。")
    assert sent(app)[-1] == ("staff_reply", "辦事處星期一至五，朝九晚五開放。")


def test_a_search_by_reference_reads_the_citizens_history_across_channels(console, page):
    app, url = console
    store = app.extensions["kaifong"].store
    Phone(app.test_client()).conversation("lost my id card", "person")
    sms = store.conversation_id("sms", NUMBER)
    # the same citizen called before, and the call ended with a reference number
    with store.turn("voice", NUMBER) as t:
        t.state = {"status": "closed", "procedure": "hkid_replacement", "locale": "en",
                   "escalation": {"outcome": "resolved"}}
        t.add_line("user", "lost card")
        t.add_event("ended", {"reference": REFERENCE})
    voice = store.conversation_id("voice", NUMBER)
    called = hong_kong(app.extensions["kaifong_desk"].related(sms)[0].updated_at)

    sign_in(page, url, "mei")
    page.locator("#f-q").fill(REFERENCE.lower())
    page.locator("#f-q").press("Enter")
    rows = page.locator("#queue table.queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-id", str(voice))
    rows.locator("a.open").click()
    page.wait_for_url(f"{url}/staff/conversations/{voice}")
    related = page.locator("table.related tbody tr")
    expect(related).to_have_count(1)
    expect(related).to_have_attribute("data-id", str(sms))
    expect(related).to_contain_text("SMS")
    expect(related).to_contain_text("Waiting for a person")
    related.locator("a").click()
    page.wait_for_url(f"{url}/staff/conversations/{sms}")
    back = page.locator("table.related tbody tr")
    expect(back).to_have_attribute("data-id", str(voice))
    expect(back).to_contain_text("Phone")
    expect(back).to_contain_text("Resolved")
    expect(back.locator("time")).to_have_attribute("datetime", called.isoformat())
    assert re.search(called.strftime("%H:%M"), back.locator("time").inner_text())


@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_the_team_pages_are_accessible(console, page, screenshot, lang):
    app, url = console
    store = app.extensions["kaifong"].store
    Phone(app.test_client()).conversation("lost my id card", "person")
    with store.turn("voice", NUMBER) as t:
        t.state = {"status": "closed", "procedure": "hkid_replacement", "locale": "en",
                   "escalation": {"outcome": "resolved"}}
        t.add_line("user", "lost card")
    cid = store.conversation_id("sms", NUMBER)
    sign_in(page, url, "wong", lang)

    def check(name: str) -> None:
        screenshot(page, f"staff-{name}-{lang}")
        assert_accessible(page, name)

    page.goto(f"{url}/staff/ready-replies")
    check("ready-replies")
    page.goto(f"{url}/staff/conversations/{cid}")
    expect(page.locator("table.related tbody tr")).to_have_count(1)
    page.locator(f"form[action$='/conversations/{cid}/claim'] button").click()
    page.locator("#note-text").fill("note")
    page.locator("form.note button[type=submit]").click()
    expect(page.locator("#transcript li.note")).to_have_count(1)
    check("conversation-team")
