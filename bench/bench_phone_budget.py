"""The phone's spoken budget, in seconds of real synthesised audio (not wall-clock).

Calls go through the real voice webhooks (signed, following the TwiML, as Twilio does) on an app
with the real speech engine (pyttsx3 driving espeak-ng, 8 kHz phone clips); every clip a caller
would hear is a WAV in the audio cache, and its length is what is counted. For each language:

  * ``after_language_s``: audio from the language choice to the first question (the menu);
    DESIGN's budget is 12 s. ``menu_reprompt_s``: the menu asked again after a silence (8 s).
  * per procedure (chosen from the menu by its keys): ``before_first_action_s``, the audio of
    its first answer before the caller can act (the question, or the "to go on, press 1" of an
    opening information); ``before_first_question_s``, from choosing it to its first real
    question, going on at once past each information; ``reprompt_s``, that question asked again
    after a silence (the question and its keys: 8 s).
  * ``spoken_rate``: words a second (English) and Chinese characters a second (Cantonese) of
    every phone clip made, against ``assistant.wording.SPOKEN_RATE`` (the lint's estimate).
  * ``pitch``: the Cantonese voice's tones: the mean pitch of each of si1..si6 (詩史試時市事),
    the range across them in semitones, and tones 3 and 6 apart, for plain ``sit/yue`` and for
    the voice in use (F0 by autocorrelation over voiced frames).

    .venv/bin/python bench/bench_phone_budget.py [--audio-dir DIR] [--out FILE]

Prints one JSON document (progress on stderr). ``--audio-dir`` keeps the clips between runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import wave
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-phone-budget-token-0123456789"
BASE = "http://localhost"
#: a Wednesday, 10:00 in Hong Kong (the office open; nothing here waits for staff)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
LANGUAGE_KEY = {"zh-HK": "1", "en": "2"}
#: the six tones of Cantonese on one syllable: si1 .. si6
TONES = "詩史試時市事"
PLAIN_YUE = "sit/yue"


def make_app(data_dir: Path, audio_dir: Path | None = None, engine=None):
    from channels import create_app
    settings = {"DATA_DIR": str(data_dir),
                "DATABASE_URL": f"sqlite:///{data_dir / 'budget.db'}", "SEED_SLOTS_DAYS": 3,
                "TESTING": True, "TWILIO_AUTH_TOKEN": TOKEN, "VOICE_CLOCK": lambda: NOW,
                "STAFF_NUMBER": "+85221234567"}
    if audio_dir is not None:
        settings["AUDIO_DIR"] = str(audio_dir)
    if engine is not None:
        settings["SPEECH_ENGINE"] = engine
    return create_app(settings)


def caller(app, number: str):
    from channels.voice.devtools import TwilioCall
    client = app.test_client()

    def post(url, form, signature):
        response = client.post(url.removeprefix(BASE), data=form,
                               headers={"X-Twilio-Signature": signature})
        return response.status_code, response.get_data(as_text=True)

    return TwilioCall(BASE, TOKEN, number, post=post)


# -- what a caller hears, in seconds --------------------------------------------------------

def clip_seconds(app, url: str) -> float:
    from channels.speech import speech_for
    speech = speech_for(app)
    clip_id = url.rsplit("/", 1)[1].removesuffix(".wav")
    path = speech.once_path(clip_id) if "/audio/once/" in url else speech.path(clip_id)
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def heard_seconds(app, heard) -> list[float]:
    """Each sound's length; a ``<Say>`` fallback (a clip that could not be made) is an error."""
    if heard.said:
        raise RuntimeError("a clip could not be synthesised: the figures would be wrong")
    return [clip_seconds(app, url) for url in heard.played]


