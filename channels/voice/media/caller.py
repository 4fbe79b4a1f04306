"""A caller on a media stream, as Twilio's side of it: for the tests, the benchmark and the
development tools, never for the service itself.

``stream_call(url, call_sid, token, actions)`` opens the websocket, sends ``connected`` and
``start`` (with the token as a custom parameter), then a 20 ms ``media`` frame of the caller's
line every 20 ms (silence, or the audio of a ``Say`` action while it lasts), ``dtmf`` for a
``Press``; it plays what comes back as Twilio does: the service's frames queue up and are played
at 20 ms each, a ``mark`` comes back when the audio before it has been played, a ``clear``
empties the queue (and sends back the marks still waiting). An action starts ``at`` seconds after
``start``, or ``after_prompt`` seconds after the question has been played (its last mark came
back). It returns when the service closes the stream (or after ``limit`` seconds), with the
timings of what happened (monotonic seconds).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from .protocol import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, pcm_to_ulaw

__all__ = ["Press", "Say", "StreamResult", "stream_call", "telephone"]

SILENCE = b"\xff" * FRAME_BYTES


@dataclass
class Say:
    """The caller speaks: 8 kHz mu-law bytes."""

    ulaw: bytes
    at: float | None = None
    after_prompt: float | None = None


@dataclass
class Press:
    digit: str
    at: float | None = None
    after_prompt: float | None = None


@dataclass
class StreamResult:
    times: dict = field(default_factory=dict)
    #: frames of audio received, played and dropped (cleared)
    received: int = 0
    played: int = 0
    cleared: int = 0
    marks: list = field(default_factory=list)
    #: the close code the service gave (1000 done, 1008 refused)
    close_code: int | None = None
    refused: bool = False


def telephone(pcm: np.ndarray, rate: int) -> bytes:
    """Audio at any rate as telephone audio: band-limited to 300-3400 Hz, 8 kHz, mu-law."""
    import soxr

    x = np.asarray(pcm, dtype=np.float32) / 32768.0
    x = soxr.resample(x, rate, SAMPLE_RATE)
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    x = np.fft.irfft(spectrum, len(x))
    return pcm_to_ulaw(np.clip(x * 32767, -32768, 32767).astype(np.int16))


async def stream_call(url: str, call_sid: str, token: str, actions=(), *, limit: float = 30.0,
                      stream_sid: str | None = None, drop_after: float | None = None,
                      ) -> StreamResult:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    result = StreamResult()
    times = result.times
    sid = stream_sid or "MZ" + uuid.uuid4().hex
    pending = sorted(actions, key=lambda a: (a.at is None, a.at or 0))
    queue: list = []              # what Twilio holds to play: frames (bytes) and marks (str)
    talking = bytearray()
    clock = time.monotonic
    async with connect(url, max_size=2 ** 20, compression=None) as ws:
        t0 = times["start"] = clock()
        await ws.send(json.dumps({"event": "connected", "protocol": "Call",
                                  "version": "1.0.0"}))
        await ws.send(json.dumps({
            "event": "start", "sequenceNumber": "1", "streamSid": sid,
            "start": {"accountSid": "AC" + "0" * 32, "streamSid": sid, "callSid": call_sid,
                      "tracks": ["inbound"], "customParameters": {"token": token},
                      "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                      "channels": 1}}}))

        async def receive():
            try:
                async for text in ws:
                    data = json.loads(text)
                    event = data.get("event")
                    if event == "media":
                        queue.append(base64.b64decode(data["media"]["payload"]))
                        result.received += 1
                        times.setdefault("first_media", clock())
                    elif event == "mark":
                        queue.append("mark:" + data["mark"]["name"])
                    elif event == "clear":
                        times.setdefault("clear", clock())
                        marks = [m for m in queue if isinstance(m, str)]
                        result.cleared += len(queue) - len(marks)
                        queue.clear()
                        for m in marks:
                            await ws.send(json.dumps({"event": "mark", "streamSid": sid,
                                                      "mark": {"name": m[5:]}}))
            except ConnectionClosed:
                pass
            result.close_code = ws.close_code

        receiver = asyncio.create_task(receive())
        tick = 0
        try:
            while not receiver.done() and clock() - t0 < limit:
                if drop_after is not None and clock() - t0 >= drop_after:
                    times["dropped"] = clock()
                    ws.transport.abort()
                    break
                # Twilio's playback: one frame a tick, and the marks behind it
                while queue and isinstance(queue[0], str):
                    name = queue.pop(0)[5:]
                    result.marks.append(name)
                    if name == "end":
                        times["prompt_played"] = clock()
                    await ws.send(json.dumps({"event": "mark", "streamSid": sid,
                                              "mark": {"name": name}}))
                if queue:
                    queue.pop(0)
                    result.played += 1
                # the caller
                now = clock() - t0
                while pending and _due(pending[0], now, times, t0):
                    action = pending.pop(0)
                    if isinstance(action, Say):
                        talking.extend(action.ulaw)
                        times.setdefault("said", clock())
                    else:
                        times.setdefault("pressed", clock())
                        await ws.send(json.dumps({"event": "dtmf", "streamSid": sid,
                                                  "dtmf": {"track": "inbound_track",
                                                           "digit": action.digit}}))
                frame = bytes(talking[:FRAME_BYTES]) if talking else SILENCE
                if talking:
                    del talking[:FRAME_BYTES]
                    if not talking:
                        times["said_end"] = clock()
                frame = frame.ljust(FRAME_BYTES, b"\xff")
                await ws.send(json.dumps({
                    "event": "media", "streamSid": sid,
                    "media": {"track": "inbound", "chunk": str(tick), "timestamp":
                              str(tick * FRAME_MS), "payload": base64.b64encode(frame).decode()}}))
                tick += 1
                await asyncio.sleep(max(0.0, t0 + tick * FRAME_MS / 1000 - clock()))
        except ConnectionClosed:
            pass
        times["closed"] = clock()
        receiver.cancel()
        result.close_code = ws.close_code
        result.refused = ws.close_code == 1008
    return result


def run_call(url: str, call_sid: str, token: str, actions=(), **kwargs) -> StreamResult:
    """``stream_call`` to its end, from code that is not a coroutine: in this thread, or in a
    thread of its own when this one already runs an event loop (a program that drives a
    browser, say), where ``asyncio.run`` cannot start another."""
    def run():
        return asyncio.run(stream_call(url, call_sid, token, actions, **kwargs))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    result: list = []
    failure: list = []

    def in_thread():
        try:
            result.append(run())
        except BaseException as error:   # raised again in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=in_thread, name="kaifong-stream-call")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def _due(action, now: float, times: dict, t0: float) -> bool:
    if action.at is not None:
        return now >= action.at
    played = times.get("prompt_played")
    return played is not None and now >= played - t0 + (action.after_prompt or 0.0)
