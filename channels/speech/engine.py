"""The synthesis engine: pyttsx3 (espeak-ng) in a worker process of its own.

``EspeakWorker.synthesise(text, voice, rate, sample_rate, path)`` writes a mono 16-bit WAV at
``sample_rate`` (espeak-ng speaks at 22,050 Hz; telephone audio is resampled to 8,000 Hz with
soxr). The worker process is started on first use, handles one clip at a time, and is killed and
started again when a clip takes longer than the timeout, so a hung engine costs one clip, never a
request thread. Nothing here logs the text being spoken.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import wave
from pathlib import Path

log = logging.getLogger(__name__)

#: espeak-ng's own sample rate
NATIVE_RATE = 22050


class SynthesisFailed(Exception):
    """A clip could not be synthesised (engine missing, hung, or failed); the caller falls back."""


def _worker_main(conn) -> None:  # pragma: no cover - runs in the child process
    import contextlib
    import io

    try:
        import pyttsx3

        engine = pyttsx3.init("espeak")
    except Exception as exc:  # the parent reports it, once per clip asked
        conn.send(("error", f"engine unavailable: {type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        text, voice, rate, sample_rate, path = job
        try:
            native = f"{path}.native.wav"
            engine.setProperty("voice", voice)
            engine.setProperty("rate", rate)
            # pyttsx3 prints "Audio saved to ..." on stdout: keep it out of the service's output
            with contextlib.redirect_stdout(io.StringIO()):
                engine.save_to_file(text, native)
                engine.runAndWait()
            _convert(native, path, sample_rate)
            os.unlink(native)
            conn.send(("ok", None))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _convert(source: str, target: str, sample_rate: int) -> None:
    import numpy as np

    with wave.open(source, "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        frames = w.readframes(w.getnframes())
    if width != 2 or channels != 1:
        raise ValueError(f"unexpected audio from the engine: {channels} channels, {width} bytes")
    samples = np.frombuffer(frames, dtype="<i2")
    if not len(samples):
        raise ValueError("the engine produced no audio")
    if rate != sample_rate:
        import soxr

        resampled = soxr.resample(samples.astype(np.float32) / 32768.0, rate, sample_rate, "HQ")
        samples = np.clip(np.round(resampled * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(target, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.tobytes())


class EspeakWorker:
    """The parent's handle on the worker process; thread-safe, one clip at a time."""

    def __init__(self, timeout: float = 20.0):
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None

    def synthesise(self, text: str, voice: str, rate: int, sample_rate: int, path: Path) -> None:
        with self._lock:
            conn = self._ensure()
            conn.send((text, voice, int(rate), int(sample_rate), str(path)))
            if not conn.poll(self.timeout):
                self._stop()
                raise SynthesisFailed(f"the engine took more than {self.timeout:g} s")
            try:
                status, detail = conn.recv()
            except EOFError:
                self._stop()
                raise SynthesisFailed("the engine process ended") from None
            if status != "ok":
                raise SynthesisFailed(detail)

    def _ensure(self):
        if self._proc is not None and self._proc.is_alive():
            return self._conn
        self._stop()
        ctx = mp.get_context("spawn")   # no fork of a threaded server
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child,), daemon=True,
                           name="kaifong-speech")
        proc.start()
        child.close()
        if not parent.poll(self.timeout):
            proc.kill()
            raise SynthesisFailed("the engine did not start")
        try:
            status, detail = parent.recv()
        except EOFError:
            raise SynthesisFailed("the engine process ended at start") from None
        if status != "ready":
            proc.join(5)
            raise SynthesisFailed(detail)
        self._proc, self._conn = proc, parent
        return parent

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def close(self) -> None:
        with self._lock:
            self._stop()
