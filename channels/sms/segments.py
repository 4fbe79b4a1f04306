"""SMS segment counting as carriers do it: GSM-7 (with its two-septet escapes) or UCS-2.

Pure functions; no I/O. A message is GSM-7 when every character is in the GSM 03.38 default
alphabet or its extension table; an extension character (``€``, ``[``, ``{`` ...) is sent as ESC
plus a septet, so it takes two. Any other character (one Chinese character, one emoji, a curly
quote) makes the whole message UCS-2, counted in UTF-16 code units: a character outside the
Basic Multilingual Plane (most emoji) is a surrogate pair and takes two.

A message that does not fit in one segment (160 septets, or 70 units) is sent in parts that
each lose room to the concatenation header (153 septets, or 67 units). A part never ends in the
middle of a character: an escape pair or a surrogate pair that would straddle the boundary moves
whole to the next part, so such a message can need one part more than its length divided by 153
(or 67). ``count_segments`` fills the parts the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GSM7_BASIC", "GSM7_EXTENDED", "SegmentCount", "count_segments", "is_gsm7"]

# GSM 03.38 default alphabet (ESC, 0x1B, is the escape itself, not a character one can send)
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str      # "GSM-7" or "UCS-2"
    units: int         # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def count_segments(text: str) -> SegmentCount:
    if is_gsm7(text):
        sizes = [2 if ch in GSM7_EXTENDED else 1 for ch in text]
        single, part, encoding = GSM7_SINGLE, GSM7_PART, "GSM-7"
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "UCS-2"
    units = sum(sizes)
    if units == 0:
        return SegmentCount(encoding, 0, 0)
    if units <= single:
        return SegmentCount(encoding, units, 1)
    segments, used = 1, 0
    for size in sizes:           # whole characters into each part, as the carrier fills them
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return SegmentCount(encoding, units, segments)
