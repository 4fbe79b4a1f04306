"""Vosk (Kaldi) as the recognition engine: one model per language, loaded once per process and
shared; one ``KaldiRecognizer`` per call, with a runtime grammar of the phrases the question
expects, or the model's whole vocabulary for free words.

Models are configured by path per language (``KAIFONG_VOSK_MODEL_EN``,
``KAIFONG_VOSK_MODEL_ZH_HK``; see the README for where to get them: there is no Cantonese Vosk
model today). A grammar may only use the model's words: a phrase with a word the model does not
know is left out of the grammar (Vosk would drop the word and keep the rest, which would then
match something else). ``aliases`` maps, per language, a phrase to the model's words for it (a
deployment's, or a test's that drives the Korean model with English answers); what is heard is
mapped back to the phrase.

Vosk's confidence is each word's posterior; the utterance's is the lowest of its words'. Kaldi
hands telephone audio at 8 kHz to a 16 kHz model through its own resampler (the models set
``--allow-upsample``).
"""

from __future__ import annotations

import json
import threading

import numpy as np

from .engine import Heard

__all__ = ["VoskEngine"]

UNKNOWN = "[unk]"


class VoskEngine:
    name = "vosk"

    def __init__(self, models: dict[str, str], aliases: dict[str, dict[str, str]] | None = None):
        #: locale -> model directory
        self.paths = {locale: path for locale, path in models.items() if path}
        self.aliases = {locale: {k.lower(): v for k, v in a.items()}
                        for locale, a in (aliases or {}).items()}
        self._models: dict = {}
        self._lock = threading.Lock()

    def has(self, locale: str) -> bool:
        return locale in self.paths

    def model(self, locale: str):
        """The language's model, loaded on first use (once, whichever thread asks first)."""
        path = str(self.paths[locale])
        with self._lock:                  # by path: two languages on one model share it
            model = self._models.get(path)
            if model is None:
                import vosk

                vosk.SetLogLevel(-1)
                try:
                    model = vosk.Model(path)
                except Exception as exc:            # vosk raises a bare Exception
                    raise OSError(f"the Vosk model for {locale} could not be loaded from "
                                  f"{path}") from exc
                self._models[path] = model
            return model

    def load(self) -> None:
        """Load every configured model now (the service's start-up, not a caller's first turn)."""
        for locale in self.paths:
            self.model(locale)

    def recogniser(self, locale: str, phrases: tuple[str, ...], free: bool):
        if not self.has(locale):
            return None
        import vosk

        model = self.model(locale)
        aliases = self.aliases.get(locale, {})
        back: dict[str, str] = {}
        if free:
            recogniser = vosk.KaldiRecognizer(model, 8000)
        else:
            grammar: list[str] = []
            for phrase in phrases:
                for said in _forms(aliases.get(phrase.lower(), phrase)):
                    if said and all(model.vosk_model_find_word(w) >= 0 for w in said.split()):
                        grammar.append(said)
                        back.setdefault(said, phrase)
            if not grammar:
                return None                       # nothing it could hear: keys only
            if model.vosk_model_find_word(UNKNOWN) >= 0:
                grammar.append(UNKNOWN)
            recogniser = vosk.KaldiRecognizer(
                model, 8000, json.dumps(list(dict.fromkeys(grammar)), ensure_ascii=False))
        recogniser.SetWords(True)
        return _VoskRecogniser(recogniser, back, free)


def _forms(value) -> list[str]:
    words = [value] if isinstance(value, str) else list(value)
    return [" ".join(w.lower().split()) for w in words]


class _VoskRecogniser:
    def __init__(self, recogniser, back: dict[str, str], free: bool):
        self._r = recogniser
        self._back = back
        self._free = free

    def accept(self, pcm: np.ndarray) -> None:
        self._r.AcceptWaveform(np.asarray(pcm, dtype=np.int16).tobytes())

    def final(self) -> Heard:
        result = json.loads(self._r.FinalResult())
        words = [w for w in result.get("result", ()) if w.get("word") != UNKNOWN]
        text = " ".join(w["word"] for w in words)
        if not words:
            return Heard("", 0.0)
        confidence = min(float(w.get("conf", 0.0)) for w in words)
        if not self._free:
            # a grammar lets its phrases follow one another: "yes yes" is "yes"
            text = _once(text, self._back)
            # a whole phrase of the grammar back to what it stands for; words outside any
            # phrase (the grammar lets them through one by one) go to the core as they are
            text = self._back.get(text, text)
        return Heard(text, confidence)


def _once(text: str, phrases: dict) -> str:
    """A phrase said again and again, once."""
    words = text.split()
    for n in range(1, len(words) // 2 + 1):
        if len(words) % n == 0:
            head = " ".join(words[:n])
            if head in phrases and words == words[:n] * (len(words) // n):
                return head
    return text
