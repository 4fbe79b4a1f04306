"""Kiosk fixtures: the app on a temporary SQLite database with a clock the tests move, a speech
engine that writes a short silent WAV (the real one is tested in test_browser_kiosk and
test_readaloud), and ``Kiosk``, a visitor who reads the screen and touches its buttons through
Flask's test client, by their words, as a person would."""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from channels import create_app
from tests.assistant.conftest import postgres_admin  # noqa: F401  (PostgreSQL, when it answers)
from tests.conftest import Clock

START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)      # 10:00 in Hong Kong


class SilentEngine:
    """Writes a WAV of silence: the pages' tests need clips to exist, not to be heard."""

    def __init__(self):
        self.spoken: list[tuple[str, str]] = []

    def synthesise(self, text, voice, rate, sample_rate, path):
        self.spoken.append((text, voice))
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(b"\0\0" * 64)


def make_app(tmp_path, monkeypatch, **config):
    for name in ("KAIFONG_PUBLIC_URL", "KAIFONG_DATABASE_URL", "KAIFONG_KIOSK_IDS",
                 "KAIFONG_KIOSK_IDLE_SECONDS", "KAIFONG_KIOSK_WARNING_SECONDS",
                 "KAIFONG_KIOSK_LOCALE", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'kiosk.db'}",
                "SEED_SLOTS_DAYS": 14, "TESTING": True, "SPEECH_ENGINE": SilentEngine(),
                "KIOSK_IDS": "demo,ssp-2", "KIOSK_LOCALE": "en"}
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def app(tmp_path, monkeypatch, clock):
    app = make_app(tmp_path, monkeypatch, KIOSK_CLOCK=clock)
    yield app
    app.extensions["kaifong"].store.close()


@pytest.fixture
def client(app):
    return app.test_client()


# -- reading a screen ---------------------------------------------------------------------------

@dataclass
class Page:
    html: str
    heading: str = ""
    buttons: list[tuple[str, str]] = field(default_factory=list)   # (do, words)
    text: str = ""

    def button(self, words: str) -> str:
        """The ``do`` of the one button whose words contain ``words``."""
        found = [do for do, label in self.buttons if words in label]
        assert len(found) == 1, f"{len(found)} buttons say {words!r}: {self.buttons}"
        return found[0]

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(do, label) for do, label in self.buttons if do.startswith("choose:")]


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.page = Page("")
        self.stack: list[str] = []
        self.button: tuple[str, list[str]] | None = None
        self.in_main = self.in_h1 = False
        self.words: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "main":
            self.in_main = True
        if tag == "h1":
            self.in_h1 = True
        if tag == "button" and attrs.get("name") == "do":
            self.button = (attrs.get("value", ""), [])

    def handle_endtag(self, tag):
        if tag == "h1":
            self.in_h1 = False
        if tag == "button" and self.button is not None:
            do, words = self.button
            self.page.buttons.append((do, " ".join("".join(words).split())))
            self.button = None
        if tag == "main":
            self.in_main = False

    def handle_data(self, data):
        if self.in_h1:
            self.page.heading += data.strip()
        if self.button is not None:
            self.button[1].append(data)
        if self.in_main:
            self.words.append(data)


def read(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    page = reader.page
    page.html = html
    page.text = " ".join(" ".join(reader.words).split())
    return page


class Kiosk:
    """One visitor at kiosk ``kiosk_id``: ``start(do)``, then ``touch(do)`` or ``tap(words)``."""

    def __init__(self, client, kiosk_id: str = "demo"):
        self.client = client
        self.base = f"/kiosk/{kiosk_id}/"

    def screen(self) -> Page:
        response = self.client.get(self.base)
        assert response.status_code == 200
        return read(response.get_data(as_text=True))

    def start(self, do: str, lang: str = "en") -> Page:
        response = self.client.post(self.base + "start", data={"do": do, "lang": lang})
        assert response.status_code == 303
        return self.screen()

    def touch(self, do: str, **form) -> Page:
        response = self.client.post(self.base + "touch", data={"do": do, **form})
        assert response.status_code == 303, response.status_code
        assert response.headers["Location"] == self.base
        return self.screen()

    def tap(self, words: str) -> Page:
        return self.touch(self.screen().button(words))

    def keys(self, value: str) -> Page:
        page = None
        for key in value:
            page = self.touch(f"key:{key}")
        return page

    def cookie(self):
        return self.client.get_cookie("kaifong_kiosk", path=self.base)


@pytest.fixture
def kiosk(client):
    return Kiosk(client)


def words(page: Page) -> str:
    return re.sub(r"\s+", " ", page.text)
