"""The call loop of one stream: play the question, listen while and after it plays, and decide
the answer from keys or speech. Knows events (``protocol``), not websockets or the store.

* Playing: each clip as 20 ms mu-law frames, paced by the clock (a little ahead, so the line
  never starves), a ``mark`` after each; the no-input timer starts when the last mark comes back
  (Twilio has played everything), or at once when there is nothing to say.
* Barge-in: 240 ms of speech (twelve voiced frames), or any key, while a clip plays: ``clear``
  (Twilio drops what it holds) and nothing more is played.
* Speech: the voice-activity detector (``vad``) finds its start; the recogniser is fed from a
  little before it (the pre-roll) in chunks, in the thread pool, one chunk after another; after
  the question's silence wait (short for a menu or yes/no, longer for digits and free words,
  where older callers pause between groups) the recogniser's final result is the answer. The
  detector holds on to "speech" for a few frames after the words stop (its hangover, about
  100 ms, longer after a click): within an utterance, a frame far quieter than the caller's
  words so far (``Turns.quiet`` of their median loudness) counts as silence too, so that the
  wait is a wait of silence. On a noisy line, where the noise is not that much quieter than the
  words, the detector alone decides, as before. The
  result is worked out early, after 300 ms of the wait, so that it is ready when the wait ends
  (a caller who goes on speaking within the wait has all their words heard again). A
  result with no words (nothing of the grammar heard) is not an answer: listening goes on.
* Keys: a menu's first key answers; an entry (``end_key``) collects keys until that key, or until
  the timeout after the last one, as Twilio's ``<Gather>`` does. A key drops any speech under
  way (a tone is never a word: the detector does not count it as speech either).
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from .protocol import (
    FRAME_BYTES,
    FRAME_MS,
    Dtmf,
    Mark,
    Media,
    Stop,
    clear_frame,
    mark_frame,
    media_frame,
    ulaw_to_pcm,
)
from .vad import VoiceActivity

__all__ = ["Answer", "CallLoop", "Plan", "Turns", "silence_for"]

#: expected kinds whose answers come in groups (digits, dates, free words)
LONG_KINDS = ("number", "date", "hkid", "phone", "text")


@dataclass(frozen=True)
class Turns:
    """Turn-taking, in milliseconds."""

    #: speech that interrupts a clip: the issue asks for "about 300 ms" and for ``clear`` within
    #: 250 ms of the speech's onset; the count is most of that time (a frame arrives when its
    #: 20 ms have been said), so 240: a cough of a quarter of a second may interrupt a prompt
    barge_in: int = 240
    #: speech before an utterance counts (shorter is a click or a cough)
    min_speech: int = 100
    #: audio kept from before the detector's decision, for the recogniser
    preroll: int = 300
    #: silence that ends a menu answer or a yes/no
    short_silence: int = 600
    #: silence that ends digits said aloud or free words
    long_silence: int = 1200
    #: how far ahead of real time audio is sent
    lead: int = 60
    #: frames given to the recogniser at once
    chunk: int = 100
    #: silence after the words still given to the recogniser (the rest of the wait is not)
    trail: int = 300
    #: within an utterance, a frame quieter than this share of the words' median loudness
    #: (RMS) is silence, whatever the detector says (0.1: 20 dB down)
    quiet: float = 0.1


def silence_for(kind: str, turns: Turns) -> int:
    return turns.long_silence if kind in LONG_KINDS else turns.short_silence


@dataclass(frozen=True)
class Plan:
    """One stream's question: its audio and how to listen."""

    stream_sid: str
    #: each clip as mu-law bytes
    clips: tuple[bytes, ...]
    kind: str
    max_keys: int | None = 1
    end_key: str | None = None
    #: seconds without an answer (after the question has been played)
    timeout: float = 10.0
    #: whether speech is listened to (False: keys only)
    speech: bool = True


@dataclass
class Answer:
    digits: str | None = None
    speech: str | None = None
    confidence: float | None = None
    #: what ended the stream: "keys", "speech", "noinput", "hangup"
    how: str = "noinput"
    #: timings of this stream (monotonic seconds), for the benchmark and the tests
    times: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        if self.digits is not None:
            return {"digits": self.digits}
        if self.speech is not None:
            return {"speech": self.speech, "confidence": self.confidence}
        return {}


