"""Speech text as it is said: numbers digit by digit, money, floors, no list markers, and the
Cantonese words espeak-ng reads with the wrong tone respelt."""

from __future__ import annotations

import pytest

from channels.speech.normalise import cantonese_number, spoken


@pytest.mark.parametrize("text,locale,said", [
    ("Questions: call 2852 3125.", "en", "Questions: call 2 8 5 2, 3 1 2 5."),
    ("查詢：請打 2852 3125。", "zh-HK", "查詢：請打 2 8 5 2，3 1 2 5。"),
    ("Your reference is KF0000123.", "en", "Your reference is K F 0 0 0 0 1 2 3."),
    ("Questions: call 1823", "en", "Questions: call 1 8 2 3"),
    ("Dial 999 now.", "en", "Dial 9 9 9 now."),
    ("Fee: $370", "en", "Fee: 370 dollars"),
    ("Fee: $1,000", "en", "Fee: 1000 dollars"),
    ("費用：$370", "zh-HK", "費用：三百七十蚊"),
    ("$2 車費", "zh-HK", "兩蚊 車費"),
    ("每月$4,195", "zh-HK", "每月四千一百九十五蚊"),
    ("Where: Office, 2/F, 303 Road", "en", "Where: Office, second floor, 303 Road"),
    ("地點：G/F", "zh-HK", "地點：地下"),
    ("地點：辦事處，2/F", "zh-HK", "地點：辦事處，二樓"),
    ("1) Bring your card\n2) Come in person", "en", "Bring your card\nCome in person"),
    ("返上一步", "zh-HK", "翻尚一步"),
    ("Aged 65 or older, 2026", "en", "Aged 65 or older, 2026"),
])
def test_spoken(text, locale, said):
    assert spoken(text, locale) == said


@pytest.mark.parametrize("n,said", [(2, "二"), (10, "十"), (12, "十二"), (20, "二十"),
                                    (105, "一百零五"), (370, "三百七十"), (2000, "兩千"),
                                    (4195, "四千一百九十五"), (20000, "兩萬")])
def test_cantonese_numbers(n, said):
    assert cantonese_number(n) == said


@pytest.mark.slow
def test_the_respellings_fix_the_tone_espeak_ng_reads():
    """上一步 is soeng6 (previous), 返 faan1 (back): the respellings make espeak-ng say so."""
    import subprocess

    def phonemes(text):
        return subprocess.run(["espeak-ng", "-v", "yue", "-q", "-x", text], check=True,
                              capture_output=True, text=True).stdout
    assert "oeng5" in phonemes("上一步") and "oeng6" in phonemes(spoken("上一步", "zh-HK"))
    assert "aa2n" in phonemes("返") and "aa1n" in phonemes(spoken("返", "zh-HK"))
