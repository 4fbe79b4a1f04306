"""The dense queue in Chromium: 15 rows and more on a 1440x900 screen, an agent working it by
keyboard alone (next, open, take, reply, close, search), the number waiting in the title and an
optional sound for a new arrival, the supervisors' live count per channel, and the new pages
and controls accessible (axe, 44 px targets) in both languages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from assistant.outbox import outbox
from assistant.staff import add_staff
from tests.browser import assert_accessible
from tests.channels.sms.conftest import TOKEN, Phone

from .conftest import PASSWORD, make_app

pytestmark = pytest.mark.browser

LIVE_MS = 10_000


def number(i: int) -> str:
    return f"+8529123{i:04d}"


@pytest.fixture
def console(tmp_path, monkeypatch, live_server):
    app = make_app(tmp_path, monkeypatch, TWILIO_AUTH_TOKEN=TOKEN, STAFF_STREAM_SECONDS=3)
    engine = app.extensions["kaifong"].store.engine
    add_staff(engine, "mei", PASSWORD, "agent")
    add_staff(engine, "wong", PASSWORD, "supervisor")
    yield app, live_server(app)
    app.extensions["kaifong"].store.close()


def waiting(app, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        Phone(app.test_client(), number(i)).conversation("lost my id card", "person")


def sign_in(page: Page, url: str, username: str = "mei", lang: str = "en") -> None:
    page.goto(f"{url}/staff/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/staff/")


def test_fifteen_rows_and_more_fit_a_1440x900_screen(console, page, screenshot):
    app, url = console
    waiting(app, 20)
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, url)
    rows = page.locator("#queue table.queue tbody tr")
    expect(rows).to_have_count(20)
    visible = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#queue table.queue tbody tr')).filter(r => r.getBoundingClientRect().bottom <= 900)
        .length""")
    screenshot(page, "staff-queue-dense-en")
    layout = page.evaluate("""() => ['header.staff', '.queue-head', '.queue-tools',
        '#queue caption', '#queue thead', '#queue tbody tr'].map(s => s + ' ' +
        JSON.stringify(document.querySelector(s).getBoundingClientRect()))""")
    assert visible >= 15, f"{visible} rows fit on the screen: {layout}"


def test_an_agent_works_the_queue_by_keyboard_alone(console, page):
    app, url = console
    waiting(app, 3)
    sign_in(page, url)
    links = page.locator("#queue a.open")
    expect(links).to_have_count(3)
    page.keyboard.press("j")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(links.nth(2)).to_be_focused()
    expect(page.locator("#queue tr.selected")).to_have_count(1)
    page.keyboard.press("k")
    expect(links.nth(1)).to_be_focused()
    # someone new arrives: the table is replaced live, and the focus stays on the same row
    waiting(app, 1, start=3)
    expect(links).to_have_count(4, timeout=LIVE_MS)
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    store = app.extensions["kaifong"].store
    second = store.conversation_id("sms", number(1))
    page.wait_for_url(f"{url}/staff/conversations/{second}")

    page.keyboard.press("t")                                    # take it
    expect(page.locator("#reply-text")).to_be_visible()
    page.keyboard.press("r")
    expect(page.locator("#reply-text")).to_be_focused()
    page.keyboard.type("Do you have a police report?")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#transcript li.staff")).to_contain_text("Do you have a police report?")
    with app.extensions["kaifong"].store.engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.body).order_by(outbox.c.id.desc())).first()[0] \
            == "Do you have a police report?"

    page.keyboard.press("c")                                    # close, with an outcome
    expect(page.locator("#close-outcome")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#close-outcome")).to_have_value("referred")
    page.keyboard.press("Tab")
    page.keyboard.type("Sent to the police station")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/staff/")
    expect(page.locator("#queue a.open")).to_have_count(3)

    page.keyboard.press("/")                                    # search by the last digits
    expect(page.locator("#f-q")).to_be_focused()
    page.keyboard.type("0001")
    page.keyboard.press("Enter")
    rows = page.locator("#queue table.queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Closed: Referred to a department")

    # shortcuts can be turned off, and then a key is only a key
    page.goto(f"{url}/staff/")
    page.locator("details.shortcuts summary").click()
    page.locator("#shortcuts-toggle").click()
    expect(page.locator("#shortcuts-toggle")).to_have_attribute("aria-pressed", "false")
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator("#queue a.open").first).not_to_be_focused()


def test_a_new_arrival_shows_in_the_title_and_rings_when_asked(console, page):
    app, url = console
    waiting(app, 1)
    sign_in(page, url, "wong")
    expect(page).to_have_title("(1) Waiting for a person · Kaifong staff console")
    counts = page.locator("p.per-channel")
    expect(counts.locator("[data-channel=sms] strong")).to_have_text("1")
    waiting(app, 1, start=1)                                    # sound off: silent
    expect(page).to_have_title("(2) Waiting for a person · Kaifong staff console",
                               timeout=LIVE_MS)
    expect(counts.locator("[data-channel=sms] strong")).to_have_text("2")   # live, too
    assert page.evaluate("window.__kaifongBeeps || 0") == 0
    sound = page.locator("#sound-toggle")
    expect(sound).to_have_attribute("aria-pressed", "false")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    waiting(app, 1, start=2)
    expect(page).to_have_title("(3) Waiting for a person · Kaifong staff console",
                               timeout=LIVE_MS)
    page.wait_for_function("window.__kaifongBeeps === 1")
    page.reload()                                               # the choice is kept
    expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")


@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_the_new_pages_and_controls_are_accessible(console, page, screenshot, lang):
    app, url = console
    waiting(app, 2)
    sign_in(page, url, "wong", lang)

    def check(name: str) -> None:
        screenshot(page, f"staff-{name}-{lang}")
        assert_accessible(page, name)

    page.locator("details.order summary").first.click()
    page.locator("details.shortcuts summary").click()
    check("queue-open-details")
    page.goto(f"{url}/staff/?channel=sms&q=0001")
    expect(page.locator("#queue table.queue tbody tr")).to_have_count(1)
    check("queue-search")
    page.goto(f"{url}/staff/closed")
    check("closed-empty")
    cid = app.extensions["kaifong"].store.conversation_id("sms", number(0))
    page.goto(f"{url}/staff/conversations/{cid}")
    page.locator(f"form[action$='/conversations/{cid}/claim'] button").click()
    page.locator("#close-outcome").select_option("resolved")
    page.locator("form[action$='/close'] button[type=submit]").click()
    page.goto(f"{url}/staff/closed")
    expect(page.locator("main table tbody tr")).to_have_count(1)
    check("closed")
