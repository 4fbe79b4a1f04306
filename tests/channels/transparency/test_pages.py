"""The public transparency records: every procedure has one, in both languages, from its YAML
(owner, purpose, retention, what it collects) and the live figures with small counts hidden;
no sign-in, no cookie, nothing personal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from assistant import Text
from assistant.transparency import procedure_figures, shown
from channels import create_app


@pytest.fixture
def app(tmp_path, monkeypatch):
    for name in ("KAIFONG_DATABASE_URL", "KAIFONG_RETENTION_DAYS", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
                      "SEED_SLOTS_DAYS": 0, "TESTING": True, "RETENTION_DAYS": "60"})
    yield app
    app.extensions["kaifong"].store.close()


@pytest.fixture
def client(app):
    return app.test_client()


def text_of(html: str) -> str:
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


def test_small_counts_are_hidden():
    assert [shown(n) for n in (0, 1, 4, 5, 12345)] == ["<5", "<5", "<5", "5", "12,345"]


def test_the_index_lists_every_procedure_in_either_language(client, app):
    catalogue = app.extensions["kaifong"].catalogue
    en = client.get("/transparency/?lang=en")
    assert en.status_code == 200 and '<html lang="en">' in en.get_data(as_text=True)
    html = en.get_data(as_text=True)
    for pid, proc in catalogue.procedures.items():
        assert f'href="/transparency/{pid}?lang=en"' in html and proc.title in html
    zh = client.get("/transparency/", headers={"Accept-Language": "zh-HK,zh;q=0.9"})
    html = zh.get_data(as_text=True)
    assert '<html lang="zh-Hant-HK">' in html
    assert catalogue.gettext("zh-HK", catalogue.procedures["hkid_replacement"].title) in html
    assert "透明度紀錄" in html


def test_a_record_says_what_why_how_to_reach_a_person_what_is_kept_and_who(client):
    page = client.get("/transparency/hkid_replacement?lang=en")
    assert page.status_code == 200
    words = text_of(page.get_data(as_text=True))
    assert "Replace an identity card: transparency record" in words
    assert "To help people replace a lost, stolen or damaged identity card" in words  # purpose
    assert "Immigration Department is accountable for this procedure." in words       # owner
    assert "reply 0 or PERSON" in words and "2835 1473" in words                     # a person
    assert ("It asks for your identity card number and your phone number, to book your "
            "appointment, and send you a reminder.") in words
    assert "are kept for 60 days, then deleted" in words         # KAIFONG_RETENTION_DAYS
    zh = text_of(client.get("/transparency/hkid_replacement?lang=zh-HK").get_data(as_text=True))
    assert "入境事務處負責呢個程序" in zh and "保存 60 日" in zh and "你嘅身份證號碼同電話號碼" in zh
    info = text_of(client.get("/transparency/old_age_allowance?lang=en").get_data(as_text=True))
    assert "It asks for no personal data." in info
    assert client.get("/transparency/no_such_thing").status_code == 404


def test_figures_are_live_and_small_ones_hidden(client, app):
    assistant = app.extensions["kaifong"]
    for n in range(6):
        assistant.turn("sms", f"+8529000000{n}", Text("lost my id card"), "en", "text")
    for n in range(2):
        assistant.turn("sms", f"+8529000000{n}", Text("person"), "en", "text")
    now = datetime.now(UTC)
    assert procedure_figures(assistant.store, now - timedelta(days=30), now + timedelta(
        seconds=1))["hkid_replacement"] == {"started": 6, "finished": 0, "handed_to_person": 2}
    words = text_of(client.get("/transparency/hkid_replacement?lang=en").get_data(as_text=True))
    assert "Started this procedure 6" in words
    assert "Finished it <5" in words and "Handed to a person <5" in words
    other = text_of(client.get("/transparency/report_problem?lang=en").get_data(as_text=True))
    assert "Started this procedure <5" in other


def test_the_pages_are_public_and_keep_nothing(client):
    for path in ("/transparency/", "/transparency/report_problem"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "<script" not in response.get_data(as_text=True)
