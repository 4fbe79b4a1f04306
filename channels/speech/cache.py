"""The speech service and its audio cache: clips addressed by what they say and how.

A ``Clip`` is (text, voice, words a minute, sample rate); its id is a hash of those, so the same
prompt in the same voice is one file, whoever asked for it. Two formats: ``kiosk`` (22,050 Hz,
the engine's own) and ``phone`` (8,000 Hz, what a telephone carries).

``ensure`` synthesises a clip now (the phone channel needs the file before it sends TwiML, and
falls back to ``<Say>`` when it is None); ``want`` only notes what a page will ask for and
synthesises it in the background (the kiosk's page is not held up, and ``GET /audio/<id>.wav``
finishes the job if the button is pressed first). A note is the clip's text in a small JSON file
beside the audio: only prompts go there, never personal values (see ``spell``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .engine import EspeakWorker, SynthesisFailed

log = logging.getLogger(__name__)

#: sample rate of each audio format
FORMATS = {"kiosk": 22050, "phone": 8000}
#: bump when the engine's output changes for the same inputs (old files are then not reused)
CACHE_VERSION = "1"
#: Cantonese with espeak-ng's "Annie" variant: its wider pitch range keeps the six tones apart
#: (measured by bench/bench_phone_budget.py: 7.2 semitones between the tones' mean pitches
#: against 3.6 for plain ``yue``, tones 3 and 6 2.2 semitones apart against 1.1)
DEFAULT_VOICES = {"en": "gmw/en", "zh-HK": "sit/yue+Annie"}
DEFAULT_RATE = 160
RATE_LIMITS = (80, 400)
#: how long a one-listener clip is kept (long enough for Twilio or the kiosk to fetch it)
ONCE_SECONDS = 600
#: what ``spell`` says for characters the engine would read badly or not at all
_SPELLING = {"(": None, ")": None, " ": None, "-": None, "#": None, "*": None}


@dataclass(frozen=True)
class Clip:
    text: str
    locale: str
    voice: str
    rate: int
    sample_rate: int
    #: a clip made for one listener (a personal value read back): a random name instead of a
    #: hash of the words, kept for ``ONCE_SECONDS`` and never noted, cached or reused
    once: str | None = None

    @property
    def id(self) -> str:
        if self.once:
            return self.once
        key = "\0".join([CACHE_VERSION, self.voice, str(self.rate), str(self.sample_rate),
                         self.text])
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    @property
    def url(self) -> str:
        return f"/audio/once/{self.once}.wav" if self.once else f"/audio/{self.id}.wav"


#: a source of the clips to render ahead of time: (catalogue) -> clips
StaticSource = Callable[[object, "Speech"], Iterable[Clip]]


class Speech:
    """One per app (``speech_for(app)``): voices, rate, the cache directory and the engine."""

    def __init__(self, directory: Path | str, voices: dict[str, str] | None = None,
                 rate: int = DEFAULT_RATE, engine=None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.voices = dict(DEFAULT_VOICES if voices is None else voices)
        self.rate = int(rate)
        self.engine = engine if engine is not None else EspeakWorker()
        self.static_sources: list[StaticSource] = []
        self._queue: queue.Queue[Clip] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._closed = threading.Event()

    # -- clips -------------------------------------------------------------------------------

    def clip(self, text: str, locale: str, fmt: str = "kiosk") -> Clip:
        text = " ".join(text.split())
        if not text:
            raise ValueError("a clip needs some text")
        voice = self.voices.get(locale) or self.voices["en"]
        return Clip(text, locale, voice, self.rate, FORMATS[fmt])

    def spell(self, value: str, locale: str, fmt: str = "kiosk") -> list[Clip]:
        """A personal value as one clip per character ("A", "1", "2" ...), so that nothing in
        the cache, or in a clip id, holds the value itself."""
        clips = []
        for ch in str(value):
            said = _SPELLING.get(ch, ch)
            if said:
                clips.append(self.clip(said, locale, fmt))
        return clips

    def say(self, text: str, locale: str, fmt: str = "kiosk", spell: Iterable[str] = (),
            private: Iterable[str] = ()) -> list[Clip]:
        """A text as clips: a sentence each (sentences recur across prompts, so the cache holds
        each once), with every value in ``spell`` spelled out where it appears, and every
        value in ``private`` a clip of its own for this listener only (``once``)."""
        clips: list[Clip] = []
        for piece, kind in split_values(text, spell, private):
            if kind == "spell":
                clips += self.spell(piece, locale, fmt)
            elif kind == "private":
                clips.append(self.once(piece, locale, fmt))
            else:
                clips += [self.clip(s, locale, fmt) for s in sentences(piece)]
        return clips

    def once(self, text: str, locale: str, fmt: str = "kiosk") -> Clip:
        """A clip for one listener: not addressed by its words, synthesised when wanted,
        deleted after ``ONCE_SECONDS``."""
        clip = self.clip(text, locale, fmt)
        return Clip(clip.text, clip.locale, clip.voice, clip.rate, clip.sample_rate,
                    once=secrets.token_hex(16))

    def path(self, clip: Clip | str) -> Path:
        if isinstance(clip, Clip) and clip.once:
            return self.once_path(clip.once)
        cid = clip if isinstance(clip, str) else clip.id
        return self.directory / f"{cid}.wav"

    def once_path(self, token: str) -> Path:
        return self.directory / "once" / f"{token}.wav"

    def sweep_once(self, now: float | None = None) -> int:
        """Delete one-listener clips older than ``ONCE_SECONDS``; how many went."""
        return sweep_once_clips(self.directory, now)

    def ready(self, clip: Clip) -> bool:
        return self.path(clip).exists()

    # -- synthesis ---------------------------------------------------------------------------

    def ensure(self, clip: Clip) -> Path | None:
        """The clip's file, synthesised now if missing; None when synthesis failed (logged)."""
        path = self.path(clip)
        if path.exists():
            return path
        if clip.once:
            path.parent.mkdir(exist_ok=True)
            self.sweep_once()
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".wav")
        os.close(fd)
        try:
            self.engine.synthesise(clip.text, clip.voice, clip.rate, clip.sample_rate, Path(tmp))
            if not clip.once:
                self._note(clip)      # what it says, for the simulators and the next process
            os.replace(tmp, path)     # atomic: a reader sees the whole file or none
        except (SynthesisFailed, OSError) as exc:
            # the clip id and voice only: the text of a prompt can carry a filled-in value
            log.error("speech: synthesis failed for clip %s (voice %s, %d Hz): %s",
                      clip.id, clip.voice, clip.sample_rate, exc)
            return None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    def want(self, clips: Iterable[Clip]) -> None:
        """Note clips a page will ask for, and synthesise the missing ones in the background."""
        for clip in clips:
            if self.path(clip).exists():
                continue
            if clip.once:         # its words are kept nowhere, so it cannot wait for later
                self.ensure(clip)
                continue
            self._note(clip)
            if not self._closed.is_set():
                self._queue.put(clip)
                self._start_thread()

    def _note(self, clip: Clip) -> None:
        note = self.directory / f"{clip.id}.json"
        if note.exists():
            return
        tmp = note.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"text": clip.text, "locale": clip.locale, "voice": clip.voice,
                                   "rate": clip.rate, "sample_rate": clip.sample_rate}),
                       encoding="utf-8")
        os.replace(tmp, note)

    def noted(self, clip_id: str) -> Clip | None:
        """A clip that ``want`` noted (by any process sharing the directory), or None."""
        try:
            data = json.loads((self.directory / f"{clip_id}.json").read_text(encoding="utf-8"))
            clip = Clip(data["text"], data["locale"], data["voice"], int(data["rate"]),
                        int(data["sample_rate"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return clip if clip.id == clip_id else None

    def _start_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, name="kaifong-speech-queue",
                                                daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        while not self._closed.is_set():
            try:
                clip = self._queue.get(timeout=5)
            except queue.Empty:
                return
            try:
                if not self._closed.is_set():
                    self.ensure(clip)
            finally:
                self._queue.task_done()

    def wait_background(self, timeout: float = 60.0) -> None:
        """For tests and the command line: until the background queue is empty."""
        done = threading.Event()
        threading.Thread(target=lambda: (self._queue.join(), done.set()), daemon=True).start()
        done.wait(timeout)

    # -- ahead of time -----------------------------------------------------------------------

    def static_clips(self, catalogue) -> list[Clip]:
        """Every clip the channels say they will need, without repeats, in a stable order."""
        seen: dict[str, Clip] = {}
        for source in self.static_sources:
            for clip in source(catalogue, self):
                seen.setdefault(clip.id, clip)
        return list(seen.values())

    def prerender(self, clips: Iterable[Clip],
                  progress: Callable[[int, int, int], None] | None = None) -> tuple[int, int]:
        """Synthesise the missing ones; returns (synthesised, failed). ``progress(done, total,
        failed)`` is called after each clip."""
        clips = list(clips)
        missing = [c for c in clips if not self.ready(c)]
        made = failed = 0
        for i, clip in enumerate(missing, 1):
            if self.ensure(clip) is None:
                failed += 1
            else:
                made += 1
            if progress:
                progress(i, len(missing), failed)
        return made, failed

    def close(self) -> None:
        """Stop: what is still queued is dropped (a page asking for it later synthesises it
        then), and the engine's process ends."""
        self._closed.set()
        with self._thread_lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        close = getattr(self.engine, "close", None)
        if close:
            close()


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")


def sentences(text: str) -> list[str]:
    """Sentences (and lines) of a text, without those with nothing to say (a lone full stop)."""
    return [s.strip() for s in _SENTENCE_END.split(text)
            if s and any(ch.isalnum() for ch in s)]


def split_values(text: str, spell: Iterable[str] = (),
                 private: Iterable[str] = ()) -> list[tuple[str, str | None]]:
    """``text`` cut into (piece, kind) around each occurrence of the values: kind "spell" or
    "private" (a value in both is spelled), None for the words between. At one place the
    longest value wins."""
    values = {v: "spell" for v in spell if v}
    values.update((v, "private") for v in private if v and v not in values)
    if not values:
        return [(text, None)]
    pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    out: list[tuple[str, str | None]] = []
    at = 0
    for m in pattern.finditer(text):
        if m.start() > at:
            out.append((text[at:m.start()], None))
        out.append((m.group(0), values[m.group(0)]))
        at = m.end()
    if at < len(text):
        out.append((text[at:], None))
    return out


def sweep_once_clips(directory: Path, now: float | None = None) -> int:
    """Delete the one-listener clips under ``directory`` older than ``ONCE_SECONDS``; how many
    went. Also run by the retention purge, which has no synthesiser."""
    folder = Path(directory) / "once"
    if not folder.is_dir():
        return 0
    limit = (now if now is not None else time.time()) - ONCE_SECONDS
    gone = 0
    for path in folder.glob("*.wav"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                gone += 1
        except FileNotFoundError:
            pass
    return gone


def speech_for(app) -> Speech:
    return app.extensions["kaifong_speech"]
