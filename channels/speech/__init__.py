"""Offline speech synthesis for the kiosk's read-aloud and the phone's prompts: one service, one
audio cache (``Speech``), served at ``GET /audio/<id>.wav``.

Audio is synthesised with pyttsx3 driving espeak-ng (Cantonese ``yue``, an English voice) in a
separate worker process (``engine``), never in a request thread: pyttsx3's ``runAndWait`` is
known to hang when called repeatedly. Clips are content-addressed by (voice, rate, sample rate,
text), so a prompt is synthesised once and then served from disk by any process that shares the
audio directory.

What must not happen here: personal data in the cache. Channels speak a personal value (an
identity card number, a phone number, a reference) as a sequence of one-character clips
(``Speech.spell``), so no file on disk, and no clip id, holds a whole value.
"""

from .cache import FORMATS, Clip, Speech, speech_for
from .engine import EspeakWorker, SynthesisFailed
from .views import init_app

__all__ = ["FORMATS", "Clip", "EspeakWorker", "Speech", "SynthesisFailed", "init_app",
           "speech_for"]
