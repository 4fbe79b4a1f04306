"""The recognition engine behind a small interface, so that another offline engine (sherpa-onnx
with a Cantonese model, say) is a module of its own beside ``vosk_engine``.

An ``Engine`` holds the models of a process, loaded once and shared by every call; for a call it
makes a ``Recogniser`` (``recogniser(locale, phrases, free)``), or None for a language it has no
model for (that call then goes on by keys). A recogniser is fed 16-bit 8 kHz telephone samples
(``accept``) and gives its ``final`` ``Heard``. Both methods block: the call loop runs them in a
thread pool, never on the event loop.

``phrases`` is what the question expects (the reply's ``expect.grammar`` and the commands any
question takes); ``free`` asks for the model's whole vocabulary (a question wanting free words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["ENGINES", "Engine", "Heard", "Recogniser", "engine_named"]


@dataclass(frozen=True)
class Heard:
    """What was recognised (may be empty: nothing in the grammar was heard) and how sure the
    engine is, 0 to 1."""

    text: str
    confidence: float


class Recogniser(Protocol):
    def accept(self, pcm: np.ndarray) -> None: ...

    def final(self) -> Heard: ...


class Engine(Protocol):
    name: str

    def has(self, locale: str) -> bool: ...

    def recogniser(self, locale: str, phrases: tuple[str, ...], free: bool) -> Recogniser | None:
        ...


def _vosk(models, aliases=None):
    from .vosk_engine import VoskEngine

    return VoskEngine(models, aliases)


#: engine name -> factory(models by locale, aliases by locale)
ENGINES = {"vosk": _vosk}


def engine_named(name: str, models: dict[str, str], aliases: dict | None = None) -> Engine:
    return ENGINES[name](models, aliases)
