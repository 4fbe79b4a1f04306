"""The staff sign-in page in a real Chromium: accessible (axe-core, WCAG 2.2 up to AAA, zero
violations) in English and Chinese, targets big enough to hit, and signing in works end to end
with the real session cookie."""

from __future__ import annotations

import re

import pytest

from assistant.staff import add_staff
from tests.browser import assert_accessible

from .conftest import PASSWORD, make_app

pytestmark = pytest.mark.browser


@pytest.fixture
def console(tmp_path, monkeypatch, live_server):
    """The whole app over real HTTP, with a supervisor, on the real clock. KAIFONG_PUBLIC_URL is
    unset, so the session cookie is Secure as in production; Chromium keeps it on
    http://127.0.0.1 (see ``live_server`` in tests/browser.py)."""
    app = make_app(tmp_path, monkeypatch)
    add_staff(app.extensions["kaifong"].store.engine, "wong", PASSWORD, "supervisor")
    yield live_server(app)
    app.extensions["kaifong"].store.close()


@pytest.mark.parametrize("lang, heading", [("en", "Sign in to the staff console"),
                                           ("zh-HK", None)])
def test_login_page_is_accessible(console, page, screenshot, lang, heading):
    page.goto(f"{console}/staff/login?lang={lang}")
    expected_lang = "en" if lang == "en" else "zh-Hant-HK"
    assert page.locator("html").get_attribute("lang") == expected_lang
    if heading:
        assert page.locator("h1").inner_text() == heading
    else:                                 # translated: not the English words
        assert "Sign in" not in page.locator("h1").inner_text()
    screenshot(page, f"staff-login-{lang}")
    assert_accessible(page)


def test_sign_in_in_the_browser(console, page, screenshot):
    page.goto(f"{console}/staff/login")
    page.get_by_label("User name").fill("wong")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # wherever signing in lands (the console's first page), it is not the sign-in page and it
    # says who is signed in
    page.wait_for_url(re.compile(r"/staff/(?!login)"))
    assert "wong" in page.locator("body").inner_text()
    cookies = page.context.cookies()
    assert any(cookie["secure"] and cookie["httpOnly"] for cookie in cookies), cookies
    screenshot(page, "staff-signed-in-en")
