"""Text as it should be spoken, before synthesis: what espeak-ng would read wrongly, rewritten.

A reader sees "Fee: $370", "2/F" and "call 2852 3125" and knows how to say them; a synthesiser
reads "dollar three hundred seventy", "two slash F" and "twenty-eight million ...". So, per
language:

  * phone numbers (8 digits, "2852 3125"), the emergency number, a short number to call
    ("call 1823") and references ("KF0000123") are said one digit at a time;
  * amounts are money: "$370" -> "370 dollars" / 「三百七十蚊」;
  * floors are said as floors: "2/F" -> "second floor" / 「二樓」, "G/F" -> "ground floor" / 「地下」;
  * list markers ("1) ", "2. " at the start of a line) are dropped: next to "press 1" they
    sound like keys;
  * in Cantonese, words espeak-ng's ``yue`` dictionary reads with the wrong tone are respelt
    with a homophone it reads right (上一步 is read soeng5, "to go up"; 返 faan2 instead of faan1).

Pure: no I/O. Used by the phone's audio (and usable by any channel that speaks); what is shown
on a screen or sent by text message is never changed by it.
"""

from __future__ import annotations

import re

__all__ = ["RESPELLINGS", "cantonese_number", "spoken"]

#: Cantonese words espeak-ng 1.51 reads with the wrong tone, and a respelling it reads right
#: (checked with ``espeak-ng -v yue -x``): 上 in 上一步 is soeng6 ("previous"), not soeng5
#: ("to go up"); 返 (faan1, "back") is read faan2.
RESPELLINGS = {"上一步": "尚一步", "上一條": "尚一條", "返": "翻"}

_DIGITS_ZH = "零一二三四五六七八九"
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth",
             7: "seventh", 8: "eighth", 9: "ninth", 10: "tenth", 11: "eleventh",
             12: "twelfth"}

_REFERENCE = re.compile(r"\b[A-Z]{2}\d{7}\b")
_PHONE = re.compile(r"(?<![\d$])(?:\+?852[ -]?)?(\d{4})[ -]?(\d{4})(?![\d])")
_EMERGENCY = re.compile(r"(?<!\d)999(?!\d)")
#: a short number to call (the 1823 hotline): said digit by digit, not "eighteen twenty-three"
_HOTLINE = re.compile(r"(\b(?:call|dial|phone)\s+|(?:打|致電|電話)\s*)(\d{3,6})(?!\d)", re.I)
_MONEY = re.compile(r"(?:HK)?\$ ?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
_FLOOR = re.compile(r"\b(G|LG|UG|\d{1,2})/F\b", re.I)
_LIST_MARKER = re.compile(r"(^|\n)[ \t]*\d{1,2}[).][ \t]+")


def spoken(text: str, locale: str) -> str:
    """``text`` as it should be said in ``locale`` ("en" or "zh-HK")."""
    zh = locale != "en"
    text = _LIST_MARKER.sub(r"\1", text)
    text = _REFERENCE.sub(lambda m: _spaced(m.group(0), zh), text)
    text = _PHONE.sub(lambda m: _spaced(m.group(1), zh) + ("，" if zh else ", ")
                      + _spaced(m.group(2), zh), text)
    text = _EMERGENCY.sub(lambda m: _spaced(m.group(0), zh), text)
    text = _HOTLINE.sub(lambda m: m.group(1) + _spaced(m.group(2), zh), text)
    text = _MONEY.sub(lambda m: _money(m, zh), text)
    text = _FLOOR.sub(lambda m: _floor(m.group(1), zh), text)
    if zh:
        for wrong, right in RESPELLINGS.items():
            text = text.replace(wrong, right)
    return text


def _spaced(value: str, zh: bool) -> str:
    return " ".join(value)


def _money(m: re.Match, zh: bool) -> str:
    dollars = int(m.group(1).replace(",", ""))
    cents = int((m.group(2) or "0").ljust(2, "0"))
    if zh:
        said = ("兩" if dollars == 2 else cantonese_number(dollars)) + "蚊" if dollars else ""
        if cents:
            tenths = cents // 10
            said += ("兩" if tenths == 2 else cantonese_number(tenths)) + "毫" if tenths else ""
        return said or "零蚊"
    unit = "dollar" if dollars == 1 else "dollars"
    said = f"{dollars} {unit}"
    return f"{said} {cents}" if cents else said


def _floor(name: str, zh: bool) -> str:
    name = name.upper()
    if name in ("G", "LG", "UG"):
        if zh:
            return {"G": "地下", "LG": "低層地下", "UG": "高層地下"}[name]
        return {"G": "ground floor", "LG": "lower ground floor", "UG": "upper ground floor"}[name]
    n = int(name)
    if zh:
        return cantonese_number(n) + "樓"
    return f"{_ORDINALS.get(n, str(n) + 'th')} floor"


def cantonese_number(n: int) -> str:
    """0 to 99,999,999 in Chinese numerals as said in Cantonese: 370 -> 三百七十, 12 -> 十二,
    105 -> 一百零五, 2000 -> 兩千."""
    if n < 0 or n >= 100_000_000:
        return str(n)
    if n < 10:
        return _DIGITS_ZH[n]
    if n < 20:
        return "十" + (_DIGITS_ZH[n - 10] if n > 10 else "")
    if n >= 10_000:
        high, low = divmod(n, 10_000)
        head = ("兩" if high == 2 else cantonese_number(high)) + "萬"
        if not low:
            return head
        return head + ("零" if low < 1000 else "") + _below_10000(low, leading=False)
    return _below_10000(n, leading=True)


def _below_10000(n: int, leading: bool) -> str:
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero and out:
                out += "零"
            zero = False
            if digit == 2 and unit in ("千", "百") and not out:
                out += "兩" + unit
            elif digit == 1 and unit == "十" and not out and leading:
                out += "十"
            else:
                out += _DIGITS_ZH[digit] + unit
        elif out:
            zero = True
    return out