def kept_reply(app, number: str):
    from channels.voice.callstep import reply_from_dict
    store = app.extensions["kaifong"].store
    import sqlalchemy as sa

    from assistant.store import channel_state
    cid = store.conversation_id("voice", number)
    with store.engine.connect() as conn:
        data = conn.scalar(sa.select(channel_state.c.data).where(
            channel_state.c.conversation_id == cid)) or {}
    return reply_from_dict(data["reply"]) if data.get("reply") else None


def action_index(app, heard, reply) -> int:
    """Where in ``heard`` the caller can first act: the question's first clip, or for an
    information (its only choice "to go on"), the clip of that line."""
    from channels.speech import speech_for
    from channels.voice.audio import PhoneAudio
    from channels.voice.callstep import Speak, _is_info, option_line
    gettext = app.extensions["kaifong"].catalogue.gettext
    if _is_info(reply):
        nxt = next(o for o in reply.options if o.value == "next")
        text = option_line(nxt, reply.locale, gettext)
    else:
        text = reply.question
    audio = PhoneAudio(speech_for(app), BASE)
    first = audio.clips(Speak(text, reply.locale))[0]
    ids = [url.rsplit("/", 1)[1].removesuffix(".wav") for url in heard.played]
    return ids.index(first.id)


def seconds_before_action(app, heard, reply) -> float:
    return round(sum(heard_seconds(app, heard)[:action_index(app, heard, reply)]), 2)


def menu_keys(catalogue, pid: str) -> list[str]:
    for gi, group in enumerate(catalogue.menu, 1):
        if pid in group.procedures:
            return [str(gi)] if len(group.procedures) == 1 else [
                str(gi), str(group.procedures.index(pid) + 1)]
    raise KeyError(pid)


def measure_calls(app) -> dict:
    """The figures of the module docstring, for every procedure in both languages."""
    from channels.voice.callstep import _is_info
    catalogue = app.extensions["kaifong"].catalogue
    out: dict = {}
    for n_locale, locale in enumerate(("zh-HK", "en")):
        number = f"+8525{n_locale}000000"
        call = caller(app, number)
        call.start()
        heard = call.press(LANGUAGE_KEY[locale])
        reply = kept_reply(app, number)
        figures = {"after_language_s": seconds_before_action(app, heard, reply)}
        again = call.silence()
        figures["menu_reprompt_s"] = round(sum(heard_seconds(app, again)), 2)
        procedures = {}
        for n_proc, pid in enumerate(sorted(catalogue.procedures)):
            number = f"+8526{n_locale}{n_proc:02d}0000"
            call = caller(app, number)
            call.start()
            call.press(LANGUAGE_KEY[locale])
            keys = menu_keys(catalogue, pid)
            for key in keys[:-1]:
                call.press(key)
            heard = call.press(keys[-1])
            reply = kept_reply(app, number)
            first_action = seconds_before_action(app, heard, reply)
            total = 0.0
            for _ in range(6):                      # past the opening information, at once
                total += seconds_before_action(app, heard, reply)
                if not _is_info(reply):
                    break
                heard = call.press("1")
                reply = kept_reply(app, number)
            again = call.silence()
            procedures[pid] = {
                "before_first_action_s": first_action,
                "before_first_question_s": round(total, 2),
                "first_question": reply.question[:60],
                "reprompt_s": round(sum(heard_seconds(app, again)), 2)}
            print(f"  {locale} {pid}: {procedures[pid]}", file=sys.stderr)
        figures["procedures"] = procedures
        out[locale] = figures
    return out


# -- the lint's estimate of the speaking rate -------------------------------------------------

