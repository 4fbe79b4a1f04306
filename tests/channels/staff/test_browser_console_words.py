"""The console in words, in Chromium: Hong Kong time on every page (first render and live),
every console page in Chinese without an English word left (a check that fails on a seeded
untranslated label), and codes shown as words (kiosk touches as the buttons pressed, the
staff button as a press, hand-off reasons and yes/no answers as the catalogue's words).

Citizens reach the app through its real kiosk pages and SMS webhook (the app's test client),
while Chromium talks to the same app over real HTTP."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from assistant.staff import add_staff
from channels.staff.words import hong_kong
from tests.channels.kiosk.conftest import Kiosk, SilentEngine
from tests.channels.sms.conftest import TOKEN, Phone

from .conftest import PASSWORD, make_app

pytestmark = pytest.mark.browser

LIVE_MS = 10_000

#: Latin words a Chinese console page may hold: the staff's user names, and names that are
#: the same in both languages (SMS, the audio formats, Twilio's recording id)
ALLOWED = {"mei", "wong", "SMS", "MP3", "WAV", "SID", "Twilio"}

#: every Latin word in the page's visible text, the title and accessible names, except inside
#: an element whose language is not Chinese (the citizen's own words, the language switcher) or
#: marked translate="no" (identifiers: a kiosk's id, a masked number)
UNTRANSLATED_JS = """(allowed) => {
  const found = [];
  const chinese = (el) => {
    const tagged = el.closest('[lang]');
    if (el.closest('[translate="no"]')) { return false; }
    return !tagged || tagged.getAttribute('lang').startsWith('zh');
  };
  const words = (text, where) => {
    for (const w of (text.match(/[A-Za-z][A-Za-z']+/g) || [])) {
      if (!allowed.includes(w) && !/^KF\\d/.test(w)) { found.push(w + ' (' + where + ')'); }
    }
  };
  words(document.title, 'title');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || ['SCRIPT', 'STYLE'].includes(el.tagName) || !chinese(el)) { continue; }
    words(node.textContent, el.tagName.toLowerCase() + ': ' + node.textContent.trim().slice(0, 40));
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
    if (!chinese(el)) { continue; }
    for (const a of ['aria-label', 'title', 'placeholder']) {
      if (el.getAttribute(a)) { words(el.getAttribute(a), a); }
    }
  }
  return found.map((w) => w.replace(/KF\\d+/g, 'KF…'));
}"""


def untranslated(page: Page) -> list[str]:
    return page.evaluate(UNTRANSLATED_JS, sorted(ALLOWED))


@pytest.fixture
def console(tmp_path, monkeypatch, live_server):
    app = make_app(tmp_path, monkeypatch, TWILIO_AUTH_TOKEN=TOKEN, STAFF_STREAM_SECONDS=3,
                   SPEECH_ENGINE=SilentEngine(), KIOSK_IDS="demo", KIOSK_LOCALE="zh-HK")
    engine = app.extensions["kaifong"].store.engine
    add_staff(engine, "mei", PASSWORD, "agent")
    add_staff(engine, "wong", PASSWORD, "supervisor")
    yield app, live_server(app)
    app.extensions["kaifong"].store.close()


def sign_in(page: Page, url: str, username: str, lang: str) -> None:
    page.goto(f"{url}/staff/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{url}/staff/")


def kiosk_visitors(app) -> tuple[int, int, Kiosk]:
    """Two kiosk visitors in Chinese: one reports a danger now (urgent, with a yes answer);
    one starts replacing an identity card, goes on, and presses the staff button."""
    store = app.extensions["kaifong"].store
    danger = Kiosk(app.test_client())
    danger.start("choose:report_problem", lang="zh-HK")
    danger.touch("choose:yes")
    card = Kiosk(app.test_client())
    card.start("choose:hkid_replacement", lang="zh-HK")
    card.touch("choose:next")
    card.touch("person")
    with store.engine.connect() as conn:
        ids = list(conn.scalars(sa.text("select id from conversations order by id")))
    return ids[0], ids[1], card


def test_codes_are_words_and_times_hong_kong_time(console, page):
    app, url = console
    danger, card, visitor = kiosk_visitors(app)
    sign_in(page, url, "mei", "zh-HK")
    rows = page.locator("#queue table.queue tbody tr")
    expect(rows).to_have_count(2)
    urgent = rows.first
    expect(urgent).to_contain_text("緊急")
    expect(urgent).to_contain_text("現正有危險：請先聯絡對方")      # danger_now's reason_label
    cat = app.extensions["kaifong"].catalogue
    label = cat.gettext("zh-HK", cat.procedures["report_problem"].slot_labels()["danger"])
    expect(urgent).to_contain_text(f"{label}: {cat.gettext('zh-HK', 'Yes')}")
    queue_text = page.locator("#queue").inner_text()
    for code in ("danger now", "True", "min", "[", "report_problem"):
        assert code not in queue_text, code

    page.goto(f"{url}/staff/conversations/{card}")
    transcript = page.locator("#transcript")
    title = cat.gettext("zh-HK", cat.procedures["hkid_replacement"].title)
    expect(transcript).to_contain_text(f"按了：{title}")
    expect(transcript).to_contain_text("按了：" + cat.text("next", "zh-HK"))
    expect(transcript.locator("li.user").last).to_have_text(re.compile("按了職員按鈕"))
    text = transcript.inner_text()
    assert "[next]" not in text and "[hkid_replacement]" not in text and "真人" not in text

    # every time on the page is Hong Kong time: the text, and the machine-readable attribute
    lines = app.extensions["kaifong"].store.transcript(card, 0)
    shown = transcript.locator("time")
    expect(shown).to_have_count(len(lines))
    for i, line in enumerate(lines):
        local = hong_kong(line.at)
        expect(shown.nth(i)).to_have_text(local.strftime("%H:%M"))
        expect(shown.nth(i)).to_have_attribute("datetime", local.isoformat())
    assert all(hong_kong(x.at).hour != x.at.hour for x in lines)   # +8 h: never the same hour

    # a line arriving live is in Hong Kong time too
    page.locator(f"form[action$='/conversations/{card}/claim'] button").click()
    expect(page.locator("#reply-text")).to_be_visible()
    page.evaluate("window.__marker = 1")
    visitor.touch("text", text="我仲喺度")
    expect(transcript.locator("li.user").last).to_contain_text("我仲喺度", timeout=LIVE_MS)
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    last = app.extensions["kaifong"].store.transcript(card, 0)
    said = next(x for x in reversed(last) if x.text == "我仲喺度")
    expect(transcript.locator("li.user").last.locator("time")).to_have_text(
        hong_kong(said.at).strftime("%H:%M"))
    expect(transcript.locator("li.user").last.locator(".text")).to_have_attribute(
        "lang", "zh-Hant-HK")


def test_no_english_word_is_left_on_any_chinese_console_page(console, page):
    app, url = console
    danger, card, _ = kiosk_visitors(app)
    Phone(app.test_client()).conversation("補領身份證", "真人")
    sign_in(page, url, "wong", "zh-HK")
    expect(page.locator("#queue table.queue tbody tr")).to_have_count(3)
    pages = {"queue": "/staff/"}
    for cid in (danger, card):
        pages[f"conversation {cid}"] = f"/staff/conversations/{cid}"
    pages["voice messages"] = "/staff/voice-messages"
    pages["search"] = "/staff/?q=1234&channel=sms"
    pages["filtered, nothing"] = "/staff/?channel=voice&who=mine"
    pages["password"] = "/staff/password"
    pages["ready replies"] = "/staff/ready-replies"
    found = {}
    for name, path in pages.items():
        page.goto(url + path)
        found[name] = untranslated(page)
    # a claimed conversation (the reply, give-back and close forms) and the audit log
    page.goto(f"{url}/staff/conversations/{card}")
    page.locator(f"form[action$='/conversations/{card}/claim'] button").click()
    expect(page.locator("#reply-text")).to_be_visible()
    found["claimed"] = untranslated(page)
    # a note (any time), and another conversation assigned to a colleague: in the audit log
    page.locator("#note-text").fill("她的女兒會再打來")
    page.locator("form.note button[type=submit]").click()
    expect(page.locator("#transcript li.note")).to_contain_text("她的女兒會再打來")
    found["noted"] = untranslated(page)
    page.goto(f"{url}/staff/conversations/{danger}")
    page.locator("#assign-to").select_option("mei")
    page.locator("form.assign button[type=submit]").click()
    page.wait_for_url(f"{url}/staff/")
    page.goto(f"{url}/staff/conversations/{card}")
    page.locator("form[action$='/close'] button[type=submit]").click()
    page.wait_for_url(f"{url}/staff/")
    page.goto(f"{url}/staff/audit")
    expect(page.locator("main table tbody tr").first).to_be_visible()
    found["audit"] = untranslated(page)
    page.goto(f"{url}/staff/closed")
    expect(page.locator("main table tbody tr")).to_have_count(1)
    found["closed"] = untranslated(page)
    assert not any(found.values()), {k: v for k, v in found.items() if v}

    # the check finds a label left in English: drop one translation and look again
    zh = app.extensions["kaifong"].catalogue.translations["zh-HK"]
    saved = zh._catalog.pop("Procedure")
    try:
        page.goto(url + "/staff/")
        assert any(w.startswith("Procedure ") for w in untranslated(page)), untranslated(page)
    finally:
        zh._catalog["Procedure"] = saved
