"""Who is speaking, 20 ms at a time: a voice-activity detector, and a detector of keypad tones.

The detector is WebRTC's (``webrtcvad``, from the ``webrtcvad-wheels`` binary wheels): a small
Gaussian-mixture model in C that classifies a 10/20/30 ms frame of 8 kHz audio in microseconds,
with no model file and no torch. It tells speech from line noise and breathing much better than
an energy threshold (a quiet old voice on a noisy line crosses no fixed threshold; a loud
hiss does), and a neural VAD (Silero) would bring torch or onnxruntime into every process for a
decision this detector makes well enough at telephone bandwidth.

Keypad tones (DTMF) must not become words: ``is_tone`` finds a frame whose energy sits in one
row frequency and one column frequency of the keypad (a Goertzel filter per frequency), and such
a frame counts as silence, and is not given to the recogniser.
"""

from __future__ import annotations

import numpy as np
import webrtcvad

from .protocol import SAMPLE_RATE

__all__ = ["DTMF_FREQUENCIES", "VoiceActivity", "is_tone"]

DTMF_FREQUENCIES = (697, 770, 852, 941, 1209, 1336, 1477, 1633)
#: 0 (least aggressive) to 3: 2 keeps soft speech and drops most steady line noise
AGGRESSIVENESS = 2


class VoiceActivity:
    """``speech(pcm)``: whether a 20 ms frame of 16-bit 8 kHz samples holds speech."""

    def __init__(self, aggressiveness: int = AGGRESSIVENESS):
        self._vad = webrtcvad.Vad(aggressiveness)

    def speech(self, pcm: np.ndarray) -> bool:
        if is_tone(pcm):
            return False
        return self._vad.is_speech(pcm.astype(np.int16).tobytes(), SAMPLE_RATE)


def _goertzel_basis(n: int) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    return np.stack([np.exp(-2j * np.pi * f * t) for f in DTMF_FREQUENCIES])


_BASIS = {160: _goertzel_basis(160)}


def is_tone(pcm: np.ndarray, share: float = 0.6) -> bool:
    """Whether a frame is a keypad tone: its strongest row and column frequency together carry
    at least ``share`` of its energy (speech spreads its energy over many frequencies)."""
    x = np.asarray(pcm, dtype=np.float64)
    energy = float(np.dot(x, x))
    if energy < len(x) * 100.0 ** 2:          # too quiet to be a key (or anything)
        return False
    basis = _BASIS.get(len(x))
    if basis is None:
        basis = _BASIS[len(x)] = _goertzel_basis(len(x))
    power = np.abs(basis @ x) ** 2 * 2.0 / len(x)   # a sinusoid's energy at each frequency
    row, column = power[:4].max(), power[4:].max()
    return (row + column) >= share * energy and min(row, column) > 0.1 * max(row, column)
