"""The speech service: real espeak-ng audio in the right voice and format, the cache, the
fallback when synthesis fails, spelling of personal values, and ``GET /audio/<id>.wav``."""

from __future__ import annotations

import logging
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from channels import create_app
from channels.cli import main as kaifong
from channels.speech import FORMATS, EspeakWorker, Speech, SynthesisFailed, speech_for
from channels.speech.cache import sentences
from channels.speech.views import parse_rate

ZH = "你好，請問你今年幾多歲？請用數字回答。"
EN = "How old are you? Please answer with a number."


def wav_info(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes() / w.getframerate()


def cli_wav(tmp_path: Path, voice: str, text: str, rate: int = 160) -> Path:
    out = tmp_path / f"cli-{voice.replace('/', '_')}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(out), text], check=True)
    return out


def envelope(path: Path, points: int = 200) -> np.ndarray:
    """The loudness over time (20 ms frames), stretched to ``points`` values."""
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    frame = rate // 50
    rms = np.sqrt(np.mean(samples[: len(samples) // frame * frame].reshape(-1, frame) ** 2, 1))
    return np.interp(np.linspace(0, len(rms) - 1, points), np.arange(len(rms)), rms)


def likeness(a: Path, b: Path) -> float:
    return float(np.corrcoef(envelope(a), envelope(b))[0, 1])


@pytest.fixture(scope="module")
def real_speech(tmp_path_factory):
    speech = Speech(tmp_path_factory.mktemp("audio"))
    yield speech
    speech.close()


class CountingEngine:
    """The real engine, counting how often it is asked (to show the cache works)."""

    def __init__(self):
        self.real = EspeakWorker()
        self.calls = 0

    def synthesise(self, *args):
        self.calls += 1
        return self.real.synthesise(*args)

    def close(self):
        self.real.close()


class BrokenEngine:
    def synthesise(self, text, voice, rate, sample_rate, path):
        raise SynthesisFailed("espeak-ng is not installed")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["kiosk", "phone"])
def test_cantonese_is_spoken_by_the_cantonese_voice_in_the_right_format(real_speech, tmp_path, fmt):
    path = real_speech.ensure(real_speech.clip(ZH, "zh-HK", fmt))
    channels, width, rate, seconds = wav_info(path)
    assert (channels, width, rate) == (1, 2, FORMATS[fmt])
    # the same words read by the yue voice and by the English one last very differently (the
    # English voice names each Chinese character as a symbol): ours must be the yue one
    yue, english = cli_wav(tmp_path, "yue", ZH), cli_wav(tmp_path / "..", "en", ZH)
    assert abs(seconds - wav_info(yue)[3]) < 0.15 * wav_info(yue)[3]
    assert abs(seconds - wav_info(english)[3]) > 0.3 * wav_info(yue)[3]
    assert likeness(path, yue) > 0.85 and likeness(path, yue) > likeness(path, english) + 0.1


@pytest.mark.slow
def test_english_is_spoken_by_an_english_voice(real_speech, tmp_path):
    # read by the yue voice, English words take about as long, so the test compares the shape
    # of the loudness over time with each voice's reading by the espeak-ng command
    path = real_speech.ensure(real_speech.clip(EN, "en", "phone"))
    english, yue = cli_wav(tmp_path, "en", EN), cli_wav(tmp_path / "..", "yue", EN)
    assert abs(wav_info(path)[3] - wav_info(english)[3]) < 0.15 * wav_info(english)[3]
    assert likeness(path, english) > 0.8 and likeness(path, english) > likeness(path, yue)


def test_the_rate_is_the_configured_words_a_minute(tmp_path):
    fast = Speech(tmp_path / "a", rate=175)
    slow = Speech(tmp_path / "b", rate=150)
    try:
        t_fast = wav_info(fast.ensure(fast.clip(EN, "en")))[3]
        t_slow = wav_info(slow.ensure(slow.clip(EN, "en")))[3]
    finally:
        fast.close()
        slow.close()
    assert t_slow > t_fast * 1.08           # 175/150 = 1.17, less the pauses


def test_a_clip_is_synthesised_once_and_shared_by_every_speech_on_the_directory(tmp_path):
    engine = CountingEngine()
    try:
        one = Speech(tmp_path, engine=engine)
        clip = one.clip(EN, "en", "phone")
        first = one.ensure(clip)
        assert one.ensure(clip) == first and engine.calls == 1
        other = Speech(tmp_path, engine=engine)           # another process, same directory
        assert other.ensure(other.clip(EN, "en", "phone")) == first and engine.calls == 1
        assert one.clip(EN, "en", "kiosk").id != clip.id   # another format, another file
        assert one.clip(EN, "zh-HK", "phone").id != clip.id
        assert one.clip("  How old are\nyou? Please answer with a number.", "en", "phone").id \
            == clip.id                                       # spacing is not content
    finally:
        engine.close()


def test_a_failure_returns_none_and_logs_the_clip_not_its_text(tmp_path, caplog):
    speech = Speech(tmp_path, engine=BrokenEngine())
    clip = speech.clip("Your reference is KF1234567", "en", "phone")
    with caplog.at_level(logging.ERROR, logger="channels.speech"):
        assert speech.ensure(clip) is None
    assert clip.id in caplog.text and "KF1234567" not in caplog.text
    assert list(tmp_path.iterdir()) == []                   # no half-written file left


def test_a_worker_that_cannot_start_is_a_synthesis_failure():
    worker = EspeakWorker(timeout=0.000001)
    with pytest.raises(SynthesisFailed):
        worker.synthesise("hello", "gmw/en", 160, 8000, Path("/nonexistent/x.wav"))
    worker.close()


def test_personal_values_are_spelled_and_never_a_clip_of_their_own(tmp_path):
    speech = Speech(tmp_path, engine=BrokenEngine())
    clips = speech.say("You gave: A123456(3). Is that right?", "en", "phone",
                       spell=["A123456(3)"])
    assert [c.text for c in clips] == ["You gave:", "A", "1", "2", "3", "4", "5", "6", "3",
                                       "Is that right?"]
    masked = speech.say("Identity card number: A123***(*)", "en", spell=["A123***(*)"])
    assert [c.text for c in masked] == ["Identity card number:", "A", "1", "2", "3"]


def test_sentences_split_in_both_scripts():
    assert sentences("One. Two?\n\nThree") == ["One.", "Two?", "Three"]
    assert sentences("你好。請帶：身份證；相片。啱唔啱？") == ["你好。", "請帶：身份證；相片。", "啱唔啱？"]
    assert sentences(" 。 ") == []


@pytest.fixture
def app(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": "sqlite://",
                      "SEED_SLOTS_DAYS": 0})
    yield app
    speech_for(app).close()


def test_audio_is_served_cacheable_and_unknown_ids_are_404(app):
    speech = speech_for(app)
    clip = speech.clip(EN, "en", "phone")
    client = app.test_client()
    assert client.get(clip.url).status_code == 404          # never asked for: unknown
    assert client.get("/audio/../../etc/passwd.wav").status_code == 404
    assert client.get("/audio/NOTHEX.wav").status_code == 404
    speech.want([clip])                                     # a page said it will play it
    response = client.get(clip.url)                         # synthesised now if not yet
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.data[:4] == b"RIFF" and response.data[8:12] == b"WAVE"
    response.close()
    speech.wait_background()


def test_a_forged_note_is_not_synthesised(app):
    speech = speech_for(app)
    clip = speech.clip(EN, "en", "phone")
    other = speech.clip("Something else", "en", "phone")
    (speech.directory / f"{clip.id}.json").write_text(
        f'{{"text": "{other.text}", "locale": "en", "voice": "{other.voice}", '
        f'"rate": {other.rate}, "sample_rate": {other.sample_rate}}}', encoding="utf-8")
    assert app.test_client().get(clip.url).status_code == 404


def test_rate_setting_is_checked():
    assert parse_rate("165") == 165
    for bad in ("fast", "20", "1000", ""):
        with pytest.raises(ValueError, match="KAIFONG_SPEECH_RATE"):
            parse_rate(bad)


def test_prerender_command_fills_the_cache_with_a_progress_bar(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KAIFONG_DATABASE_URL", raising=False)
    monkeypatch.setenv("KAIFONG_SEED_SLOTS_DAYS", "0")
    monkeypatch.setenv("KAIFONG_HOUSEKEEPING", "off")      # no timers in a test
    app = create_app()
    speech = speech_for(app)
    wanted = speech.static_clips(app.extensions["kaifong"].catalogue)
    speech.close()
    if not wanted:
        pytest.fail("no channel registered any prompt to render ahead of time")
    assert kaifong(["speech", "prerender", "--format", "phone"]) == 0
    out, err = capsys.readouterr()
    phone = [c for c in wanted if c.sample_rate == 8000]
    assert f"synthesised {len(phone)}, failed 0" in out and f"{len(phone)}/{len(phone)}" in err
    assert all(speech.ready(c) for c in phone)
    assert kaifong(["speech", "prerender", "--format", "phone"]) == 0      # nothing left to do
    assert "synthesised 0, failed 0" in capsys.readouterr().out


def test_close_drops_what_is_queued_and_starts_no_engine_again(tmp_path):
    class Slow:
        def __init__(self):
            self.calls = 0

        def synthesise(self, text, voice, rate, sample_rate, path):
            import time
            self.calls += 1
            time.sleep(0.05)
            raise SynthesisFailed("slow and broken")

    engine = Slow()
    speech = Speech(tmp_path, engine=engine)
    speech.want([speech.clip(f"prompt {i}", "en") for i in range(50)])
    speech.close()
    made = engine.calls
    assert made < 50
    speech.want([speech.clip("after close", "en")])      # nothing more starts
    assert engine.calls == made


def test_private_words_are_a_clip_for_one_listener_never_cached_by_their_words(tmp_path):
    engine = CountingEngine()
    try:
        speech = Speech(tmp_path, engine=engine)
        clips = speech.say("You gave: outside block 3. Is that right?", "en", "phone",
                           private=["outside block 3"])
        assert [c.text for c in clips] == ["You gave:", "outside block 3", "Is that right?"]
        once = clips[1]
        assert once.once and once.url == f"/audio/once/{once.once}.wav"
        again = speech.say("You gave: outside block 3.", "en", "phone",
                           private=["outside block 3"])[1]
        assert again.id != once.id                       # not addressed by its words
        speech.want([once])                              # made at once: its words are kept nowhere
        assert speech.path(once).exists() and engine.calls == 1
        notes = [p.read_text() for p in tmp_path.glob("*.json")]
        assert not any("block 3" in n for n in notes)
        assert not list(tmp_path.glob("*.wav"))          # nothing in the shared cache
        import time as clock
        assert speech.sweep_once(now=clock.time() + 3600) == 1 and not speech.path(once).exists()
    finally:
        engine.close()


def test_one_listener_audio_is_served_uncached_and_unguessable(app):
    speech = speech_for(app)
    clip = speech.once("outside block 3", "en", "phone")
    client = app.test_client()
    assert client.get(clip.url).status_code == 404         # not made yet
    speech.ensure(clip)
    response = client.get(clip.url)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    response.close()
    assert client.get("/audio/once/" + "0" * 32 + ".wav").status_code == 404
    assert client.get("/audio/once/../x.wav").status_code == 404
