"""Phone fixtures: the app with a test auth token, a temporary database and audio cache, a fake
speech engine (fast; the real one is used in the audio tests and one whole call), an injected
clock, and ``Call``: a caller whose every request carries exactly the fields Twilio posts,
signed with the twilio library's ``RequestValidator``, following the TwiML's action URLs."""

from __future__ import annotations

import os
import wave
from datetime import UTC, datetime

import pytest

from channels import create_app
from channels.speech import SynthesisFailed
from channels.voice.devtools import TwilioCall
from tests.conftest import Clock

TOKEN = "test-voice-token-0123456789abcdef"
BASE = "http://localhost"
NUMBER = "+85291234567"
STAFF = "+85221234567"
#: a Wednesday, 10:00 in Hong Kong: the office is open
OPEN = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
#: the same Wednesday, 20:00 in Hong Kong: closed until Thursday 09:00
CLOSED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class FakeEngine:
    """Writes a short, valid WAV at the asked rate; counts what it was asked; fails on demand
    for texts containing ``fail_on``."""

    def __init__(self):
        self.calls: list[tuple[str, str, int, int]] = []
        self.fail_on: str | None = None

    def synthesise(self, text, voice, rate, sample_rate, path):
        self.calls.append((text, voice, rate, sample_rate))
        if self.fail_on is not None and self.fail_on in text:
            raise SynthesisFailed("the fake engine was told to fail")
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(b"\0\0" * (sample_rate // 50))


def make_app(tmp_path, monkeypatch, **config):
    for name in list(os.environ):
        if name.startswith(("KAIFONG_", "TWILIO_")):
            monkeypatch.delenv(name, raising=False)
    settings = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'voice.db'}",
                "SEED_SLOTS_DAYS": 3, "TESTING": True, "TWILIO_AUTH_TOKEN": TOKEN,
                "SPEECH_ENGINE": FakeEngine(), "VOICE_CLOCK": Clock(OPEN),
                "STAFF_NUMBER": STAFF}
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    yield app
    app.extensions["kaifong"].store.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def engine(app):
    return app.config["SPEECH_ENGINE"]


@pytest.fixture
def clock(app):
    return app.config["VOICE_CLOCK"]


def client_post(client):
    def post(url, form, signature):
        path = url.removeprefix(BASE)
        response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        return response.status_code, response.get_data(as_text=True)
    return post


class Call(TwilioCall):
    """A caller on the test client: ``call.start()``, ``call.press("1")`` ..."""

    def __init__(self, client, caller: str = NUMBER, **kwargs):
        super().__init__(BASE, TOKEN, caller, post=client_post(client), **kwargs)


@pytest.fixture
def call(client):
    return Call(client)


def state(app, number: str = NUMBER) -> dict:
    return app.extensions["kaifong"].store.state("voice", number) or {}


def kept(app, number: str = NUMBER) -> dict:
    """The call's channel data (what the phone keeps between requests)."""
    import sqlalchemy as sa

    from assistant.store import channel_state
    store = app.extensions["kaifong"].store
    cid = store.conversation_id("voice", number)
    with store.engine.connect() as conn:
        data = conn.scalar(sa.select(channel_state.c.data).where(
            channel_state.c.conversation_id == cid))
    return data or {}


def texts_of(app, heard) -> list[str]:
    """What the caller hears, as text: each ``<Play>``'s clip text (from the speech cache's
    content address), each ``<Say>`` as it is."""
    from channels.speech import speech_for
    speech = speech_for(app)
    by_id = _clip_index(app)
    out = []
    for sound in heard.sounds:
        if sound[0] == "say":
            out.append(sound[1])
            continue
        clip_id = sound[1].rsplit("/", 1)[1][:-len(".wav")]
        if "/audio/once/" in sound[1]:        # the caller's own words, made for this call
            assert speech.once_path(clip_id).exists(), "a <Play> of a clip that was not made"
            out.append("<their own words>")
            continue
        assert speech.path(clip_id).exists(), "a <Play> of a clip that is not in the cache"
        out.append(by_id.get(clip_id, f"<{clip_id}>"))
    return out


def _clip_index(app) -> dict[str, str]:
    """clip id -> text, for every clip the fake engine synthesised (it records the texts)."""
    from channels.speech import Clip
    engine = app.config["SPEECH_ENGINE"]
    speech = app.extensions["kaifong_speech"]
    index = {}
    for text, voice, rate, sample_rate in engine.calls:
        locale = next((loc for loc, v in speech.voices.items() if v == voice), "en")
        index[Clip(text, locale, voice, rate, sample_rate).id] = text
    return index


def heard_text(app, heard) -> str:
    """The whole of what the caller hears, one piece after another (a spelled value is one
    character per piece: "K F 0 0 ...")."""
    return " ".join(texts_of(app, heard))