class CallLoop:
    """``recogniser``: the stream's recogniser, or a future of it (awaited when speech starts),
    or None (keys only)."""

    def __init__(self, plan: Plan, send: Callable[[str], Awaitable[None]], recogniser,
                 executor, turns: Turns | None = None, clock=time.monotonic):
        self.plan = plan
        self.send = send
        self.recogniser = recogniser if plan.speech else None
        self.executor = executor
        self.turns = turns or Turns()
        self.clock = clock
        self.vad = VoiceActivity()
        self.answer: Answer | None = None
        self.times: dict[str, float] = {}
        self._player: asyncio.Task | None = None
        self._playing = False
        self._deadline: float | None = None
        self._keys = ""
        # speech under way
        self._preroll: collections.deque = collections.deque(
            maxlen=self.turns.preroll // FRAME_MS)
        self._voiced = 0
        self._silent = 0
        #: the loudness (RMS) of the utterance's voiced frames
        self._levels: collections.deque = collections.deque(maxlen=200)
        self._heard: list[np.ndarray] | None = None     # an utterance's frames, not yet fed
        self._feeding: asyncio.Queue | None = None
        self._feeder: asyncio.Task | None = None
        self._pending: list[np.ndarray] = []
        self._fed: list[np.ndarray] = []          # what the recogniser was given
        self._early = False                       # its result is being worked out

    # -- the loop --------------------------------------------------------------------------------

    async def run(self, events: asyncio.Queue) -> Answer:
        """Play and listen until there is an answer; ``events`` carries Twilio's events (and
        None when the stream is gone)."""
        self._player = asyncio.create_task(self._play())
        try:
            while self.answer is None:
                timeout = None if self._deadline is None else max(
                    0.0, self._deadline - self.clock())
                try:
                    event = await asyncio.wait_for(events.get(), timeout)
                except TimeoutError:
                    await self._timed_out()
                    continue
                if event is None or isinstance(event, Stop):
                    self.answer = Answer(how="hangup")
                elif isinstance(event, Media):
                    await self._media(event)
                elif isinstance(event, Dtmf):
                    await self._key(event.digit)
                elif isinstance(event, Mark):
                    self._marked(event.name)
        finally:
            if self._player is not None:
                self._player.cancel()
            if self._feeder is not None:
                self._feeder.cancel()
        self.answer.times = dict(self.times)
        return self.answer

    # -- playing ---------------------------------------------------------------------------------

    async def _play(self) -> None:
        sid = self.plan.stream_sid
        if not self.plan.clips:
            self._start_timer()
            return
        self._playing = True
        self.times["play_start"] = start = self.clock()
        sent = 0                                    # frames sent so far
        lead = self.turns.lead / 1000
        for i, clip in enumerate(self.plan.clips):
            for at in range(0, len(clip), FRAME_BYTES):
                due = start + sent * FRAME_MS / 1000 - lead
                wait = due - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not self._playing:
                    return
                await self.send(media_frame(sid, clip[at:at + FRAME_BYTES]))
                if "first_audio" not in self.times:
                    self.times["first_audio"] = self.clock()
                sent += 1
            last = i == len(self.plan.clips) - 1
            await self.send(mark_frame(sid, "end" if last else f"clip{i}"))
        self.times["play_sent"] = self.clock()

    def _marked(self, name: str) -> None:
        if name == "end" and self._playing:
            self._playing = False
            self.times["played"] = self.clock()
            self._start_timer()

    def _start_timer(self) -> None:
        if self._deadline is None and self._heard is None and not self._keys \
                and not self._playing:
            self._deadline = self.clock() + self.plan.timeout

    async def _barge_in(self, why: str) -> None:
        if not self._playing:
            return
        self._playing = False
        if self._player is not None:
            self._player.cancel()
        await self.send(clear_frame(self.plan.stream_sid))
        self.times["clear"] = self.clock()
        self.times["barge_in"] = why
        self._start_timer()

    async def _timed_out(self) -> None:
        self._deadline = None
        if self._keys:                       # an entry left unfinished: what was pressed
            self.answer = Answer(digits=self._keys, how="keys")
        elif self._heard is None:
            self.answer = Answer(how="noinput")

    # -- keys ------------------------------------------------------------------------------------

    async def _key(self, digit: str) -> None:
        self.times.setdefault("key", self.clock())
        await self._barge_in("key")
        self._drop_speech()
        plan = self.plan
        if plan.end_key and digit == plan.end_key:
            self.answer = Answer(digits=self._keys, how="keys")
            return
        self._keys += digit
        if plan.max_keys and len(self._keys) >= plan.max_keys:
            self.answer = Answer(digits=self._keys, how="keys")
            return
        self._deadline = self.clock() + plan.timeout     # the next key, as Gather waits

    # -- speech ----------------------------------------------------------------------------------

    async def _media(self, event: Media) -> None:
        if self.recogniser is None or self._keys:
            return
        pcm = ulaw_to_pcm(event.payload)
        voiced = self.vad.speech(pcm)
        turns = self.turns
        level = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
        if self._heard is None:
            self._preroll.append(pcm)
            if not voiced:
                return
            # a voiced frame: an utterance may be starting
            self._heard = list(self._preroll)
            self._preroll.clear()
            self._voiced, self._silent = 1, 0
            self._levels.clear()
            self._levels.append(level)
            self.times["onset"] = self.clock()
            return
        if voiced:           # the detector's hangover, or a click, in the quiet after words
            if level < turns.quiet * float(np.median(self._levels)):
                voiced = False
            else:
                self._levels.append(level)
        if self._feeding is None:
            self._heard.append(pcm)
        elif voiced or self._silent * FRAME_MS < turns.trail:
            # the recogniser needs a little silence after the words, not the whole wait
            self._pending.append(pcm)
            if len(self._pending) * FRAME_MS >= turns.chunk:
                self._feed(self._pending)
                self._pending = []
        if voiced:
            self._voiced += 1
            self._silent = 0
        else:
            self._silent += 1
        speech_ms = self._voiced * FRAME_MS
        if self._feeding is None:
            if speech_ms >= turns.min_speech:
                self._start_feeding()
            elif self._silent * FRAME_MS >= turns.preroll:    # a click: not an utterance
                self._preroll.extend(self._heard[-self._preroll.maxlen:])
                self._heard = None
                self.times.pop("onset", None)
                self._start_timer()
                return
        if self._playing and speech_ms >= turns.barge_in:
            await self._barge_in("speech")
        if self._feeding is None:
            return
        silence = self._silent * FRAME_MS
        if not self._early and silence >= turns.trail:
            # the recogniser has the words and enough silence: its result is worked out now,
            # while the wait runs on (if the caller goes on, the words are given again)
            self._feed(self._pending)
            self._pending = []
            self._feeding.put_nowait(None)
            self._early = True
        elif self._early and voiced:
            self._resume()
        if silence >= silence_for(self.plan.kind, turns):
            self.times["speech_end"] = self.clock() - silence / 1000
            self.times["end_decided"] = self.clock()
            await self._finish_speech()

    def _start_feeding(self) -> None:
        self._deadline = None                     # someone is talking: no "no input" now
        self._feeding = asyncio.Queue()
        self._feeder = asyncio.create_task(self._feed_loop(self._feeding, None))
        self._fed = []
        self._early = False
        self._feed(self._heard)
        self._pending = []

    def _resume(self) -> None:
        """The caller spoke again after the result was worked out: a new result from all the
        words (the recogniser starts afresh after a result, so they are given again)."""
        self.times["resumed"] = self.clock()
        frames = self._fed + self._pending
        self._fed, self._pending = [], []
        self._early = False
        self._feeding = asyncio.Queue()
        self._feeder = asyncio.create_task(self._feed_loop(self._feeding, self._feeder))
        self._feed(frames)

    def _feed(self, frames: list[np.ndarray]) -> None:
        if frames:
            self._fed.extend(frames)
            self._feeding.put_nowait(np.concatenate(frames))

    async def _feed_loop(self, chunks: asyncio.Queue, before: asyncio.Task | None):
        """Give the recogniser each chunk, one after another, in the thread pool; at None, its
        result. ``before``: an earlier loop on the same recogniser, to finish first."""
        if before is not None:
            try:
                await before
            except Exception:                     # noqa: BLE001 (its result is not wanted)
                pass
        loop = asyncio.get_running_loop()
        recogniser = self.recogniser
        if isinstance(recogniser, asyncio.Future):        # still being made
            recogniser = await recogniser
        while True:
            chunk = await chunks.get()
            if chunk is None:
                return await loop.run_in_executor(self.executor, recogniser.final)
            await loop.run_in_executor(self.executor, recogniser.accept, chunk)

    async def _finish_speech(self) -> None:
        if not self._early:
            self._feed(self._pending)
            self._feeding.put_nowait(None)
        self._pending = []
        heard = await self._feeder
        self.times["recognised"] = self.clock()
        self._feeding = self._feeder = None
        self._heard = None
        self._early = False
        self._voiced = self._silent = 0
        if heard.text:
            self.answer = Answer(speech=heard.text, confidence=round(heard.confidence, 3),
                                 how="speech")
        else:                                     # nothing of the grammar: listen on
            self._start_timer()

    def _drop_speech(self) -> None:
        """A key was pressed: what was being said is not the answer."""
        if self._feeder is not None:       # the recogniser is not used again on this stream
            self._feeder.cancel()
        self._feeding = self._feeder = None
        self._heard = None
        self._pending, self._fed = [], []
        self._early = False
        self._voiced = self._silent = 0