def spoken_rate(app) -> dict:
    """Words (English) and Chinese characters (Cantonese) a second over every phone clip in the
    cache, against the lint's ``SPOKEN_RATE``."""
    from assistant.wording import SPOKEN_RATE
    from channels.speech import speech_for
    speech = speech_for(app)
    words = {"en": 0, "zh-HK": 0}
    seconds = {"en": 0.0, "zh-HK": 0.0}
    latin_in_zh = 0
    for note in speech.directory.glob("*.json"):
        data = json.loads(note.read_text(encoding="utf-8"))
        wav = note.with_suffix(".wav")
        if data["sample_rate"] != 8000 or not wav.exists() or len(data["text"]) < 4:
            continue
        with wave.open(str(wav), "rb") as w:
            length = w.getnframes() / w.getframerate()
        text = data["text"]
        if data["locale"] == "en":
            words["en"] += len(re.findall(r"[A-Za-z0-9]+", text))
            seconds["en"] += length
        else:
            words["zh-HK"] += len(re.findall(r"[\u3400-\u9fff]", text))
            latin_in_zh += len(re.findall(r"[A-Za-z0-9]+", text))
            seconds["zh-HK"] += length
    en = words["en"] / seconds["en"] if seconds["en"] else None
    zh_seconds = seconds["zh-HK"] - (latin_in_zh / en if en else 0)
    zh = words["zh-HK"] / zh_seconds if zh_seconds > 0 else None
    return {"measured": {"en": round(en, 2) if en else None,
                         "zh-HK": round(zh, 2) if zh else None},
            "lint": dict(SPOKEN_RATE),
            "clips": {"en_seconds": round(seconds["en"], 1),
                      "zh-HK_seconds": round(seconds["zh-HK"], 1)}}


# -- the Cantonese voice's tones --------------------------------------------------------------

def f0_track(samples, rate: int, low: float = 60.0, high: float = 400.0) -> list[float]:
    """F0 of each voiced 40 ms frame (10 ms apart) by autocorrelation; unvoiced and quiet
    frames are left out."""
    import numpy as np
    x = np.asarray(samples, dtype=float)
    frame, hop = int(0.04 * rate), int(0.01 * rate)
    loud = np.sqrt(np.mean(x ** 2)) if len(x) else 0.0
    out = []
    for start in range(0, len(x) - frame, hop):
        f = x[start:start + frame] - x[start:start + frame].mean()
        if np.sqrt(np.mean(f ** 2)) < 0.3 * loud:
            continue
        ac = np.correlate(f, f, "full")[frame - 1:]
        if ac[0] <= 0:
            continue
        ac = ac / ac[0]
        lo, hi = int(rate / high), int(rate / low)
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] >= 0.5:                     # clearly periodic: voiced
            out.append(rate / lag)
    return out


def tone_pitch(engine, voice: str, workdir: Path) -> dict:
    """The middle of each tone's F0 track, and the spread across the six, in semitones."""
    import numpy as np
    means = []
    for i, syllable in enumerate(TONES):
        path = workdir / f"tone-{i}.wav"
        engine.synthesise(syllable, voice, 160, 22050, path)
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        track = f0_track(samples, rate)
        middle = track[len(track) // 4: max(len(track) // 4 + 1, 3 * len(track) // 4)]
        means.append(float(np.median(middle)))
    return {"tones_hz": [round(m, 1) for m in means],
            "range_semitones": round(12 * np.log2(max(means) / min(means)), 2),
            "tone3_tone6_semitones": round(12 * np.log2(means[2] / means[5]), 2)}


def pitch(app, workdir: Path) -> dict:
    from channels.speech import speech_for
    speech = speech_for(app)
    chosen = speech.voices["zh-HK"]
    return {voice: tone_pitch(speech.engine, voice, workdir)
            for voice in dict.fromkeys((PLAIN_YUE, chosen))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audio-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kaifong-budget-") as tmp:
        app = make_app(Path(tmp), args.audio_dir)
        try:
            result = {"calls": measure_calls(app), "spoken_rate": spoken_rate(app),
                      "pitch": pitch(app, Path(tmp)),
                      "voices": dict(app.extensions["kaifong_speech"].voices),
                      "rate_wpm": app.extensions["kaifong_speech"].rate}
        finally:
            app.extensions["kaifong"].store.close()
            app.extensions["kaifong_speech"].close()
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
