"""Segment counting as carriers do it, against known examples and at every boundary."""

from __future__ import annotations

import pytest

from channels.sms.segments import count_segments, is_gsm7


@pytest.mark.parametrize("text, encoding, units, segments", [
    ("", "GSM-7", 0, 0),
    ("Hello world", "GSM-7", 11, 1),
    # pure GSM-7: 160 in one segment, then parts of 153
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n\r", "GSM-7", 64, 1),
    # the extension table: ESC and a septet, two each
    ("€" * 80, "GSM-7", 160, 1),
    ("€" * 80 + "a", "GSM-7", 161, 2),
    ("a" * 158 + "{", "GSM-7", 160, 1),
    ("a" * 159 + "}", "GSM-7", 161, 2),
    ("[]{}\\^~|€\f", "GSM-7", 20, 1),
    ("a" * 304 + "^", "GSM-7", 306, 2),
    ("a" * 305 + "^", "GSM-7", 307, 3),
    # an escape pair is never cut between two parts: it moves whole to the next one
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
    ("a" * 151 + "€" + "a" * 153, "GSM-7", 306, 2),
    # one Chinese character makes it all UCS-2: 70 in one segment, then parts of 67
    ("字" * 70, "UCS-2", 70, 1),
    ("字" * 71, "UCS-2", 71, 2),
    ("字" * 134, "UCS-2", 134, 2),
    ("字" * 135, "UCS-2", 135, 3),
    ("a" * 69 + "字", "UCS-2", 70, 1),
    ("a" * 70 + "字", "UCS-2", 71, 2),
    ("回覆 1：係", "UCS-2", 6, 1),
    # emoji outside the Basic Multilingual Plane are surrogate pairs: two units each
    ("😀" * 35, "UCS-2", 70, 1),
    ("😀" * 35 + "a", "UCS-2", 71, 2),
    ("😀" * 66, "UCS-2", 132, 2),
    ("😀" * 66 + "a", "UCS-2", 133, 2),
    # 33 emoji fill 66 of a part's 67 units: the 34th moves to the next part
    ("😀" * 67, "UCS-2", 134, 3),
    ("字" * 67 + "😀" + "字" * 65, "UCS-2", 134, 2),
    # ... and a pair is never cut between two parts either
    ("字" * 66 + "😀" + "字" * 66, "UCS-2", 134, 3),
    # characters people expect to be "plain" but are not in GSM-7
    ("It’s 9 am", "UCS-2", 9, 1),
    ("ç", "UCS-2", 1, 1),
    ("\x1b", "UCS-2", 1, 1),     # ESC is the escape itself, not a character one can send
    ("\t", "UCS-2", 1, 1),
])
def test_known_examples(text, encoding, units, segments):
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


def test_gsm7_alphabet():
    assert is_gsm7("Reply 1 for Yes\nReply 2 for No")
    assert is_gsm7("€[]")
    assert not is_gsm7("回覆")
    assert not is_gsm7("🙂")
    assert not is_gsm7("naïve")     # ï is not in the default alphabet
