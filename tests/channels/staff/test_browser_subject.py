"""Personal data requests in a real Chromium: a supervisor finds what is held for a phone
number, opens the readable export in the other language, downloads the JSON and erases it;
every page passes axe-core with 44x44 targets, in English and Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import assert_accessible

from .test_browser_console import console, sign_in  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

NUMBER = "+85291234567"


@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_a_supervisor_finds_exports_and_erases_a_persons_data(console, page, screenshot,  # noqa: F811
                                                              lang):
    html_lang = "en" if lang == "en" else "zh-Hant-HK"
    other, other_lang = ("zh-HK", "zh-Hant-HK") if lang == "en" else ("en", "en")

    def check(name: str, expected_lang: str = html_lang) -> None:
        expect(page.locator("html")).to_have_attribute("lang", expected_lang)
        screenshot(page, f"staff-subject-{name}-{lang}")
        assert_accessible(page, name)

    console.phone(NUMBER).conversation("lost my id card", "person")
    sign_in(page, console, "wong", lang)
    page.locator("header nav a[href$='/staff/subject']").click()
    check("search")

    page.locator("#value").fill("9123 4567")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("#found")).to_be_visible()
    expect(page.locator("main table tbody tr")).to_have_count(1)
    assert NUMBER not in page.locator("main table").inner_text()       # masked here
    check("found")

    # the JSON download, unmasked
    with page.expect_download() as download:
        page.locator("form[action$='/subject/export'] button").nth(2).click()
    doc = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert doc["conversations"][0]["address"] == NUMBER

    # the readable page in the other language
    index = 1 if other == "zh-HK" else 0
    page.locator("form[action$='/subject/export'] button").nth(index).click()
    expect(page.locator("h1")).to_have_text(
        "街坊為你保存嘅資料" if other == "zh-HK" else "What Kaifong holds about you")
    assert NUMBER in page.locator("main").inner_text()
    check("export", other_lang)

    # (the pages are no-store: the browser's Back would ask the server again, so search again)
    page.goto(f"{console.url}/staff/subject")
    page.locator("#value").fill("9123 4567")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("#found")).to_be_visible()
    page.locator("input[name=confirm]").check()
    page.locator("form[action$='/subject/erase'] button").click()
    expect(page.locator("div.notice[role=status]")).to_be_visible()
    check("erased")
    actions = [e.action for e in console.app.extensions["kaifong_desk"].audit_log(limit=4)]
    assert actions == ["erased", "looked_up", "exported", "exported"]
