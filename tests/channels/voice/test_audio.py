"""The phone's audio with the real engine (pyttsx3 driving espeak-ng): every clip a call plays is
a valid 8 kHz, mono, 16-bit WAV from ``GET /audio/<id>.wav``, each prompt in its language's voice
(its length follows the ``espeak-ng`` command line's for that voice, not the other one's), at the
configured rate; the static source names the prompts of a call ahead of time."""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import pytest

from channels.speech import speech_for
from channels.voice.audio import phone_clips

from .conftest import BASE, Call, make_app, texts_of


def wav_of(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes() / w.getframerate()


def cli_seconds(tmp_path: Path, voice: str, text: str, rate: int) -> float:
    out = tmp_path / f"cli-{voice.replace('/', '_')}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(out), text], check=True)
    with wave.open(str(out), "rb") as w:
        return w.getnframes() / w.getframerate()


@pytest.fixture
def real_app(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, SPEECH_ENGINE=None, SPEECH_RATE="165")
    yield app
    speech_for(app).close()
    app.extensions["kaifong"].store.close()


def fetch(client, url: str) -> bytes:
    response = client.get(url[len(BASE):])
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    data = response.get_data()
    response.close()
    return data


@pytest.mark.slow
def test_a_real_call_plays_8khz_mono_16bit_in_each_language(real_app, tmp_path):
    client = real_app.test_client()
    call = Call(client)
    menu = call.start()
    assert menu.said == []                          # nothing fell back to Twilio's voice
    # a clip a sentence: 街坊。 / 廣東話請按1。 / Kaifong. / For English, press 2. / then "for a
    # person, press 0" in each language
    clips = [wav_of(fetch(client, url)) for url in menu.played]
    assert len(clips) == 6
    for channels, width, rate, seconds in clips:
        assert (channels, width, rate) == (1, 2, 8000) and seconds > 0.3
    cantonese, english = clips[1], clips[3]
    # the right voice: each clip is as long as espeak-ng's own voice makes that text, and
    # unlike the other voice reading the same text
    speech = speech_for(real_app)
    zh_text = "廣東話請按1。"
    yue = cli_seconds(tmp_path, "yue+Annie", zh_text, 165)      # the phone's Cantonese voice
    en = cli_seconds(tmp_path, "en", zh_text, 165)
    assert abs(cantonese[3] - yue) < 0.15 * yue
    assert abs(cantonese[3] - yue) < abs(cantonese[3] - en)
    en_text = "For English, press 2."
    assert abs(english[3] - cli_seconds(tmp_path, "en", en_text, 165)) < 0.15 * english[3]
    assert speech.rate == 165
    # and on into the call: the greeting, in Cantonese, as clips
    heard = call.press("1")
    assert heard.said == [] and heard.played
    for url in heard.played:
        assert wav_of(fetch(client, url))[:3] == (1, 2, 8000)


@pytest.mark.slow
def test_an_identity_card_number_is_spelled_from_one_character_clips(real_app):
    client = real_app.test_client()
    call = Call(client)
    call.start()
    for key in ("2", "1", "3", "1", "1", "1", "1"):
        call.press(key)
    heard = call.press("211234563#")
    speech = speech_for(real_app)
    texts = []
    for url in heard.played:
        clip_id = url.rsplit("/", 1)[1][:-4]
        assert speech.path(clip_id).exists()
        texts.append(url)
    # no file in the cache is the whole number: A, 1, 2, 3 ... are separate clips
    singles = [speech.clip(ch, "en", "phone").url for ch in "A1234563"]
    assert all(f"{BASE}{url}" in heard.played for url in singles)
    assert not any(note.read_text(encoding="utf-8").count("123456")
                   for note in Path(speech.directory).glob("*.json"))


@pytest.mark.parametrize("language", ["1", "2"])
def test_a_whole_call_plays_only_clips_named_ahead_of_time(app, client, language):
    """Every clip of a whole call through the Senior Citizen Card, from the language menu to the
    end (the reference spelled, the offer of a text message, the menu again), was named by the
    static source, so ``kaifong speech prerender`` has made it before the first caller."""
    speech = speech_for(app)
    ahead = {c.id for c in phone_clips(app.extensions["kaifong"].catalogue, speech)}
    assert all(c.sample_rate == 8000 for c in phone_clips(app.extensions["kaifong"].catalogue,
                                                          speech))
    call = Call(client)
    heards = [call.start()] + [call.press(k) for k in (
        language, "1", "1", "1", "70#", "1", "1", "1", "1", "1", "1", "*", "2")]
    for heard in heards:
        missing = [text for url, text in zip(heard.played, texts_of(app, heard), strict=True)
                   if url.rsplit("/", 1)[1][:-4] not in ahead]
        assert not missing, missing


def test_the_phone_registers_its_static_source_once(app):
    assert speech_for(app).static_sources.count(phone_clips) == 1


@pytest.mark.slow
def test_a_whole_call_with_the_real_engine(real_app):
    """An identity card replaced by keypad in Cantonese, from the ring through the review to the
    reference read twice and the text message: every piece is a real 8 kHz clip, none fell back
    to ``<Say>``."""
    client = real_app.test_client()
    call = Call(client)
    heards = [call.start()] + [call.press(k) for k in (
        "1", "1", "3", "1", "1", "1", "1", "211234563#", "1", "91234567#", "1", "1", "1", "1",
        "1", "1")]
    state = real_app.extensions["kaifong"].store.state("voice", call.caller)
    assert state["reference"] and state["locale"] == "zh-HK"
    speech = speech_for(real_app)
    spelled = [f"{BASE}{speech.clip(ch, 'zh-HK', 'phone').url}" for ch in state["reference"]]
    end = heards[-2].played                       # the end; then the text message was sent
    assert sum(end[i:i + len(spelled)] == spelled for i in range(len(end))) == 2
    for heard in heards:
        assert heard.said == []
        for url in heard.played:
            channels, width, rate, seconds = wav_of(fetch(client, url))
            assert (channels, width, rate) == (1, 2, 8000) and seconds > 0.05
