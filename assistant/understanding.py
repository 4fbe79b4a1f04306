"""Turning what a citizen typed or said into values: numbers, yes/no, HKID, phone, dates, choices,
and recognising a request for a person in any words.

Citizens write Cantonese, Chinese and English, often mixed, with typos, full-width characters
and stray punctuation. Every parser here is a pure function that returns ``None`` when it is not
sure, so the caller can ask again; a wrong guess (a wrong date, a wrong phone number) costs an
older person far more than one more question. When a message holds two different answers
("70 or 80", "yes no", two dates), the parsers return ``None`` rather than pick one, and a
rough answer (七十幾, "about 70") is returned as rough, for the caller to read back. What a
number or a date is for (an age, money, a birth date, an appointment) is the caller's
``context``: it decides a two-digit year and whether "none" is 0.

This module must not do I/O, keep state, log, or know about channels, locales or procedures;
it imports only the standard library and rapidfuzz. No function here raises on any ``str``
input (``hkid_check_digit`` and ``phone_kind`` raise ``ValueError`` on invalid arguments,
because they are given values the caller already holds, not citizen text).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Literal, NamedTuple

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

# ---------------------------------------------------------------------------------------------
# Text clean-up

_SPACE_CONTROLS = "\t\n\r\v\f\x85"
_PAIRS = {"(": ")", "[": "]", "{": "}", "「": "」", "『": "』", "《": "》", "〈": "〉", "【": "】"}
_CLOSERS = {close: open_ for open_, close in _PAIRS.items()}
_APOSTROPHES = "'\u2019\u02bc`"


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _clean(text: str) -> str:
    """NFKC, controls removed, lowercase, whitespace collapsed; punctuation untouched."""
    # Lone surrogates (from bad decoding upstream) would make NFKC and regexes misbehave;
    # a round trip through UTF-16 joins valid pairs and replaces lone halves with U+FFFD.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = unicodedata.normalize("NFKC", text)
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in _SPACE_CONTROLS or cat in ("Zs", "Zl", "Zp"):
            kept.append(" ")
        elif cat not in ("Cc", "Cf"):  # zero-width and bidi marks break matching invisibly
            kept.append(ch)
    return " ".join("".join(kept).lower().split())


def normalise(text: str) -> str:
    """Clean ``text`` for parsing: NFKC, no controls, lowercase, single spaces, no edge punctuation.

    Brackets at an edge are kept when their partner is inside the text, so ``A123456(7)`` and
    ``(852) 9123 4567`` survive while ``「係」`` becomes ``係``.
    """
    s = _clean(text)
    changed = True
    while s and changed:
        changed = False
        first, last = s[0], s[-1]
        if _is_punct(first) and not (first in _PAIRS and _PAIRS[first] in s[1:-1]):
            s, changed = s[1:].lstrip(), True
        elif _is_punct(last) and not (last in _CLOSERS and _CLOSERS[last] in s[1:-1]):
            s, changed = s[:-1].rstrip(), True
    return s


def strip_punct(text: str) -> str:
    """``normalise`` and then remove every punctuation mark and symbol (emoji included).

    Apostrophes are dropped without a space so that "don't" and "dont" compare equal.
    """
    s = "".join(ch for ch in normalise(text) if ch not in _APOSTROPHES)
    return " ".join("".join(" " if _is_punct(ch) else ch for ch in s).split())


#: the Chinese (CJK unified and compatibility) ideographs, as a regular-expression class body
CJK_CHARS = "\u3400-\u9fff\uf900-\ufaff"
_HAS_CHINESE = re.compile(f"[{CJK_CHARS}]")


def has_chinese(text: str) -> bool:
    """Any Chinese character in the text (what makes a message Chinese, or a phrase a run of
    characters rather than words)."""
    return _HAS_CHINESE.search(text) is not None


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\u3040" <= ch <= "\u30ff"


# ---------------------------------------------------------------------------------------------
# Numbers

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "貳": 2, "贰": 2, "兩": 2, "两": 2,
    "三": 3, "參": 3, "叁": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陸": 6,
    "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
_CN_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_TENS = {"廿": 20, "卅": 30, "卌": 40}  # Cantonese contractions: 廿三 = 23
_CN_BIG = {"萬": 10_000, "万": 10_000, "億": 100_000_000, "亿": 100_000_000}
_CN_CHARS = "".join([*_CN_DIGITS, *_CN_SMALL, *_CN_TENS, *_CN_BIG])
_CN_RUN = re.compile(f"[{_CN_CHARS}]+")
_MAX_DIGITS = 15  # no answer is longer; int() of 4300+ digits even raises ValueError


def chinese_numeral_to_int(s: str) -> int | None:
    """Value of a Chinese numeral such as 七十五, 一百零五, 廿三, 三千五百, 兩萬五 or 二零二六.

    Returns ``None`` unless the whole (stripped) string is a well-formed numeral. A bare
    百/千/萬 is not a number. Digit-by-digit readings (二零二六 = 2026) are accepted, and the
    spoken short form where a final digit counts in the next lower unit (一百五 = 150,
    三千五 = 3500) follows Cantonese usage.
    """
    s = s.strip()
    if not s or any(ch not in _CN_CHARS for ch in s):
        return None
    if len(s) > 1 and all(ch in _CN_DIGITS for ch in s):
        if len(s) > _MAX_DIGITS:
            return None
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    total, section = 0, 0
    digit: int | None = None
    last_small, last_big = 10**5, 10**9  # units must go down, or "十百" would be accepted
    prev_unit: int | None = None  # unit right before the final digit, for 一百五
    for ch in s:
        if ch in _CN_DIGITS:
            if digit:  # two digits in a row ("三五十") are not a numeral
                return None
            digit = _CN_DIGITS[ch]
            if digit == 0:
                prev_unit = None  # 一百零五 is 105, not 150
        elif ch in _CN_TENS:
            if digit or last_small <= 10:
                return None
            section, last_small, digit, prev_unit = section + _CN_TENS[ch], 10, None, None
        elif ch in _CN_SMALL:
            unit = _CN_SMALL[ch]
            if unit >= last_small or (not digit and unit != 10):
                return None
            section += (digit or 1) * unit
            last_small, digit, prev_unit = unit, None, unit
        else:
            big = _CN_BIG[ch]
            group = section + (digit or 0)
            if big >= last_big or group == 0:
                return None
            total += group * big
            section, digit, prev_unit, last_small, last_big = 0, None, big, 10**5, big
    if digit:
        section += digit * prev_unit // 10 if prev_unit and prev_unit >= 100 else digit
    return total + section


_EN_UNITS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])}
_EN_TEENS = {w: i + 10 for i, w in enumerate(
    ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
     "eighteen", "nineteen"])}
_EN_TENS = {w: (i + 2) * 10 for i, w in enumerate(
    ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])}
_EN_NUMBER_WORDS = {**_EN_UNITS, **_EN_TEENS, **_EN_TENS, "hundred": 100, "thousand": 1000,
                    "million": 1_000_000}
# Which word kinds may follow which inside one number ("seventy five" yes, "five seventy" no).
_EN_FOLLOWS = {
    "unit": {None, "ten", "hundred", "thousand", "million"},
    "teen": {None, "hundred", "thousand", "million"},
    "ten": {None, "hundred", "thousand", "million"},
    "hundred": {"unit", "teen"},
    "thousand": {"unit", "teen", "ten", "hundred"},
    "million": {"unit", "teen", "ten", "hundred"},
}


def _english_numbers(text: str) -> list[int]:
    words = re.findall(r"[a-z]+|[^a-z\s-]+", text)
    found: list[int] = []
    total, cur, last, millions = 0, 0, None, 0

    def flush() -> None:
        nonlocal total, cur, last, millions
        if last is not None:
            found.append(millions + total + cur)
        total, cur, last, millions = 0, 0, None, 0

    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word == "a" and nxt in ("hundred", "thousand", "million"):
            word = "one"
        if word == "and" and last in ("hundred", "thousand") and nxt in _EN_NUMBER_WORDS:
            continue
        if word not in _EN_NUMBER_WORDS:
            flush()
            continue
        kind = ("unit" if word in _EN_UNITS else "teen" if word in _EN_TEENS
                else "ten" if word in _EN_TENS else word)
        if last not in _EN_FOLLOWS[kind] or (kind == "thousand" and total) or (
                kind == "million" and (millions or total)):
            flush()
            if kind in ("hundred", "thousand", "million"):  # a bare "hundred" is not a number
                continue
        if kind == "hundred":
            cur *= 100
        elif kind == "thousand":
            total, cur = cur * 1000, 0
        elif kind == "million":
            millions, cur = cur * 1_000_000, 0
        else:
            cur += _EN_NUMBER_WORDS[word]
        last = kind
    flush()
    return found


_NEGATIVE = re.compile(r"(?:^|[^\w])-\s*\d|\b(?:minus|negative)\b|負\s*[\d" + _CN_CHARS + "]")


_HESITATION = re.compile(r"\b(?:um+|uh+|er+|erm+|ah+|hmm+|mm+|well|like)\b|呃|嗯|唔係好肯定|即係")


class NumberAnswer(NamedTuple):
    """A number as a citizen gave it: its value, and whether they said it only roughly
    (七十幾, "about 70", "over 80"), which must be read back, never taken as exact."""

    value: int
    approximate: bool = False


# Words that make a number rough. 幾 / 多 count only right after a numeral (七十幾, 4000多),
# so 幾多 ("how much") in a question said back is not one.
_APPROX_ZH = re.compile(
    rf"(?:[\d{_CN_CHARS}])\s*(?:幾|几|多|有多|零幾)(?![{_CN_CHARS}\d])|左右|上下|大約|大概|差唔多|差不多|"
    r"估計|約|接近|超過|過咗|以上|以下|唔夠|不到|未夠|至少|最少|起碼|幾乎|差啲|成[\d一二三四五六七八九十兩]|"
    rf"(?:[\d{_CN_CHARS}])\s*(?:尾|頭|出頭|零(?![\d一二三四五六七八九]))|就快|快到|將近|未到|"
    r"下個月|下年|明年|上年|去年|嚟緊|今年就"
)
_APPROX_EN = re.compile(
    r"\b(?:about|around|approximately|approx|roughly|nearly|almost|over|above|under|below|"
    r"more than|less than|at least|at most|or so|or more|or less|and above|or above|and over|"
    r"something|odd|ish|plus|circa|close to|"
    r"round about|give or take|maybe|probably|not quite|just over|just under|upwards of|"
    r"next month|next year|last year|turning|will be|going to be|soon)\b"
    r"|\d\s*\+|~|\d-?ish\b|\d+s\b"
)
# Only a range or a vague amount: no one value to read back.
_VAGUE = re.compile(
    r"(?<![\d" + _CN_CHARS + r"])幾(?:十|百|千|萬|万)|好多|唔少|少少|一啲|唔多|冇幾多|無幾多|"
    r"\b(?:a few|several|some|many|lots|a lot|not much|a little|hundreds|thousands|half)\b|半"
    r"|[\d" + _CN_CHARS + r"]\s*(?:至|到|or|to|-|～|~)\s*[\d" + _CN_CHARS + r"]"
)
_EN_SCALE = {"k": 1000, "thousand": 1000, "grand": 1000, "m": 1_000_000, "mil": 1_000_000,
             "million": 1_000_000, "millions": 1_000_000, "b": 1_000_000_000,
             "billion": 1_000_000_000}
_ZH_SCALE = {"十": 10, "百": 100, "千": 1000, "仟": 1000, "萬": 10_000, "万": 10_000,
             "億": 100_000_000}
# a number in digits with a scale after it: 5k, 1.5 million, 3萬5, 1.2萬, 100萬
_SCALED = re.compile(
    r"(?<![\d.,])(\d+(?:\.\d+)?)\s*(?:(k|thousand|grand|mil|million|millions|m|b|billion)\b"
    r"|(萬|万|千|仟|百|億)(?:\s*([\d一二三四五六七八九兩两])(?![\d" + _CN_CHARS + r"]))?)"
)
# having none: an income or savings of nothing
_ZERO_ZH = ("冇", "無", "沒有", "没有", "零", "乜都冇", "咩都冇", "一蚊都冇", "一分都冇", "一毫都冇",
            "分文都冇", "全部冇", "都冇", "冇晒", "冇曬", "0")
_ZERO_EN = ("nil", "none", "nothing", "zero", "not any", "not a cent", "not a penny",
            "nought", "naught", "null", "nada", "n/a", "na", "0", "no income", "no savings",
            "no money", "no assets", "no pension", "no salary", "no wages", "no cash")
_ZERO_TOPIC = re.compile(
    r"收入|入息|人工|工資|糧|錢|積蓄|儲蓄|存款|資產|財產|家產|現金|銀行|戶口|嘢|任何|晒|曬|"
    r"[呀啊啦喇㗎嘅吖囉嘛喎嘞噃咋架呢喔哦噢]|我|都|係|真係|完全|根本|而家|現在|每個月|每月|一個月|"
    r"\b(?:income|savings|saving|money|cash|assets|asset|at all|whatsoever|i have|i've got|"
    r"have|got|there is|there's|its|it's|it is|i|am|a|month|per|each|every|currently|now|"
    r"really|completely|absolutely|sorry|dollars|hkd|hk|earn|earned|receive|get|make|"
    r"in|the|bank|of|any|just|only|my|no|none|nothing|nil|zero|right|well|um|er|uh)\b|\$|元|蚊"
)
_NONE_OF_MONEY = re.compile(
    r"(?:冇|無|沒有|没有)\s*(?:收入|入息|錢|積蓄|儲蓄|存款|資產|人工|糧)"
    r"|\b(?:no|zero|nil)\s+(?:income|savings|money|assets|pension|salary|wages)\b")
_CURRENCY = re.compile(r"hk\$|hkd|\$|港幣|港元|港紙|元|蚊|dollars?|bucks")


def _scaled_value(number: str, unit: str | None, zh_unit: str | None,
                  tail: str | None) -> int | None:
    scale = _EN_SCALE[unit] if unit else _ZH_SCALE[zh_unit or ""]
    whole, _, frac = number.partition(".")
    if len(whole) > _MAX_DIGITS or len(frac) > 6:
        return None
    value = int(whole) * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
    if frac and (int(frac) * scale) % 10 ** len(frac):
        return None                     # 1.2345k is not a whole number of dollars
    if tail:                            # 3萬5 = 35000: the digit counts in the next unit down
        digit = int(tail) if tail.isdigit() else _CN_DIGITS[tail]
        value += digit * scale // 10
    return value


def read_number(text: str, context: str | None = None) -> NumberAnswer | None:
    """The one number in ``text`` and whether it was given roughly, or ``None``.

    Reads digits ("1,000", "$12,000"), Chinese (七十八, 萬五, 一萬二, 百五), English
    ("seventy-five", "1.5 million") and scales (5k, 3萬5, 1.5萬). With ``context="money"``,
    having none (冇, "nil", "nothing") is 0. Rough answers (七十幾, "nearly 70", 四千幾,
    "over 80") come back with ``approximate=True``; vague ones (幾千, "a few thousand"), two
    numbers, decimals and negatives give ``None``.
    """
    t = _clean(text)
    if not t or _NEGATIVE.search(t):
        return None
    t = _HESITATION.sub(" ", t)
    t = re.sub(rf"(?<=[十百千萬])有(?=[{_CN_CHARS}])", "", t)     # 七十有六 = 76
    approximate = bool(_APPROX_ZH.search(t) or _APPROX_EN.search(t))
    values: set[int] = set()
    rest = t
    for m in list(_SCALED.finditer(t)):
        value = _scaled_value(m.group(1), m.group(2), m.group(3), m.group(4))
        if value is None:
            return None
        values.add(value)
        rest = rest.replace(m.group(), " ", 1)
    if _VAGUE.search(rest if values else t):
        return None
    for m in re.finditer(r"(?<![\d,])\d{1,3}(?:,\d{3})+(?![\d,])|\d+(?:\.\d+)?", rest):
        if "." in m.group() or len(m.group()) > _MAX_DIGITS:
            return None
        values.add(int(m.group().replace(",", "")))
    runs = [m.group() for m in _CN_RUN.finditer(rest)]
    # a number said again, finished: "七十，七十三" is 73
    runs = [r for i, r in enumerate(runs) if not any(
        later != r and later.startswith(r) for later in runs[i + 1:])]
    for run in runs:
        n = chinese_numeral_to_int(run)
        if n is None and run[0] in "萬万千仟百":   # 萬五, 千二, 百五: one of that unit
            n = chinese_numeral_to_int("一" + run)
        if n is not None:
            values.add(n)
    values.update(_english_numbers(rest))
    if not values and context == "money" and _says_none(t):
        return NumberAnswer(0, False)
    if values and context == "money" and _NONE_OF_MONEY.search(t):
        return None         # 我冇收入，但有三萬積蓄: which is the answer? ask again
    if len(values) != 1:
        return None
    return NumberAnswer(values.pop(), approximate)


def _says_none(t: str) -> bool:
    """The whole message says "none" (冇, "nil", "no income"), and nothing else."""
    plain = " ".join(_CURRENCY.sub(" ", strip_punct(t)).split())
    if not plain or re.search(r"唔知|唔記得|not sure|don.?t know|好少|唔多|少少|不多|not much|little|"
                              r"幾多|how much|冇幾|無幾", plain):
        return False
    hit = any(z in plain for z in _ZERO_ZH) or any(
        re.search(rf"(?<![a-z]){re.escape(z)}(?![a-z])", plain) for z in _ZERO_EN)
    if not hit:
        return False
    rest = _ZERO_TOPIC.sub(" ", plain)
    for z in sorted((*_ZERO_ZH, *_ZERO_EN), key=len, reverse=True):
        rest = rest.replace(z, " ") if not z.isascii() else re.sub(
            rf"(?<![a-z]){re.escape(z)}(?![a-z])", " ", rest)
    return not rest.strip()


def parse_number(text: str) -> int | None:
    """The one non-negative whole number in ``text``, written in digits, Chinese or English.

    "I am 70", "七十三歲", "seventy-five", "1,000", "5k", 萬五 all work. ``None`` when there is
    no number, two different numbers ("70 or 80"), a decimal, a negative, or a rough answer
    (七十幾, "about 70": see ``read_number``). Numeral characters inside words count (星期一
    gives 1), so call it only when a number is what was asked for.
    """
    found = read_number(text)
    return found.value if found is not None and not found.approximate else None


# ---------------------------------------------------------------------------------------------
# Yes / no

_UNSURE = "unsure"
_YES_EN = [
    "yes", "y", "yeah", "yea", "yep", "yup", "ya", "ok", "okay", "sure", "correct", "right", "true",
    "alright", "thats right", "of course", "no problem", "no worries", "yes please", "agree",
    "i do", "i have", "i did", "i would", "i want", "yes i do", "yes i have", "indeed",
    "definitely", "absolutely", "certainly", "sure thing", "why not", "go ahead", "uh huh",
    "affirmative", "i think so", "yes i did", "yes i would",
]
_NO_EN = [
    "no", "n", "nope", "nah", "nay", "not", "wrong", "incorrect", "no thanks", "no thank you",
    "dont", "do not", "not yet", "of course not", "never", "no need", "not needed",
    "not necessary", "not really", "not at all", "never mind", "nevermind", "i dont", "i do not",
    "i have not", "i havent", "i did not", "i didnt", "i am not", "im not", "no no", "no way",
    "no i dont", "no i have not", "no i havent", "dont need", "do not need", "i dont need",
    "no its ok", "its ok no", "no its fine", "thats all", "nothing else", "absolutely not",
    "definitely not", "certainly not", "not at all thanks",
]
_UNSURE_EN = ["not sure", "dont know", "do not know", "maybe", "perhaps", "i dont know",
              "i do not know", "no idea", "dunno", "i am not sure", "im not sure",
              "i dont remember", "i forgot", "cant remember", "i cannot remember"]
_YES_ZH = [
    "係", "係呀", "係啊", "係嘅", "好", "好呀", "好啊", "得", "冇問題", "無問題", "沒問題",
    "可以", "啱", "啱呀", "對", "是", "要", "同意", "明白", "冇錯", "無錯", "沒錯", "需要", "當然",
]
_NO_ZH = [
    "唔係", "唔要", "唔好", "不是", "不要", "唔得", "唔啱", "錯", "否", "唔同意", "冇", "無",
    "不", "沒有", "唔使", "不用",
]
_UNSURE_ZH = ["唔知", "不知道", "唔肯定", "唔清楚", "可能", "有冇", "有無", "係咪", "使唔使", "駛唔駛",
              "洗唔洗", "好似", "或者", "未知", "唔記得"]
# Echo answers: the verb of the question said back (想唔想 -> 想, 有冇 -> 有 / 冇, ...咗未 ->
# 做咗 / 未). Only short replies count, so "我想問下..." is not a yes.
_ECHO_ZH = {
    True: ["想", "有", "會", "識", "去", "用", "做咗", "有咗", "去咗", "攞咗", "打咗", "交咗", "報咗",
           "申請咗", "登記咗", "住咗", "有呀", "係啦", "好啦", "得啦", "ok", "okay", "要呀"],
    False: ["唔想", "未", "未有", "未做", "未去", "未試過", "唔會", "唔識", "唔去", "唔用", "唔洗", "唔駛",
            "唔需要", "不需要", "唔使喇", "唔洗喇", "唔駛喇", "免喇", "免了", "算喇", "算啦", "算數",
            "冇需要", "唔使麻煩", "不用了", "唔要喇", "唔好喇", "冇嘢", "冇喇", "未呀", "未曾",
            "從來冇", "未試", "唔係呀", "冇呀", "唔使啦", "唔洗啦", "未夠", "唔夠"],
}
_ECHO_PARTICLES = set("呀啊喇啦囉吖㗎嘅啩嘛咩我都係就先了的喎嘞哦噢誒唉")
_NEUTRAL_ZH = ["唔該", "多謝", "謝謝", "你好"]  # politeness that contains 好/唔 but answers nothing
_ZH_NEGATORS = "唔不冇無沒未"
# Single words only one typo away from a yes/no word but meaning something else.
_NOT_TYPOS = {
    "yet", "yen", "yew", "yum", "yap", "okra", "surf", "sue", "tree", "note", "nose", "node",
    "nape", "wring", "wrung",
}
_FUZZY_YES_NO = {w: w in _YES_EN for w in [
    "yes", "yeah", "yep", "yup", "okay", "sure", "correct", "right", "true", "nope", "wrong",
    "incorrect"]}


def _tokens(text: str) -> list[str]:
    # English words stay whole; every other character (CJK) is its own token.
    return re.findall(r"[a-z0-9]+|\S", text)


def _build_yes_no_phrases() -> dict[tuple[str, ...], bool | str | None]:
    table: dict[tuple[str, ...], bool | str | None] = {}
    for words, value in [(_YES_EN + _YES_ZH, True), (_NO_EN + _NO_ZH, False),
                         (_UNSURE_EN + _UNSURE_ZH, _UNSURE), (_NEUTRAL_ZH, None)]:
        table.update((tuple(_tokens(w)), value) for w in words)
    for value, words in _ECHO_ZH.items():
        for w in words:
            table.setdefault(tuple(_tokens(w)), value)
    # "not really": 唔太想, 唔係好需要, 冇乜興趣 are no, not a yes with a word before it
    for w in [*_ECHO_ZH[True], *_YES_ZH]:
        if has_chinese(w):
            for soft in ("唔太", "唔係好", "唔係幾", "唔係咁", "唔多", "冇乜", "無乜", "不太", "唔大",
                         "唔怎", "唔係太", "唔算"):
                table[tuple(soft + w)] = False
    # Negation must win over the positive it contains: 唔係, 不可以, "not ok".
    for word in _YES_ZH:
        for neg in _ZH_NEGATORS:
            table.setdefault(tuple(neg + word), False)
        table.setdefault(tuple(word[0] + "唔" + word), _UNSURE)  # 係唔係, 可唔可以: a question
    for word in _YES_EN:
        if " " not in word:
            table.setdefault(("not", word), False)
    return table


_YES_NO_PHRASES = _build_yes_no_phrases()
_ECHO_KEYS = frozenset(tuple(_tokens(w)) for ws in _ECHO_ZH.values() for w in ws) - frozenset(
    tuple(_tokens(w)) for w in _YES_EN + _YES_ZH + _NO_EN + _NO_ZH)
_LONGEST_PHRASE = max(len(k) for k in _YES_NO_PHRASES)


def _squeeze(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


def _fuzzy_yes_no(word: str) -> bool | None:
    if len(word) < 3 or word in _NOT_TYPOS:  # 1-2 letter words only count when exact
        return None
    squeezed = _squeeze(word)  # "yesss", "noo", "okk"
    if squeezed in ("no", "ok"):
        return squeezed == "ok"
    hits = {
        polarity
        for target, polarity in _FUZZY_YES_NO.items()
        if target[0] == word[0]
        and OSA.distance(squeezed, _squeeze(target)) <= (1 if len(target) <= 5 else 2)
    }
    return hits.pop() if len(hits) == 1 else None


def parse_yes_no(text: str) -> bool | None:
    """``True`` for yes, ``False`` for no, ``None`` when unclear, contradictory or unrelated.

    Longest phrases are matched first, so 唔係, 冇問題, "not ok" and "no problem" are read as
    wholes. Typos are forgiven on English words of three letters or more, only in short
    answers. Digits are not answers here: the caller maps keypad keys itself. A reply in
    clauses (有，我每年返鄉下大半年; 唔記得咗，冇) is read clause by clause: one clause that
    answers, with the others saying nothing either way, is the answer.
    """
    found = _yes_no_of(text)
    if found is None or found == _UNSURE:
        clauses = [c for c in re.split(r"[,，。.!！?？;；、]+|\s+(?=\S*[\u3400-\u9fff])"
                                       if has_chinese(text) else r"[,，。.!！?？;；、]+",
                                       normalise(text)) if c.strip()]
        if len(clauses) > 1:
            answers = {_yes_no_of(c) for c in clauses} - {None, _UNSURE}
            found = answers.pop() if len(answers) == 1 else None
    return None if found is None or found == _UNSURE else found is True


_ECHO_FILLER_EN = {
    "please", "pls", "yes", "yeah", "ok", "okay", "sure", "i", "me", "my", "you", "your", "we",
    "us", "the", "a", "an", "to", "it", "that", "would", "like", "want", "do", "can", "could",
    "will", "thanks", "thank", "just", "and", "for", "about", "some", "someone", "somebody"}
_ECHO_NEGATION_EN = {"no", "not", "dont", "never", "nope", "without", "doesnt", "wont", "cant"}


def echoes_question(said: str, question: str) -> bool | None:
    """An English answer that says the question back ("please call me back" to "Would you like
    someone to call you back?"): yes, or no when negated ("don't call me"). ``None`` when the
    answer has words of its own, or none at all."""
    asked = set(strip_punct(question).split())
    words = [w for w in strip_punct(said).split() if w not in _ECHO_FILLER_EN]
    negated = any(w in _ECHO_NEGATION_EN for w in words)
    content = [w for w in words if w not in _ECHO_NEGATION_EN]
    if len(content) < 2 or not all(w in asked for w in content):
        return None
    return not negated


def says_unsure(text: str) -> bool:
    """The reply says the citizen does not know ("dunno", 唔知, "not sure")."""
    return _yes_no_of(text) == _UNSURE


def _yes_no_of(text: str) -> bool | str | None:
    # 得 before an amount is "only" (得幾年: only a few years), not "OK"
    text = re.sub(rf"得(?=\s*[幾\d{_CN_CHARS}])", " ", strip_punct(text))
    tokens = _tokens(text)
    found: set[bool | str] = set()
    leftovers: list[str] = []
    echoed, other_words = False, 0
    i = 0
    while i < len(tokens):
        for size in range(min(_LONGEST_PHRASE, len(tokens) - i), 0, -1):
            key = tuple(tokens[i : i + size])
            if key in _YES_NO_PHRASES:
                if _YES_NO_PHRASES[key] is not None:
                    found.add(_YES_NO_PHRASES[key])  # type: ignore[arg-type]
                echoed = echoed or key in _ECHO_KEYS
                i += size
                break
        else:
            if tokens[i].isalpha() and tokens[i].isascii():
                leftovers.append(tokens[i])
            elif _is_cjk(tokens[i]) and tokens[i] not in _ECHO_PARTICLES and tokens[i] not in (
                    _CN_CHARS + "年歲月日"):
                other_words += 1
            i += 1
    if echoed and other_words > 2:   # 想 alone answers; 我想問下幾時出錢 does not
        return None
    if _UNSURE in found:
        return _UNSURE
    if sum(t.isascii() for t in tokens) <= 3:  # a typo is a guess: only guess on short replies
        for word in leftovers:
            polarity = _fuzzy_yes_no(word)
            if polarity is not None:
                found.add(polarity)
    if len(found) != 1:
        return None
    return found.pop()


# ---------------------------------------------------------------------------------------------
# Hong Kong identity card

_HKID_COMPACT = re.compile(r"([A-Z]{1,2})(\d{6})([0-9A])")
_HKID_IN_TEXT = re.compile(
    r"(?<![A-Z0-9])([A-Z]{1,2})(\d{6})\s*"
    r"(?:\(\s*([0-9A])\s*\)|\[\s*([0-9A])\s*\]|([0-9A]))(?![A-Z0-9])"
)


def hkid_check_digit(prefix: str, digits: str) -> str:
    """The check character ("0"-"9" or "A") for an HKID with letter ``prefix`` and six ``digits``.

    Weights 9..2 run over [first letter or a space, second letter, six digits]; a space is 36,
    A-Z are 10-35. The check is 11 minus the sum mod 11, where 10 is written "A" and 11 "0".
    Raises ``ValueError`` when the arguments are not 1-2 letters and 6 digits.
    """
    prefix = prefix.upper()
    if not (re.fullmatch(r"[A-Z]{1,2}", prefix) and re.fullmatch(r"[0-9]{6}", digits)):
        raise ValueError(f"not an HKID prefix and digits: {prefix!r}, {digits!r}")
    values = [36 if len(prefix) == 1 else ord(prefix[0]) - 55, ord(prefix[-1]) - 55]
    values += [int(d) for d in digits]
    check = 11 - sum(v * w for v, w in zip(values, range(9, 1, -1), strict=False)) % 11
    return {10: "A", 11: "0"}.get(check, str(check))


_SPOKEN_DIGITS = {**{w: str(i) for w, i in _EN_UNITS.items()}, "oh": "0", "o": "0", "nil": "0"}
_ZH_DIGIT_CHARS = {**{k: str(v) for k, v in _CN_DIGITS.items()}, "么": "1", "幺": "1", "洞": "0"}
_BRACKET_WORDS = re.compile(
    r"\b(?:(?:open|close|closed|closing|opening|end|left|right|in|then|and)\s+)?"
    r"(?:brackets?|parenthesis|parentheses|bracket)\b|(?:開|關|收|閂|然後|再)?(?:括號|括弧|括住|"
    r"括)|\bletter\b|英文字母|字母|英文|\bcapital\b|\bnumber\b|號碼|電話|手提|手機|身份證|"
    r"\bhkid\b|\bmy\b|\bis\b|\bit'?s\b|\bphone\b|\bmobile\b|\bcard\b|\bid\b")


def spoken_digits(text: str) -> str:
    """``text`` with digits said or written in words turned into digits: 九一二三 -> 9123,
    "nine one two three" -> 9123, "double eight" -> 88, "triple 0" -> 000, "plus" -> "+".
    Only for answers that are strings of digits (phone and identity card numbers)."""
    t = "".join(_ZH_DIGIT_CHARS.get(ch, ch) for ch in _clean(text))
    words = re.findall(r"[a-z]+|\d+|[^\sa-z\d]+", t)
    # the words that are not punctuation, by position: neighbours are counted among these
    spoken = [i for i, w in enumerate(words) if w.isalnum() and w not in (
        "bracket", "brackets", "括號", "括弧", "open", "close", "in")]
    out: list[str] = []
    repeat = 1
    for i, word in enumerate(words):
        at = spoken.index(i) if i in spoken else -1
        beside = [words[j] for j in spoken[max(0, at - 1):at] + spoken[at + 1:at + 2]] if (
            at >= 0) else []
        near_digit = any(re.fullmatch(r"[a-z]{0,2}\d{1,6}", w) or w in ("double", "triple") or (
            w in _SPOKEN_DIGITS and (w not in ("o", "oh", "nil") or word not in (
                "o", "oh", "nil"))) for w in beside)
        if word in ("double", "triple") and i + 1 < len(words):
            repeat = 2 if word == "double" else 3
            continue
        if word == "plus":
            out.append("+")
            continue
        if word in _SPOKEN_DIGITS and near_digit:
            digit = _SPOKEN_DIGITS[word]
        elif word.isdigit():
            digit = word
        else:
            out.append(f" {word} ")
            repeat = 1
            continue
        out.append(digit[0] * repeat + digit[1:] if repeat > 1 else digit)
        out.append(" ")
        repeat = 1
    return " ".join("".join(out).split())


def _hkid_candidates(text: str) -> set[tuple[str, str, str]]:
    t = normalise(_BRACKET_WORDS.sub(" ", spoken_digits(text))).upper()
    t = re.sub(r"(?<=\d)\s+(?=\d)", "", t)
    t = re.sub(r"(?<=[A-Z])\s+(?=\d)", "", t)
    compact = re.sub(r"[\s()\[\]\-]", "", t)
    m = _HKID_COMPACT.fullmatch(compact)
    if m:  # the whole message is the number, however spaced: "A 123456 (3)"
        return {(m.group(1), m.group(2), m.group(3))}
    return {
        (m.group(1), m.group(2), m.group(3) or m.group(4) or m.group(5))
        for m in _HKID_IN_TEXT.finditer(t)
    }


def parse_hkid(text: str) -> str | None:
    """The HKID in ``text`` as ``"A123456(3)"``, or ``None`` if absent, malformed or wrong."""
    candidates = _hkid_candidates(text)
    if len(candidates) != 1:
        return None
    prefix, digits, check = candidates.pop()
    return f"{prefix}{digits}({check})" if hkid_check_digit(prefix, digits) == check else None


def hkid_problem(text: str) -> Literal["format", "check_digit"] | None:
    """Why ``parse_hkid`` rejects ``text``: "format", "check_digit", or ``None`` if it is valid."""
    if parse_hkid(text) is not None:
        return None
    candidates = _hkid_candidates(text)
    return "check_digit" if len(candidates) == 1 else "format"


# ---------------------------------------------------------------------------------------------
# Hong Kong phone numbers


def parse_hk_phone(text: str) -> str | None:
    """The Hong Kong phone number in ``text`` as eight digits, e.g. ``"91234567"``.

    Digit groups joined by spaces, dashes or dots are read as one number, and the whole run
    must be 8 digits (after an optional 852 / +852 / 00852). Anything else, such as 9 digits or
    an age typed before the number, gives ``None``: a wrong number is worse than asking again.
    """
    t = re.sub(r"[()\[\]]", " ", spoken_digits(text))
    t = re.sub(r"(?<=\d)[\s.,\-]{1,3}(?=\d)", "", t)
    found: set[str] = set()
    for m in re.finditer(r"(?<![\d+])(\+|00)?(\d+)", t):
        prefixed, digits = m.group(1), m.group(2)
        if digits.startswith("852") and (prefixed or len(digits) == 11):
            digits = digits[3:]
        elif prefixed:  # another country's number
            continue
        if re.fullmatch(r"[2-9]\d{7}", digits):
            found.add(digits)
    return found.pop() if len(found) == 1 else None


def phone_kind(number: str) -> Literal["mobile", "fixed"]:
    """ "mobile" (starts 4-9) or "fixed" (starts 2 or 3); ``ValueError`` if not an HK number."""
    digits = parse_hk_phone(number)
    if digits is None:
        raise ValueError(f"not a Hong Kong phone number: {number!r}")
    return "fixed" if digits[0] in "23" else "mobile"


# ---------------------------------------------------------------------------------------------
# Dates

_MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december"]
_WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DATE_WORDS: dict[str, tuple[str, int]] = {
    **{m: ("month", i + 1) for i, m in enumerate(_MONTH_NAMES)},
    **{m[:3]: ("month", i + 1) for i, m in enumerate(_MONTH_NAMES)}, "sept": ("month", 9),
    **{d: ("weekday", i) for i, d in enumerate(_WEEKDAY_NAMES)},
    **{d[:3]: ("weekday", i) for i, d in enumerate(_WEEKDAY_NAMES)},
    "tues": ("weekday", 1), "thur": ("weekday", 3), "thurs": ("weekday", 3),
    "today": ("days", 0), "tomorrow": ("days", 1), "tmr": ("days", 1), "tmrw": ("days", 1),
}
_FUZZY_DATE_WORDS = [*_MONTH_NAMES, *_WEEKDAY_NAMES, "today", "tomorrow"]
_ZH_RELATIVE = [("大後日", 3), ("大後天", 3), ("後日", 2), ("後天", 2), ("后日", 2), ("后天", 2),
                ("聽日", 1), ("明天", 1), ("明日", 1), ("今日", 0), ("今天", 0)]
_ZH_WEEKDAY = re.compile(r"(下個?|今個|呢個|這個|这个|本)?\s*(?:星期|禮拜|礼拜|週|周)\s*([一二三四五六日天])")
# The day around a month name: "1st of december", "december 1, 2026".
_DAY_BEFORE_MONTH = r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s*(?:of\s*)?$"
_DAY_AFTER_MONTH = (r"\.?\s*(\d{1,2})(?:st|nd|rd|th)?(?!\d)"
                    r"(?:\s*,?\s*(\d{4}|'\d{2}|\d{2}(?=\s*$))(?![\d:]))?")
_ZH_NUM = r"[\d零〇一二三四五六七八九十廿卅兩两]"
_ZH_DATE = re.compile(
    rf"(?:({_ZH_NUM}{{2,4}})\s*年\s*)?({_ZH_NUM}{{1,3}})\s*月\s*({_ZH_NUM}{{1,3}})\s*[日號号]?"
)


def _fuzzy_pick(word: str, vocabulary: list[str], cutoff: float = 85) -> str | None:
    hits = process.extract(word, vocabulary, scorer=fuzz.ratio, limit=2, score_cutoff=cutoff)
    if not hits or (len(hits) == 2 and hits[0][1] - hits[1][1] < 5):  # "tusday": Tue or Thu?
        return None
    return hits[0][0]


def _date_word(word: str) -> tuple[str, int] | None:
    if word in _DATE_WORDS:
        return _DATE_WORDS[word]
    if len(word) >= 4:  # short words are too easily something else ("mar" vs "may")
        guess = _fuzzy_pick(word, _FUZZY_DATE_WORDS)
        return _DATE_WORDS[guess] if guess else None
    return None


def _to_int(s: str) -> int | None:
    return int(s) if s.isdigit() else chinese_numeral_to_int(s)


_TWO_ANSWERS = re.compile(
    r"\b(?:or|either|whichever|both)\b|或者|定係|還是|抑或|都得|都可以|都ok"
    r"|(?<=[\d\u3400-\u9fff])(?<![一肯決確固指規穩])定(?=[\d\u3400-\u9fff])")


def offers_alternatives(text: str) -> bool:
    """The reply gives two answers to choose from ("70 or 80", 聽日或者後日, 改時間定取消都得)."""
    return _TWO_ANSWERS.search(normalise(text)) is not None


# "half here half there", 一半喺香港一半喺深圳, "sometimes here, sometimes there": the answer is
# split between two options, and taking the one named first would be a wrong value
_SPLIT = re.compile(r"\b(half|sometimes|part)\b.*\b\1\b|一半.*一半|有時.*有時|間中.*間中")


def splits_answer(text: str) -> bool:
    """The reply divides itself between two answers ("half here half there")."""
    return _SPLIT.search(normalise(text)) is not None


_ORDINALS = {w: i + 1 for i, w in enumerate(
    ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
     "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
     "seventeenth", "eighteenth", "nineteenth", "twentieth"])}
_ORDINALS.update({f"twenty {w}": 20 + i for w, i in list(_ORDINALS.items())[:9]})
_ORDINALS.update({"thirtieth": 30, "thirty first": 31})
_EN_YEAR = re.compile(
    r"\b(nineteen|twenty)[ -]((?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
    r"(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|oh[ -](?:one|two|three|four|five|six|"
    r"seven|eight|nine)|hundred)\b")
# "tomorrow or the day after", 聽日或者後日: two dates offered, not one chosen
_ALTERNATIVES = re.compile(r"\b(?:or|either|maybe|perhaps|probably)\b|或者|或|定係|還是|抑或|可能|"
                           r"不如|或許|\bday after\b(?!\s*tomorrow)")
_ZH_PAST = [("大前日", -3), ("前日", -2), ("前天", -2), ("琴日", -1), ("尋日", -1), ("噚日", -1),
            ("昨日", -1), ("昨天", -1)]
_ZH_DAY_FIRST = re.compile(
    rf"(?:({_ZH_NUM}{{2,4}})\s*年\s*)?({_ZH_NUM}{{1,3}})\s*[號号日]\s*({_ZH_NUM}{{1,3}})\s*月"
    rf"(?:\s*({_ZH_NUM}{{2,4}})\s*年)?")
_ZH_DAY_ONLY = re.compile(rf"(下個?月|今個月|呢個月|本月|this month|next month)?\s*({_ZH_NUM}{{1,3}})\s*[號号]")
DATE_CONTEXTS = ("birth_date", "appointment")
# a date of the lunar calendar is another day in the Gregorian one: ask again, never convert
_LUNAR = re.compile(r"農曆|陰曆|舊曆|阴历|农历|\blunar\b|\bchinese calendar\b")
_EN_DAY_ONLY = re.compile(r"^(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)(?:\s+of\s+(this|next)\s+month)?$")


def _year(s: str | None, today: datetime.date, context: str | None = None) -> int | None:
    """The year a written year means; a two-digit year by context: a birth date is in the
    past (15/3/50 is 1950), an appointment is not (3/1/27 is 2027), otherwise the nearer."""
    if s is None:
        return today.year
    year = _to_int(s.lstrip("'"))
    if year is None or year >= 100:
        return year if year is None or 1000 <= year <= 9999 else None
    century = today.year - today.year % 100
    recent, earlier = century + year, century - 100 + year
    if context == "birth_date":
        return recent if recent <= today.year else earlier
    if context == "appointment":
        return recent if recent >= today.year else recent + 100
    return min((recent, earlier, recent + 100), key=lambda y: abs(y - today.year))


def parse_date(text: str, today: datetime.date,
               context: str | None = None) -> datetime.date | None:
    """The one calendar date ``text`` names, relative to ``today``; ``None`` if none or unsure.

    Decisions a caller must know:
    - numeric dates are day first (Hong Kong): "1/12/2026" is 1 December; ISO "2026-12-01" too;
    - ``context`` says what the date is for: "birth_date" (in the past: two-digit years are
      19xx or 20xx accordingly; a date without a year, or in the future, is ``None``) or
      "appointment" (not in the past: a date without a year that has passed is next year's;
      a past date is ``None``); without one, a date without a year is in ``today``'s year, even
      if already past (the caller checks), and a two-digit year is the one nearer today;
    - a plain weekday ("monday", 星期一) is the next such day on or after today; "next monday"
      is strictly after today; 下星期一 is the Monday of next calendar week (weeks start Monday);
    - a weekday beside an explicit date only checks it: "Monday 1 Dec" is ``None`` unless
      1 December is a Monday; two different dates, any impossible date (31/2), or two dates
      offered as alternatives ("tomorrow or the day after", 聽日或者後日) give ``None``.
    """
    t = normalise(text)
    if _ALTERNATIVES.search(t) or _LUNAR.search(t):
        return None
    for word, n in sorted(_ORDINALS.items(), key=lambda kv: -len(kv[0])):
        t = re.sub(rf"\b{word}\b", f"{n}th", t)
    t = _EN_YEAR.sub(lambda m: str(_english_year(m.group(1), m.group(2)) or m.group()), t)
    # a year of the Republic (民國37年 is 1948), written as the Gregorian year it is
    t = re.sub(rf"民國\s*({_ZH_NUM}{{1,3}})\s*年", lambda m: f"{(_to_int(m.group(1)) or -9999) + 1911}年",
               t)
    dates: list[datetime.date] = []
    no_year: list[datetime.date] = []   # written without a year: the context decides it
    weekdays: list[tuple[int, str]] = []  # (weekday, "plain" | "next" | "next_week")
    bad = False

    def add(year: str | int | None, month: int | None, day: int | None) -> None:
        nonlocal bad
        y = _year(year, today, context) if not isinstance(year, int) else year
        try:
            found = datetime.date(y, month, day)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            bad = True
            return
        (no_year if year is None else dates).append(found)

    def consume(pattern: str | re.Pattern[str]) -> list[re.Match[str]]:
        # Blank out what was read so later patterns do not read it again differently.
        nonlocal t
        found = list(re.finditer(pattern, t))
        for m in found:
            t = t[: m.start()] + " " * (m.end() - m.start()) + t[m.end() :]
        return found

    for m in consume(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)"):
        add(m.group(1), int(m.group(2)), int(m.group(3)))
    for m in consume(_ZH_DAY_FIRST):
        add(m.group(1) or m.group(4), _to_int(m.group(3)), _to_int(m.group(2)))
    for m in consume(_ZH_DATE):
        add(m.group(1), _to_int(m.group(2)), _to_int(m.group(3)))
    for m in consume(r"(?<![\d:])(\d{1,2})([/.\-])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\d:]|[/.\-]\d)"):
        if m.group(2) == "." and not m.group(4):
            continue  # "10.30" is a time, not 10 of the 30th month
        add(m.group(4), int(m.group(3)), int(m.group(1)))
    for relative, days in [*_ZH_RELATIVE, *_ZH_PAST]:
        for _ in consume(relative):
            dates.append(today + datetime.timedelta(days=days))
    for m in consume(_ZH_WEEKDAY):
        mode = "next_week" if m.group(1) and m.group(1).startswith("下") else "plain"
        weekdays.append(("一二三四五六".find(m.group(2)) % 7, mode))  # 日/天 -> -1 -> Sunday
    for m in consume(_ZH_DAY_ONLY):
        day = _to_int(m.group(2))
        if context != "appointment" and not m.group(1):
            bad = True      # "the 3rd" of which month? only an appointment's is clear
            continue
        month_ahead = 1 if m.group(1) and ("下" in m.group(1) or "next" in m.group(1)) else 0
        first = (today.replace(day=1) + datetime.timedelta(days=32 * month_ahead)).replace(day=1)
        if not m.group(1) and day is not None and day < today.day:
            first = (first + datetime.timedelta(days=32)).replace(day=1)
        add(first.year, first.month, day)

    for m in consume(_EN_DAY_ONLY):
        if context != "appointment" and not m.group(2):
            bad = True
            continue
        day = int(m.group(1))
        first = today.replace(day=1)
        if m.group(2) == "next" or (not m.group(2) and day < today.day):
            first = (first + datetime.timedelta(days=32)).replace(day=1)
        add(first.year, first.month, day)

    words = list(re.finditer(r"[a-z]+", t))
    for i, m in enumerate(words):
        found = _date_word(m.group())
        if found is None:
            continue
        kind, value = found
        previous = [w.group() for w in words[max(0, i - 2) : i]]
        if kind == "month":
            before = re.search(_DAY_BEFORE_MONTH, t[: m.start()][-16:])
            after = t[m.end() : m.end() + 20]
            year_after = re.match(r"\.?\s*,?\s*(\d{4}|'\d{2}|\d{2}(?=\s*$))(?![\d:])", after)
            day_after = re.match(_DAY_AFTER_MONTH, after)
            if before:
                add(year_after and year_after.group(1), value, int(before.group(1)))
            elif day_after:
                add(day_after.group(2), value, int(day_after.group(1)))
        elif kind == "weekday":
            weekdays.append((value, "next" if previous[-1:] == ["next"] else "plain"))
        else:
            if value == 1 and previous == ["day", "after"]:
                value = 2
            dates.append(today + datetime.timedelta(days=value))

    if bad:
        return None
    for d in no_year:
        if context == "birth_date":
            return None                     # a birthday, not a birth date
        if context == "appointment" and d < today:
            d = _next_year(d)
            if d is None:
                return None
        dates.append(d)
    if dates:  # a weekday beside a date is a check, not another date
        if any(d.weekday() != wd for d in dates for wd, _ in weekdays):
            return None
        weekdays = []
    for wd, mode in weekdays:
        if mode == "next_week":
            ahead = 7 - today.weekday() + wd
        else:
            ahead = (wd - today.weekday()) % 7 or (7 if mode == "next" else 0)
        dates.append(today + datetime.timedelta(days=ahead))
    distinct = set(dates)
    if len(distinct) != 1:
        return None
    found = distinct.pop()
    if context == "birth_date" and not (today.replace(year=today.year - 130) < found < today):
        return None
    if context == "appointment" and found < today:
        return None
    return found


def _next_year(d: datetime.date) -> datetime.date | None:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:                      # 29 February
        return None


def _english_year(first: str, rest: str) -> int | None:
    century = 1900 if first == "nineteen" else 2000
    if rest == "hundred":
        return century
    rest = rest.replace("oh", "zero")
    found = _english_numbers(rest.replace("-", " "))
    if len(found) != 1 or found[0] >= 100:
        return None
    return century + found[0]


# ---------------------------------------------------------------------------------------------
# Choices

_AMBIGUITY_MARGIN = 5  # fuzzy scores this close are a tie: asking again beats a coin toss


def _fuzzy_phrase_score(text: str, phrase: str) -> float:
    if any(_is_cjk(ch) for ch in phrase):
        # No spaces to split on; compare against the best window of the phrase's length, but
        # never let a short text score 100 just for being part of a long phrase.
        if len(text) <= len(phrase):
            return fuzz.ratio(text, phrase)
        return fuzz.partial_ratio(phrase, text)
    # Word windows rather than partial_ratio, so "new" does not score 90 inside "renewal".
    words, size = text.split(), len(phrase.split())
    best = fuzz.token_sort_ratio(text, phrase)
    for n in {max(1, size - 1), size, size + 1}:
        for i in range(len(words) - n + 1):
            best = max(best, fuzz.ratio(" ".join(words[i : i + n]), phrase))
    return best


# a negation just before, or a word or two before in English ("I don't get fruit money") and a
# character or two in Chinese (冇攞生果金)
_DENIED_BEFORE = re.compile(
    r"(?:[唔冇無未不沒非]\S{0,2}|\b(?:not|no|never|non|without|dont|doesnt|didnt|cannot|cant|"
    r"havent|hasnt|isnt|arent|wasnt|wont|neither|nor)\b(?:\s+[a-z]+){0,2}\s*)$")


# what says that a thing named just before no longer holds: "my wife passed away" is not
# "married"
_DENIED_AFTER = re.compile(
    r"^\s*(?:(?:has|had|is|was|already|just|sadly)\s+)*(?:passed away|passed on|passed|died|"
    r"dead|gone|deceased|no more|no longer)\b"
    r"|^\s*(?:已經|早已|早就|都)?(?:過咗身|過身|去世|去咗|死咗|死左|走咗|走左|離世|仙遊|冇咗|唔在|不在)")


def _undenied(text: str, pattern: str) -> list[re.Match[str]]:
    """Where the pattern occurs in ``text`` without a negation right before it ("not
    married", 冇老婆 do not say married), nor a word after it that says it no longer holds
    ("my husband passed away", 老公過咗身)."""
    return [m for m in re.finditer(pattern, text) if not _DENIED_BEFORE.search(
        text[: m.start()].replace("唔該", " ")) and not _DENIED_AFTER.search(text[m.end():])]


def match_choice(
    text: str, choices: list[tuple[str, list[str]]], threshold: int = 80
) -> str | None:
    """The value of the choice whose phrases best match ``text``, or ``None``.

    An exact hit wins: the whole text equal to a phrase, a phrase of two or more CJK characters
    inside the text, or an English phrase as whole words, not right after a negation. A hit
    overlapping a longer hit of another value does not count (唔續期 beats 續期); hits of two values
    apart give ``None`` ("lost or stolen"). Otherwise phrases of two or more characters are
    scored with rapidfuzz; the best must reach ``threshold``. Fuzzy scores of two values
    within ``_AMBIGUITY_MARGIN`` give ``None``.
    """
    t = strip_punct(text)
    if not t:
        return None
    hits: list[tuple[int, int, str]] = []   # (start, end, value) of every exact hit
    fuzzy: dict[str, float] = {}
    for value, phrases in choices:
        for raw in phrases:
            p = strip_punct(raw)
            if not p:
                continue
            cjk = sum(_is_cjk(ch) for ch in p)
            if t == p:
                hits.append((0, len(t), value))
                continue
            found: list[re.Match[str]] = []
            pattern = (rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])" if cjk == 0
                       else re.escape(p))
            if len(p) >= 2 and (cjk == 0 or cjk >= 2):
                found = _undenied(t, pattern)
            if found:
                hits += [(m.start(), m.end(), value) for m in found]
            elif len(p) >= 2 and not re.search(pattern, t):   # said but denied: not a guess
                fuzzy[value] = max(fuzzy.get(value, 0.0), _fuzzy_phrase_score(t, p))
    if hits:
        # a hit overlapping a longer one of another option does not count (續期 in 唔續期); two
        # options named apart ("lost or stolen", 改時間定取消都得) are two answers: ask again
        kept = {value for start, end, value in hits if not any(
            v != value and s < end and start < e and (e - s) > (end - start)
            for s, e, v in hits)}
        return kept.pop() if len(kept) == 1 else None
    ranked_f = sorted(fuzzy.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked_f or ranked_f[0][1] < threshold:
        return None
    if len(ranked_f) > 1 and ranked_f[0][1] - ranked_f[1][1] < _AMBIGUITY_MARGIN:
        return None
    return ranked_f[0][0]


_EN_ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
                     "last": -1, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6,
                     **{w: i for w, i in _EN_UNITS.items() if 1 <= i <= 9},
                     **{str(i): i for i in range(1, 10)}}
_ORDINAL_FILLER = re.compile(
    r"\b(?:the|one|option|number|no|choice|answer|i|want|choose|pick|take|id|like|please|pls|"
    r"it|is|its|a|that|answer|go|with|for|me)\b|第|個|間|項|號|揀|選|要|我|呀|啊|啦|喇|吖|嗰|"
    r"唔該|就|好|嘅|一個")


def ordinal_choice(text: str) -> int | None:
    """Which option a reply points at by its place in the list: 1-based, -1 for the last.
    "the second one", "option 3", "the last one", 第二個, 第三間, 最後嗰個, 二 (alone)."""
    plain = strip_punct(text)
    if re.search(r"最後|尾嗰|\blast\b", plain):
        rest = _ORDINAL_FILLER.sub(" ", re.sub(r"最後|尾嗰|\blast\b", " ", plain))
        return -1 if not rest.strip() else None
    zh = re.fullmatch(r"(?:我要|我揀|揀|要|選)?第?\s*([一二三四五六七八九兩1-9])\s*(?:個|間|項|號|樣)?"
                      r"(?:呀|啊|啦|喇|吖|唔該)?", plain.replace(" ", ""))
    if zh and ("第" in plain or not plain.replace(" ", "").isdigit()):
        ch = zh.group(1)
        return int(ch) if ch.isdigit() else _CN_DIGITS[ch]
    words = _ORDINAL_FILLER.sub(" ", plain).split()
    if len(words) == 1 and words[0] in _EN_ORDINAL_WORDS:
        return _EN_ORDINAL_WORDS[words[0]]
    return None


# ---------------------------------------------------------------------------------------------
# Asking for a person

# Who the citizen asks for. "Strong" words name a person who answers (staff, an operator): said
# with a verb of asking, or alone, they are a request whatever else the message holds. "Weak"
# words (人, someone, a person) are a request only when nothing else is asked for in the same
# message: 搵人幫手 is a request for a person, 搵人幫我申請長者咭 is a request for the card.
_ZH_STRONG = (r"真人|職員|工作人員|客服|接線生|人工服務|人工|專人|負責人|服務員|同事|阿sir|阿sa|"
              r"madam|真正嘅人|真係人|活人|staff")
_ZH_ASKING = r"搵|揾|找|尋|叫|要|轉|接|駁|同|跟|和|問|請|想|需要|俾|畀|有冇|有無|有沒有|轉駁|轉接"
_ZH_TALK = r"講|傾|說|談|聊|講嘢|傾偈|幫|幫手|幫忙|協助|處理|跟進|聽|接聽|解答|解釋"
_ZH_PERSON_STRONG = re.compile(
    rf"(?:{_ZH_ASKING})\s*(?:去|俾|畀|到|返|下|吓|個|一個|位|一位|翻)?\s*(?:你哋|你地|你們|你)?"
    r"\s*(?:啲|個|位)?"
    rf"\s*(?:{_ZH_STRONG})"
    rf"|(?:{_ZH_STRONG})\s*(?:{_ZH_TALK}|接聽|服務|呀|啊|啦|喇|吖)"
    r"|轉接|接線生|人工服務|真人"
    r"|(?:唔想|唔要|唔好|不想|不要|唔係)\s*(?:同|跟|聽)?\s*(?:機器|機械|電腦|錄音|程式|robot)"
    # 搵個人嚟, 叫個人嚟幫我, 搵個人同我傾: someone to come and talk, not to do a thing
    r"|(?:搵|揾|叫|要|找)\s*(?:個|一個|啲|位)?\s*人\s*(?:(?:嚟|來|過嚟)\s*(?:幫(?:手|忙|我|下我|吓我)?)?"
    r"\s*[呀啊啦喇吖囉啩]*\s*$|同我\s*(?:傾|講|談))"
    r"|(?:要|想|可以|可唔可以|我|俾我|畀我)\s*(?:同|跟|和)\s*(?:個|啲|一個)?\s*(?:真)?人\s*(?:傾|講|說|談)"
)
_ZH_PERSON_WEAK = re.compile(
    rf"(?:搵|揾|找|叫|轉|同|跟|要|想|需要|有冇|有無|有沒有|求)\s*(?:個|一個|位|一位|啲)?\s*(?:人|姑娘)"
    rf"\s*(?:{_ZH_TALK})?"
)
_EN_WHO = (r"(?:persons?|persn|pesron|preson|people|ppl|humans?|humen|hooman|human being|someone|"
           r"somebody|some one|anyone|anybody|staffs?|staf|colleagues?|operators?|agents?|"
           r"representatives?|rep|officers?|member of (?:the )?staff|customer service|receptionist|"
           r"sir|madam|lady|man|woman|guy)")
_EN_WHO_STRONG = (r"(?:a |an |the |some |your )?(?:real |live |actual |proper |human )?"
                  r"(?:human(?: being)?|hooman|humen|operator|agent|representative|rep|staffs?|"
                  r"staff member|member of staff|officer|customer service|receptionist|"
                  r"real (?:person|people|ppl)|live person|somebody real|someone real|persn|"
                  r"colleague)")
# "someone", "anyone" after want / need / get are someone to do a thing ("I need someone to
# fix the light"): only a weak request; after talk / speak they are a person to talk to
_EN_WHO_ANSWERS = (r"(?:persons?|persn|pesron|preson|people|ppl|humans?|humen|hooman|human being|"
                   r"staffs?|staf|colleagues?|operators?|agents?|representatives?|rep|officers?|"
                   r"member of (?:the )?staff|customer service|receptionist|sir|madam)")
_EN_PERSON_STRONG = re.compile(
    r"\b(?:talk|talking|speak|speaking|spk|speek|tlk|chat|connect|transfer|put|pass)\b"
    r"(?: me)?(?: (?:to|with|2|wit|w|through to|through|from|at))?"
    r"(?: (?:a|an|the|some|your|one of your|one of the|any|ur))?(?: [a-z]+)?"
    rf" {_EN_WHO}\b"
    r"|\b(?:get|want|wanna|need|give|prefer|help from|someone from)\b"
    r"(?: me)?(?: (?:to|with|through to|from))?"
    r"(?: (?:a|an|the|some|your|one of your|one of the|any|ur))?"
    r"(?: (?:real|live|actual|proper|human|chinese|cantonese|english|hotline))?"
    rf" {_EN_WHO_ANSWERS}\b(?! (?:card|cards|allowance|money|scheme|home|homes|centre|center))"
    rf"|\b{_EN_WHO} (?:to )?(?:call|phone|ring|contact) me\b"
    r"|\b(?:real|live|actual) (?:person|human|people|ppl)\b|\bhuman being\b"
    r"|\btransfer me\b|\bput me through\b"
    # a message that opens by asking for one ("person please, about the noise")
    r"|^(?:a |an |the )?(?:real |live )?(?:person|persn|human|staff|operator)"
    r" (?:please|pls|plz)\b"
    r"|\bnot (?:a |the |to a |to the |with a )?(?:robot|machine|computer|bot|recording)\b"
    r"|\b(?:no|hate|stop) (?:the )?(?:robots?|machines?|computers?|bots?)\b"
)
_EN_WHO_WEAK = (r"(?:a |an |the |some )?(?:real |live |actual )?"
                r"(?:person|people|someone|somebody|anyone|anybody|man|woman|lady|guy)")
_EN_PERSON_WEAK = re.compile(
    rf"\b(?:is there|there)\b"
    rf" {_EN_WHO_WEAK}\b(?: (?:to talk to|to speak to|to speak with|i can talk to|to help|"
    rf"who can help|there|please|here))?"
    rf"|\b{_EN_WHO_WEAK} to (?:talk|speak) (?:to|with)\b"
    r"|\b(?:anyone|anybody|somebody|someone|a person|a human) (?:there|here|around|available)\b"
    rf"|^(?:a |an )?(?:person|human|people|persn|ppl)$"
    r"|\b(?:get|want|wanna|need|give)\b(?: me)? (?:someone|somebody|anyone|anybody)\b"
)
_ZH_WHO_ALONE = re.compile(_ZH_STRONG)
_EN_WHO_ALONE = re.compile(rf"\b{_EN_WHO_STRONG}\b")
# what may surround a request for a person without asking for anything else
_PERSON_FILLER_ZH = set("我想要可以唔該請麻煩你呀啊啦喇吖囉嘛咩嗎呢吓下好嘅係就先都同講幫手忙啲個一位的了傾嚟來過聽")
_PERSON_FILLER_EN = {
    "i", "id", "i'd", "want", "wanna", "would", "like", "need", "to", "please", "pls",
    "plz", "can", "could", "may", "you", "me", "let", "just", "a", "an", "the", "now",
    "thanks", "thank", "ok", "okay", "hello", "hi", "some", "help", "with", "talk", "speak",
    "is", "there", "who", "for", "do", "have", "get", "someone", "somebody", "person", "real",
    "looking", "prefer", "rather", "actually", "instead", "urgently",
}


def asks_for_person(text: str) -> bool:
    """Whether the message asks to talk to a person (staff, an operator, a real person).

    Patterns, not a list of sentences: a verb of asking (搵, 同 ... 講, "talk to", "speak with")
    before someone who answers (真人, 職員, 接線生, "an operator", "a real person"). Messages
    that only mention people ("my husband lost his id card", 幫我阿媽申請長者咭) are not
    requests. A weak request (搵人, "someone") counts only when nothing else is asked for.
    """
    plain = strip_punct(text)
    if not plain:
        return False
    squeezed = plain.replace(" ", "") if has_chinese(plain) else plain
    if _ZH_PERSON_STRONG.search(squeezed) or _EN_PERSON_STRONG.search(plain):
        return True
    for pattern, source in ((_ZH_PERSON_WEAK, squeezed), (_EN_PERSON_WEAK, plain),
                            (_ZH_WHO_ALONE, squeezed), (_EN_WHO_ALONE, plain)):
        m = pattern.search(source)
        if m is None:
            continue
        rest = source[: m.start()] + " " + source[m.end():]
        words = re.findall(r"[a-z']+", rest)
        cjk = [ch for ch in rest if _is_cjk(ch) and ch not in _PERSON_FILLER_ZH]
        if not cjk and all(w.replace("'", "") in _PERSON_FILLER_EN for w in words):
            return True
    return False
