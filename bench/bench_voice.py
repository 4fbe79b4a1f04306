"""Phone benchmark: the voice webhooks under gunicorn with the real speech engine, cold and warm
audio cache; synthesis time per prompt and for the whole catalogue; the cache's size on disk.

  * synthesis: pyttsx3 (espeak-ng) in its worker process, as the service runs it, over a seeded
    sample of the phone's static clips (``--sample``), or every one of them (``--whole``);
    ``per_prompt`` gives p50/p99/mean; ``catalogue`` the total (measured with ``--whole``,
    otherwise estimated as mean x number of clips, and labelled so); ``disk`` the bytes of the
    clips made (per clip, and for the catalogue).
  * webhook: the real app (``channels:create_app()``) under gunicorn (gthread), ``--callers``
    callers at once, each making whole calls as Twilio does (signed posts, following the TwiML's
    action URLs), by keypad, through the Senior Citizen Card, in English and Cantonese in turn,
    from the ring to the offer of a text message: about a dozen requests a call. ``cold``: the
    first call of each caller on an empty audio cache (every clip synthesised while Twilio
    waits; with two callers or more, one call in each language); ``warm``: calls for
    ``--seconds`` once the clips are cached. Latency of each request
    as the caller sees it (signature, turn, TwiML, synthesis when cold).

    .venv/bin/python bench/bench_voice.py [--seconds 10] [--callers 4] [--sample 40] [--whole]
                                          [--out FILE]

Prints one JSON document. The load generator shares the machine (see bench_sms.py): compare
runs on one machine, not absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_sms import free_port, start_server, stop_server
from channels.voice.devtools import CallError, TwilioCall, _http_post

TOKEN = "bench-voice-token-0123456789abcdef"
#: a whole call by keypad: the language, the menu, the Senior Citizen Card to its end
SCRIPT = ["1", "1", "1", "70#", "1", "1", "1", "1", "1"]


def figures(latencies: list[float]) -> dict:
    every = sorted(latencies)
    if not every:
        return {"n": 0}
    return {"n": len(every), "p50_ms": round(statistics.median(every) * 1000, 2),
            "p99_ms": round(every[max(0, int(len(every) * 0.99) - 1)] * 1000, 2),
            "max_ms": round(every[-1] * 1000, 2),
            "mean_ms": round(statistics.fmean(every) * 1000, 2)}


def one_call(base: str, caller: int, serial: int, latencies: list[float]) -> None:
    def post(url, form, signature):
        t0 = time.perf_counter()
        answer = _http_post(url, form, signature)
        latencies.append(time.perf_counter() - t0)
        return answer

    call = TwilioCall(base, TOKEN, f"+8529{caller:03d}{serial:04d}", post=post,
                      call_sid="CA" + uuid.uuid4().hex)
    call.start()
    language = "1" if (caller + serial) % 2 else "2"     # Cantonese and English in turn
    for key in [language] + SCRIPT:
        heard = call.press(key)
    if not heard.gather or heard.gather.get("numDigits") != "1":
        raise CallError("the call did not reach the end's offer")


def webhook(base: str, callers: int, seconds: float) -> dict:
    cold: list[list[float]] = [[] for _ in range(callers)]
    warm: list[list[float]] = [[] for _ in range(callers)]
    errors = [0] * callers
    calls = [0] * callers
    barrier = threading.Barrier(callers + 1)
    phase = {"cold_done": threading.Barrier(callers + 1), "stop": 0.0}

    def caller(n: int) -> None:
        barrier.wait()
        try:
            one_call(base, n, 0, cold[n])
        except (CallError, OSError):
            errors[n] += 1
        phase["cold_done"].wait()
        serial = 1
        while time.perf_counter() < phase["stop"]:
            try:
                one_call(base, n, serial, warm[n])
                calls[n] += 1
            except (CallError, OSError):
                errors[n] += 1
            serial += 1

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    barrier.wait()
    phase["stop"] = time.perf_counter() + 1e9            # set after the cold phase
    phase["cold_done"].wait()
    cold_seconds = time.perf_counter() - began
    phase["stop"] = time.perf_counter() + seconds
    for t in threads:
        t.join()
    return {"cold": {**figures([x for per in cold for x in per]),
                     "calls": callers, "seconds": round(cold_seconds, 2)},
            "warm": {**figures([x for per in warm for x in per]), "calls": sum(calls),
                     "seconds": seconds},
            "errors": sum(errors)}


def synthesis(sample: int, whole: bool) -> dict:
    from channels import create_app
    from channels.speech import speech_for

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app({"DATA_DIR": data_dir, "SEED_SLOTS_DAYS": 0,
                          "DATABASE_URL": f"sqlite:///{data_dir}/synth.db"})
        speech = speech_for(app)
        try:
            clips = [c for c in speech.static_clips(app.extensions["kaifong"].catalogue)
                     if c.sample_rate == 8000]
            chosen = clips if whole else random.Random(6).sample(clips, min(sample, len(clips)))
            speech.ensure(speech.clip("warm up the engine", "en", "phone"))
            before = sum(p.stat().st_size for p in speech.directory.glob("*.wav"))
            times, failed = [], 0
            t_all = time.perf_counter()
            for clip in chosen:
                t0 = time.perf_counter()
                if speech.ensure(clip) is None:
                    failed += 1
                times.append(time.perf_counter() - t0)
            total = time.perf_counter() - t_all
            size = sum(p.stat().st_size for p in speech.directory.glob("*.wav")) - before
        finally:
            speech.close()
            app.extensions["kaifong"].store.close()
    per_clip = size / max(len(chosen), 1)
    return {"clips_in_catalogue": len(clips), "clips_synthesised": len(chosen),
            "failed": failed, "per_prompt": figures(times),
            "catalogue": {"seconds": round(total if whole else statistics.fmean(times)
                                           * len(clips), 1),
                          "measured": whole},
            "disk": {"bytes_per_clip": round(per_clip), "sample_bytes": size,
                     "catalogue_bytes": size if whole else round(per_clip * len(clips)),
                     "catalogue_measured": whole}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="warm phase length")
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--sample", type=int, default=40, help="clips timed for synthesis")
    parser.add_argument("--whole", action="store_true",
                        help="synthesise every static phone clip (minutes) instead of a sample")
    parser.add_argument("--out")
    args = parser.parse_args()
    print("synthesis ...", file=sys.stderr)
    synth = synthesis(args.sample, args.whole)
    print(f"synthesis: {synth['per_prompt']}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        env = dict(os.environ, KAIFONG_DATA_DIR=data_dir, TWILIO_AUTH_TOKEN=TOKEN,
                   KAIFONG_PUBLIC_URL=f"http://127.0.0.1:{port}", PYTHONPATH=str(ROOT),
                   KAIFONG_STAFF_NUMBER="+85221234567")
        env.pop("KAIFONG_DATABASE_URL", None)
        print(f"webhook: starting gunicorn on {port}", file=sys.stderr)
        server = start_server("channels:create_app()", port, env, 1, args.threads, None)
        try:
            hooks = webhook(f"http://127.0.0.1:{port}", args.callers, args.seconds)
        finally:
            stop_server(server)
        cache = sorted(Path(data_dir, "audio").glob("*.wav"))
        cache_bytes = sum(p.stat().st_size for p in cache)
    print(f"webhook: {hooks}", file=sys.stderr)
    doc = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "setup": {"server": "gunicorn gthread", "workers": 1, "threads": args.threads,
                  "callers": args.callers, "warm_seconds": args.seconds,
                  "engine": "pyttsx3 + espeak-ng (worker process)", "format": "8 kHz WAV",
                  "script": "Senior Citizen Card by keypad, English and Cantonese in turn"},
        "webhook": hooks,
        "synthesis": synth,
        "cache_after_calls": {"clips": len(cache), "bytes": cache_bytes},
    }
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0 if not hooks["errors"] and not synth["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
