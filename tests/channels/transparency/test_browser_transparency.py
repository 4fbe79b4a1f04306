"""The transparency records in a real Chromium: every record and the index pass axe-core
(WCAG 2.2 up to AAA: 7:1 contrast) with 44x44 targets, in English and Chinese; the text is
large (at least 20 CSS px) and the page reflows at 200% zoom (640 CSS px wide) without sideways
scrolling; no sign-in is asked for."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from channels import create_app
from tests.browser import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def site(tmp_path, monkeypatch, live_server):
    for name in ("KAIFONG_DATABASE_URL", "KAIFONG_RETENTION_DAYS", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
                      "SEED_SLOTS_DAYS": 0, "TESTING": True})
    yield app, live_server(app)
    app.extensions["kaifong"].store.close()


@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_every_transparency_record_is_accessible(site, page, screenshot, lang):
    app, url = site
    html_lang = "en" if lang == "en" else "zh-Hant-HK"

    def check(name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", html_lang)
        assert_accessible(page, name)
        smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
            'main p, main li, main td, main th, main h1, main h2, main a, main caption')]
            .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
        assert smallest >= 20, f"{name}: text of {smallest} px"

    page.goto(f"{url}/transparency/?lang={lang}")
    check("index")
    screenshot(page, f"transparency-index-{lang}")
    links = page.locator("ul.records a")
    expect(links).to_have_count(len(app.extensions["kaifong"].catalogue.procedures))
    for pid in sorted(app.extensions["kaifong"].catalogue.procedures):
        page.goto(f"{url}/transparency/{pid}?lang={lang}")
        expect(page.locator("h2")).to_have_count(6)
        check(pid)
    screenshot(page, f"transparency-record-{lang}")
    # 200% zoom on a 1280 px screen: 640 CSS px, one column, nothing to scroll sideways
    page.set_viewport_size({"width": 640, "height": 900})
    page.goto(f"{url}/transparency/hkid_replacement?lang={lang}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
