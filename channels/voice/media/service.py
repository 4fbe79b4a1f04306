"""The media service: an asyncio websocket server for Twilio's bidirectional Media Streams at
``/voice/stream``, beside the web app (``kaifong serve``) or alone (``kaifong media``).

A WSGI thread per call would hold a server thread for the whole call, and waitress cannot upgrade
a connection: so this is its own asyncio server, one coroutine per stream, with the blocking work
in thread pools: recognition in one sized to the machine's cores, the store and the clips in
another (so that a stream's start or answer never waits behind decoding).

A stream: ``start`` carries the token (``token``) that the TwiML passed; without a valid one for
this call, the stream is closed, with no reason given. The step the stream answers is read from
the call's channel data (it must still be the call's current step); its clips are read from the
speech cache (synthesised now if missing) and played; the call loop decides the answer; the
answer is kept for (CallSid, n) and the stream closed, so that Twilio requests ``/voice/turn``,
which reads it. Nothing the caller said is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import wave
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..audio import PhoneAudio
from ..callstep import ENTRY_KINDS, CallStep
from .answers import keep_answer, read_call_data
from .loop import CallLoop, Plan, Turns
from .protocol import BadFrame, Start, parse, pcm_to_ulaw
from .token import verify

__all__ = ["PATH", "MediaService", "digit_words", "service_for", "start_in_thread"]

log = logging.getLogger(__name__)

PATH = "/voice/stream"
#: how long a connection may take to send ``start``
START_SECONDS = 5
#: digits said aloud, added to the grammar of an entry (a number, a date ...)
DIGIT_WORDS = {"en": ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"),
               "zh-HK": ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")}


def digit_words(locale: str) -> tuple[str, ...]:
    return DIGIT_WORDS.get(locale, DIGIT_WORDS["en"])


@dataclass
class Stream:
    """What one stream is for (after its token and the call's data were checked)."""

    call_sid: str
    n: int
    conversation_id: int
    step: CallStep


class MediaService:
    def __init__(self, store, speech, engine, key: bytes, turns: Turns | None = None,
                 workers: int | None = None):
        self.store = store
        self.speech = speech
        self.engine = engine
        self.key = key
        self.turns = turns or Turns()
        #: decoding: as many threads as cores
        self.executor = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2,
                                           thread_name_prefix="kaifong-media")
        #: the store and the clips (waiting on a disk or a lock, not on the processor): apart,
        #: so that a stream's start or answer never waits behind other calls' decoding
        self.io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kaifong-media-io")
        self._clips: OrderedDict[str, bytes] = OrderedDict()
        self._clips_lock = threading.Lock()
        #: the last streams' answers (for the benchmark): (call_sid, n) -> Answer
        self.answers: OrderedDict = OrderedDict()
        self.streams = 0

    # -- a connection ----------------------------------------------------------------------------

    async def handler(self, websocket) -> None:
        path = getattr(getattr(websocket, "request", None), "path", PATH) or PATH
        if path.split("?")[0] != PATH:
            await websocket.close(1008)
            return
        try:
            start = await asyncio.wait_for(self._start(websocket), START_SECONDS)
            stream = await self._io(self._admit, start)
        except (TimeoutError, BadFrame):
            stream = None
        except Exception as error:                # the store, a clip: the call goes on by keys
            log.error("media: a stream could not start: %s", type(error).__name__)
            stream = None
        if stream is None:
            await websocket.close(1008)           # refused, with no reason given
            return
        self.streams += 1
        try:
            await self._serve(websocket, start, stream)
        finally:
            self.streams -= 1

    async def _start(self, websocket) -> Start:
        async for text in websocket:
            event = parse(text)
            if isinstance(event, Start):
                return event
        raise BadFrame("closed before start")

    def _admit(self, start: Start) -> Stream | None:
        """The stream's step, if its token is valid for this call and the step is the call's
        current one (blocking: the store)."""
        claims = verify(self.key, start.parameters.get("token", ""), start.call_sid)
        if claims is None:
            return None
        data = read_call_data(self.store, claims.conversation_id)
        last = data.get("last") or {}
        if data.get("call") != claims.call_sid or data.get("n") != claims.n or \
                not last.get("listen"):
            return None
        return Stream(claims.call_sid, claims.n, claims.conversation_id,
                      CallStep.from_dict(last))

    async def _serve(self, websocket, start: Start, stream: Stream) -> None:
        listen = stream.step.listen
        # the question plays as soon as its clips are read; the recogniser (made in the
        # decoding pool, behind other calls' audio) is awaited only when the caller speaks
        hears = self._hears(listen)
        recogniser = asyncio.ensure_future(self._run(self._recogniser, listen)) if hears \
            else None
        clips = await self._io(self._audio, stream.step)
        plan = Plan(start.stream_sid, tuple(clips), listen.kind, listen.max_keys,
                    listen.end_key, float(listen.timeout), hears)
        events: asyncio.Queue = asyncio.Queue()

        async def read():
            try:
                async for text in websocket:
                    try:
                        events.put_nowait(parse(text))
                    except BadFrame:
                        break
            except Exception:                     # the connection dropped
                pass
            events.put_nowait(None)

        async def send(text: str) -> None:
            await websocket.send(text)

        reader = asyncio.create_task(read())
        loop = CallLoop(plan, send, recogniser, self.executor, self.turns)
        try:
            answer = await loop.run(events)
        except Exception as error:                # a send on a closed connection, above all
            log.info("media: a stream ended early: %s", type(error).__name__)
            answer = None
        finally:
            reader.cancel()
        if answer is not None and answer.how != "hangup":
            await self._io(keep_answer, self.store, stream.conversation_id, stream.call_sid,
                            stream.n, answer.to_dict())
            self.answers[(stream.call_sid, stream.n)] = answer
            while len(self.answers) > 1000:
                self.answers.popitem(last=False)
        try:
            await websocket.close()
        except Exception:
            pass

    async def _run(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def _io(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.io, function, *args)

    # -- what a stream plays and how it listens ---------------------------------------------------

    def _hears(self, listen) -> bool:
        return bool(listen.speech) and self.engine is not None and self.engine.has(listen.locale)

    def _recogniser(self, listen):
        free = listen.kind == "text"
        phrases = tuple(listen.phrases)
        if listen.kind in ENTRY_KINDS and not free:
            phrases += digit_words(listen.locale)
        return self.engine.recogniser(listen.locale, phrases, free)

    def _audio(self, step: CallStep) -> list[bytes]:
        """The step's clips as mu-law (cached in memory by clip id; a one-listener clip never
        is)."""
        phone = PhoneAudio(self.speech, "")
        out = []
        for speak in step.speak:
            for clip in phone.clips(speak):
                key = None if clip.once else clip.id
                with self._clips_lock:
                    data = self._clips.get(key) if key else None
                    if data is not None:
                        self._clips.move_to_end(key)
                if data is None:
                    path = self.speech.ensure(clip)
                    if path is None:
                        continue                  # could not be synthesised (logged there)
                    data = ulaw_clip(path)
                    if key:
                        with self._clips_lock:
                            self._clips[key] = data
                            while len(self._clips) > 2000:
                                self._clips.popitem(last=False)
                out.append(data)
        return out

    # -- serving ---------------------------------------------------------------------------------

    async def serve(self, host: str, port: int, ready: threading.Event | None = None,
                    stop: asyncio.Event | None = None) -> None:
        from websockets.asyncio.server import serve

        async with serve(self.handler, host, port, max_size=2 ** 16, compression=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            if ready is not None:
                ready.set()
            await (stop.wait() if stop is not None else asyncio.Future())

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.io.shutdown(wait=False, cancel_futures=True)


def ulaw_clip(path) -> bytes:
    """A cached 8 kHz 16-bit WAV as mu-law bytes."""
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != 8000 or w.getsampwidth() != 2:
            raise ValueError("a phone clip is 8 kHz 16-bit")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            pcm = pcm[::w.getnchannels()]
    return pcm_to_ulaw(pcm)


def start_in_thread(service: MediaService, host: str, port: int):
    """Run the service on an event loop of its own thread (beside waitress); returns the thread
    and a function that stops it."""
    ready = threading.Event()
    state: dict = {}

    def run():
        loop = asyncio.new_event_loop()
        state["loop"] = loop
        stop = asyncio.Event()
        state["stop"] = stop
        try:
            loop.run_until_complete(service.serve(host, port, ready, stop))
        except BaseException as error:              # the port is taken ...
            state["error"] = error
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="kaifong-media", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in state:
        raise state["error"]

    def stop():
        loop = state.get("loop")
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)

    return thread, stop


def service_for(app, aliases: dict | None = None) -> MediaService | None:
    """The media service of an app whose phone listens with ``vosk``; None otherwise (no
    ``TWILIO_AUTH_TOKEN``, or another recogniser). Its models are loaded now, once."""
    from ...speech import speech_for
    from .engine import engine_named
    from .token import stream_key

    channel = app.extensions.get("kaifong_voice")
    if channel is None or channel.settings.recogniser != "vosk":
        return None
    engine = engine_named("vosk", dict(channel.settings.vosk_models), aliases)
    engine.load()
    return MediaService(app.extensions["kaifong"].store, speech_for(app), engine,
                        stream_key(app.config["TWILIO_AUTH_TOKEN"].strip()))
