"""The browser test tools themselves: axe-core really runs and its failures read well, and small
targets are found. (A check that cannot fail would pass every page.)"""

from __future__ import annotations

import flask
import pytest

from tests.browser import assert_no_axe_violations, run_axe, small_targets

BAD_PAGE = """<!doctype html><html><head><title>bad</title></head><body><main>
<p style="color:#666;background:#fff">grey text, 5.7:1 but not 7:1</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="60" height="60" id="no-alt">
<a href="#" style="font-size:12px">tiny</a>
</main></body></html>"""


@pytest.fixture
def bad_page(live_server, page):
    app = flask.Flask("bad")
    # as strict a policy as the staff console's: axe must get in all the same
    app.add_url_rule("/", "bad", lambda: (BAD_PAGE, 200, {
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' "
                                   "'unsafe-inline'; img-src 'self' data:"}))
    page.goto(live_server(app) + "/")
    return page


def test_axe_finds_violations_at_aaa_and_names_them(bad_page):
    found = {violation["id"] for violation in run_axe(bad_page)}
    assert {"image-alt", "color-contrast-enhanced"} <= found
    with pytest.raises(AssertionError) as failure:
        assert_no_axe_violations(bad_page)
    message = str(failure.value)
    assert "image-alt (critical)" in message
    assert '["#no-alt"]' in message


def test_small_targets_are_listed_with_their_size(bad_page):
    (small,) = small_targets(bad_page)
    assert small.endswith('<a href="#" style="font-size:12px">tiny</a>')
