"""The synthesis engine: pyttsx3 (espeak-ng) in a worker process of its own.

``EspeakWorker.synthesise(text, voice, rate, sample_rate, path)`` writes a mono 16-bit WAV at
``sample_rate`` (espeak-ng speaks at 22,050 Hz; telephone audio is resampled to 8,000 Hz with
soxr). The worker process is started on first use, handles one clip at a time, and is killed and
started again when a clip takes longer than the timeout, so a hung engine costs one clip, never a
request thread. Nothing here logs the text being spoken.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import wave
from pathlib import Path

log = logging.getLogger(__name__)

#: espeak-ng's own sample rate
NATIVE_RATE = 22050


class NoAudio(ValueError):
    """The engine wrote a file with no samples in it."""


class SynthesisFailed(Exception):
    """A clip could not be synthesised (engine missing, hung, or failed); the caller falls back."""


def _worker_main() -> None:  # pragma: no cover - runs in the child process
    """``python -m channels.speech.engine``: one JSON job a line on stdin, one answer a line."""
    # answers go to the real stdout; anything the engine prints goes nowhere
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    def answer(status: str, detail: str | None = None) -> None:
        answers.write(json.dumps([status, detail]) + "\n")
        answers.flush()

    try:
        import pyttsx3

        engine = pyttsx3.init("espeak")
    except Exception as exc:  # noqa: BLE001 (any failure: the parent reports it, per clip)
        answer("error", f"engine unavailable: {type(exc).__name__}: {exc}")
        return
    answer("ready")
    for line in sys.stdin:
        try:
            text, voice, rate, sample_rate, path = json.loads(line)
            native = f"{path}.native.wav"
            engine.setProperty("voice", voice)
            engine.setProperty("rate", rate)
            # now and then the engine hands back an empty file (seen with one-letter clips while
            # other processes synthesise): one more try before the clip counts as failed
            for attempt in (1, 2):
                engine.save_to_file(text, native)
                engine.runAndWait()
                try:
                    _convert(native, path, sample_rate)
                    break
                except NoAudio:
                    if attempt == 2:
                        raise
                finally:
                    if os.path.exists(native):
                        os.unlink(native)
            answer("ok")
        except Exception as exc:  # noqa: BLE001 (one clip failed; the worker goes on)
            answer("error", f"{type(exc).__name__}: {exc}")


def _convert(source: str, target: str, sample_rate: int) -> None:
    import numpy as np

    with wave.open(source, "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        frames = w.readframes(w.getnframes())
    if width != 2 or channels != 1:
        raise ValueError(f"unexpected audio from the engine: {channels} channels, {width} bytes")
    samples = np.frombuffer(frames, dtype="<i2")
    if not len(samples):
        raise NoAudio("the engine produced no audio")
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
    """The parent's handle on the worker process; thread-safe, one clip at a time.

    A plain subprocess (``python -m channels.speech.engine``), not multiprocessing: it needs
    nothing from the parent's ``__main__``, so it starts the same under waitress, gunicorn, the
    command line and pytest."""

    def __init__(self, timeout: float = 20.0):
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None

    def synthesise(self, text: str, voice: str, rate: int, sample_rate: int, path: Path) -> None:
        with self._lock:
            proc = self._ensure()
            try:
                proc.stdin.write(json.dumps([text, voice, int(rate), int(sample_rate),
                                             str(path)]) + "\n")
                proc.stdin.flush()
            except OSError:
                self._stop()
                raise SynthesisFailed("the engine process ended") from None
            status, detail = self._answer(proc)
            if status != "ok":
                raise SynthesisFailed(detail)

    def _answer(self, proc: subprocess.Popen) -> tuple[str, str | None]:
        ready, _, _ = select.select([proc.stdout], [], [], self.timeout)
        if not ready:
            self._stop()
            raise SynthesisFailed(f"the engine took more than {self.timeout:g} s")
        line = proc.stdout.readline()
        if not line:
            self._stop()
            raise SynthesisFailed("the engine process ended")
        status, detail = json.loads(line)
        return status, detail

    def _ensure(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        proc = subprocess.Popen(
            [sys.executable, "-m", "channels.speech.engine"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, encoding="utf-8",
            cwd=str(Path(__file__).resolve().parents[2]), bufsize=1)
        self._proc = proc
        status, detail = self._answer(proc)
        if status != "ready":
            self._stop()
            raise SynthesisFailed(detail)
        return proc

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe:
                    pipe.close()
        self._proc = None

    def close(self) -> None:
        with self._lock:
            self._stop()


if __name__ == "__main__":  # pragma: no cover
    _worker_main()
