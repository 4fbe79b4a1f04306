"""The console's working pages in a real Chromium, with citizens texting the real SMS webhook:
an agent sees a conversation arrive in the queue without reloading, takes it, replies (the
reply is queued as an SMS), sees the citizen's answer arrive live and hands back; a citizen's
markup stays text, on first render and live; and every page passes axe-core (WCAG 2.2 up to
AAA) with targets of 44x44 CSS px, in English and Chinese.

The citizen texts through the app's test client while the browser talks to the same app over
real HTTP: one process, one database, so the console's live updates wake at once. Waits are
Playwright's (``expect``, up to 10 s), never sleeps. ``window.__marker`` is set before each live
wait and read after it: a page that reloaded would have lost it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from assistant.outbox import outbox
from assistant.staff import add_staff
from tests.browser import assert_accessible
from tests.channels.sms.conftest import NUMBER, TOKEN, Phone

from .conftest import PASSWORD, make_app

pytestmark = pytest.mark.browser

LIVE_MS = 10_000
#: a citizen's "location", as markup that would run if it were ever put in place as HTML
IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"
EVIL = f"{IMG} {SCRIPT}"


@dataclass
class Console:
    app: object
    url: str

    def phone(self, number: str = NUMBER) -> Phone:
        return Phone(self.app.test_client(), number)

    def conversation_id(self, number: str = NUMBER) -> int:
        return self.app.extensions["kaifong"].store.conversation_id("sms", number)

    def outbox(self) -> list[tuple[str, str, str]]:
        with self.app.extensions["kaifong"].store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(outbox.c.kind, outbox.c.address, outbox.c.body)
                .order_by(outbox.c.id))]


@pytest.fixture
def console(tmp_path, monkeypatch, live_server):
    """The whole app (with /sms) over real HTTP, an agent and a supervisor. Streams end after
    a few seconds (the page reconnects by itself), so none outlives its test for long."""
    app = make_app(tmp_path, monkeypatch, TWILIO_AUTH_TOKEN=TOKEN, STAFF_STREAM_SECONDS=3)
    engine = app.extensions["kaifong"].store.engine
    add_staff(engine, "mei", PASSWORD, "agent")
    add_staff(engine, "wong", PASSWORD, "supervisor")
    yield Console(app, live_server(app))
    app.extensions["kaifong"].store.close()


def sign_in(page: Page, console: Console, username: str = "mei", lang: str = "en") -> None:
    """Sign in with the language chosen on the sign-in page (kept through signing in). Not
    switched on a console page: a request the previous page still has in flight may answer
    with its own copy of the session cookie, without the language (cookie sessions are last
    writer wins, and the live updates refresh the cookie too)."""
    page.goto(f"{console.url}/staff/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{console.url}/staff/")


def mark(page: Page) -> None:
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"


def assert_inert(page: Page, where: str) -> None:
    """The citizen's markup is on the page as text, and made no element and ran nothing."""
    region = page.locator(where)
    expect(region).to_contain_text(IMG)
    expect(region).to_contain_text(SCRIPT)
    # the console's own scripts (console.js, and keys.js and queue.js for the shortcuts and the
    # queue's title and sound) are the only ones a page holds
    own = "".join(f":not([src$='/static/{name}'])" for name in ("console.js", "keys.js",
                                                                "queue.js"))
    assert region.locator(f"img, script{own}").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def report_with_markup(phone: Phone) -> None:
    """Report a problem whose place is markup (a free-text slot, so the queue shows it too),
    then ask for a person."""
    phone.conversation("report a problem", "2", "noise", EVIL)
    assert phone.say("person").startswith("I am passing you to a member of staff.")


# -- 1. the whole loop -------------------------------------------------------------------------

def test_an_agent_sees_a_new_conversation_live_takes_it_replies_and_hands_back(console, page,
                                                                               screenshot):
    sign_in(page, console)
    queue = page.locator("#queue")
    expect(queue).to_contain_text("No one is waiting.")
    mark(page)

    phone = console.phone()
    phone.conversation("lost my id card", "person")
    rows = queue.locator("table.queue tbody tr")
    expect(rows).to_have_count(1, timeout=LIVE_MS)
    expect(rows).to_contain_text("Asked for a person")
    expect(rows).to_contain_text("Replace an identity card")
    assert_not_reloaded(page)
    screenshot(page, "staff-queue-live-row-en")

    cid = console.conversation_id()
    rows.get_by_role("link", name=re.compile(r"^Open")).click()
    page.wait_for_url(f"{console.url}/staff/conversations/{cid}")
    page.get_by_role("button", name="Take this conversation").click()
    page.get_by_label("Your message to the citizen").fill("Did you report the loss to the police?")
    page.get_by_role("button", name="Send", exact=True).click()
    transcript = page.locator("#transcript")
    expect(transcript.locator("li.staff")).to_contain_text("Did you report the loss to the police?")
    assert [(kind, to) for kind, to, _ in console.outbox()] == [("staff_joined", NUMBER),
                                                                ("staff_reply", NUMBER)]
    assert console.outbox()[-1][2] == "Did you report the loss to the police?"

    mark(page)
    assert phone.say("thank you") == ""                  # for the member of staff, not the bot
    expect(transcript.locator("li.user").last).to_contain_text("thank you", timeout=LIVE_MS)
    assert_not_reloaded(page)
    screenshot(page, "staff-conversation-live-line-en")

    page.get_by_label("Where the assistant goes on").select_option(
        label="Carry on where they were")
    page.get_by_role("button", name="Give back").click()
    page.wait_for_url(f"{console.url}/staff/")
    expect(page.locator("#queue")).to_contain_text("No one is waiting.")
    assert [kind for kind, _, _ in console.outbox()] == ["staff_joined", "staff_reply",
                                                         "hand_back"]


