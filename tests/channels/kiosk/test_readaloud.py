"""Read-aloud: what each screen says, that personal values are only ever spelled, that every
prompt of every procedure is a static clip in both languages, and (with the real espeak-ng) that
the audio a screen's button plays is a valid WAV in the right language's voice."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import pytest

from channels.kiosk.readaloud import screen_clips, spoken_clips, static_clips
from channels.kiosk.screens import Screen
from channels.speech import Speech

from .conftest import Kiosk, SilentEngine, make_app


@pytest.fixture
def speech(tmp_path):
    return Speech(tmp_path / "audio", engine=SilentEngine())


def test_a_personal_value_is_spelled_and_never_a_clip_whole(speech):
    clips = spoken_clips(speech, "You gave: A123456(3). Is that right?", "en", ["A123456(3)"])
    texts = [c.text for c in clips]
    assert texts[0] == "You gave:" and texts[-1].endswith("Is that right?")
    assert texts[1:-1] == list("A1234563")
    assert not any("123456" in t for t in texts)


def test_personal_words_on_a_screen_are_read_from_a_clip_for_this_visitor_only(speech):
    screen = Screen("end", "en", "You have finished",
                    notes=("Where: outside block 3, near the wet market",),
                    private=("outside block 3, near the wet market",))
    clips = screen_clips(speech, screen)
    words = [c for c in clips if "wet market" in c.text]
    assert len(words) == 1 and words[0].once                  # not addressed by the words
    assert words[0].url.startswith("/audio/once/")


def test_a_screen_says_its_words_in_order_and_spells_the_entry(speech):
    screen = Screen("phone", "en", "What phone number can we use for a reminder?",
                    notes=("Sorry, I did not understand.",))
    clips = screen_clips(speech, screen, spell_extra=["9123 4567"])
    texts = [c.text for c in clips]
    assert texts[:2] == ["Sorry, I did not understand.",
                         "What phone number can we use for a reminder?"]
    assert texts[2:] == list("91234567")
    assert all(c.sample_rate == 22050 for c in clips)


def test_every_prompt_of_every_procedure_is_a_static_clip_in_both_languages(speech, catalogue):
    clips = list(static_clips(catalogue, speech))
    by_locale = {loc: {c.text for c in clips if c.locale == loc} for loc in catalogue.locales}
    for proc in catalogue.procedures.values():
        for step in proc.steps.values():
            if step.ask and "{" not in step.ask:
                for locale in catalogue.locales:
                    said = speech.say(catalogue.gettext(locale, step.ask, "screen"), locale)
                    assert {c.text for c in said} <= by_locale[locale], (locale, step.ask)
    assert "Read this screen aloud" in by_locale["en"]
    # the screen's own variant of a shared prompt, as the kiosk shows it (issue 11)
    offer = catalogue.text("miss_offer_person", "en", "screen")
    assert {c.text for c in speech.say(offer, "en")} <= by_locale["en"]
    assert "press the staff button" in offer
    assert {"A", "K", "F", "0", "9"} <= by_locale["zh-HK"]          # what spelled values use
    assert "讀出呢個畫面" in by_locale["zh-HK"]
    # facts are filled in as the engine fills them
    assert any("$370" in text for text in by_locale["en"])
    assert not any("{" in text for texts in by_locale.values() for text in texts)
    assert {c.voice for c in clips if c.locale == "zh-HK"} == {"sit/yue+Annie"}


def test_the_app_registers_the_kiosk_static_source(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    speech = app.extensions["kaifong_speech"]
    assert static_clips in speech.static_sources
    app.extensions["kaifong"].store.close()


def test_every_screen_offers_its_clips_and_they_are_served(client, app):
    kiosk = Kiosk(client)
    page = kiosk.start("choose:hkid_replacement", "zh-HK")
    urls = re.search(r'data-clips="([^"]+)"', page.html).group(1).split()
    assert urls and all(re.fullmatch(r"/audio/[0-9a-f]{32}\.wav", u) for u in urls)
    with client.get(urls[0]) as response:
        assert response.status_code == 200 and response.mimetype == "audio/wav"


def _duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def _espeak(text: str, voice: str, rate: int, path: Path) -> float:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text],
                   check=True, capture_output=True, timeout=60)
    return _duration(path)


@pytest.mark.slow
@pytest.mark.parametrize("locale, right, wrong", [("zh-HK", "yue", "en"), ("en", "en", "yue")])
def test_the_audio_is_a_wav_in_the_voice_of_the_screen_language(tmp_path, monkeypatch, locale,
                                                                 right, wrong):
    app = make_app(tmp_path, monkeypatch, SPEECH_ENGINE=None)      # the real pyttsx3/espeak-ng
    try:
        client = app.test_client()
        page = Kiosk(client).start("choose:hkid_replacement", locale)
        urls = re.search(r'data-clips="([^"]+)"', page.html).group(1).split()
        speech = app.extensions["kaifong_speech"]
        # the screen's heading: long enough for the voices to differ clearly
        clip = next(c for c in (speech.noted(u[7:-4]) for u in urls) if c and len(c.text) > 10)
        ours = tmp_path / "ours.wav"
        with client.get(clip.url) as response:
            assert response.status_code == 200
            ours.write_bytes(response.get_data())
        with wave.open(str(ours), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        duration = _duration(ours)
        same = _espeak(clip.text, right, clip.rate, tmp_path / "right.wav")
        other = _espeak(clip.text, wrong, clip.rate, tmp_path / "wrong.wav")
        # as long as the right voice says it (within 5%), and much nearer it than the other
        assert abs(duration - same) < 0.05 * same, (duration, same, other)
        assert abs(duration - same) * 4 < abs(duration - other), (duration, same, other)
    finally:
        # the page asked for its other clips in the background: let that finish, or the
        # engine would be started again after close (and left running)
        app.extensions["kaifong_speech"].wait_background(60)
        app.extensions["kaifong_speech"].close()
        app.extensions["kaifong"].store.close()