def test_with_no_live_update_budget_the_pages_poll_and_stay_current(tmp_path, monkeypatch,
                                                                     live_server, page):
    """``KAIFONG_LONG_POLLS=0``: every stream is refused at once with "busy" (as when the budget
    is taken): the queue and the transcript still follow, by polling with back-off."""
    app = make_app(tmp_path, monkeypatch, TWILIO_AUTH_TOKEN=TOKEN, LONG_POLLS=0)
    add_staff(app.extensions["kaifong"].store.engine, "mei", PASSWORD, "agent")
    try:
        console = Console(app, live_server(app))
        sign_in(page, console)
        mark(page)
        phone = console.phone()
        phone.conversation("lost my id card", "person")
        rows = page.locator("#queue table.queue tbody tr")
        expect(rows).to_have_count(1, timeout=3 * LIVE_MS)
        assert_not_reloaded(page)
        cid = console.conversation_id()
        page.goto(f"{console.url}/staff/conversations/{cid}")
        mark(page)
        phone.say("are you there")
        expect(page.locator("#transcript li.user").last).to_contain_text(
            "are you there", timeout=3 * LIVE_MS)
        assert_not_reloaded(page)
        assert app.extensions["kaifong_long_polls"].refused >= 2
    finally:
        app.extensions["kaifong"].store.close()


# -- 2. a citizen's markup stays text ----------------------------------------------------------

def test_a_citizens_markup_is_text_on_first_render(console, page):
    report_with_markup(console.phone())
    sign_in(page, console)
    assert_inert(page, "#queue")
    page.get_by_role("link", name=re.compile(r"^Open")).click()
    assert_inert(page, "#transcript")
    assert_inert(page, "main")                           # the summary of what they gave, too


def test_a_citizens_markup_is_text_when_it_arrives_live(console, page):
    sign_in(page, console)
    expect(page.locator("#queue")).to_contain_text("No one is waiting.")
    mark(page)
    phone = console.phone()
    report_with_markup(phone)
    expect(page.locator("#queue table.queue tbody tr")).to_have_count(1, timeout=LIVE_MS)
    assert_inert(page, "#queue")
    assert_not_reloaded(page)

    page.goto(f"{console.url}/staff/conversations/{console.conversation_id()}")
    page.get_by_role("button", name="Take this conversation").click()
    mark(page)
    phone.say(f"again: {EVIL}")
    expect(page.locator("#transcript li.user").last).to_contain_text("again:", timeout=LIVE_MS)
    assert_inert(page, "#transcript li.user >> nth=-1")
    assert_not_reloaded(page)


# -- 3. accessible, in both languages ----------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_every_console_page_is_accessible(console, page, screenshot, lang):
    """Signed in as a supervisor, who sees everything an agent sees and the audit log too."""
    checked = []

    def check(name: str) -> None:
        expect(page.locator("html")).to_have_attribute(
            "lang", "en" if lang == "en" else "zh-Hant-HK")
        screenshot(page, f"staff-{name}-{lang}")
        assert_accessible(page, name)
        checked.append(name)

    sign_in(page, console, "wong", lang)
    expect(page.locator("#queue p.notice")).to_be_visible()
    check("queue-empty")

    console.phone().conversation("lost my id card", "person")
    expect(page.locator("#queue table.queue tbody tr")).to_have_count(1, timeout=LIVE_MS)
    check("queue-waiting")

    cid = console.conversation_id()
    page.goto(f"{console.url}/staff/conversations/{cid}")
    check("conversation-waiting")

    page.locator(f"form[action$='/conversations/{cid}/claim'] button").click()
    expect(page.locator("#reply-text")).to_be_visible()
    check("conversation-claimed")

    page.goto(f"{console.url}/staff/password")
    check("password")

    page.goto(f"{console.url}/staff/audit")
    expect(page.locator("main table tbody tr").first).to_be_visible()
    check("audit")

    assert len(checked) == 6
