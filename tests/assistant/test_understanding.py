"""Tests for assistant.understanding: what each parser accepts, what it refuses, and that it
never raises on hostile text."""

from __future__ import annotations

import datetime

import pytest

from assistant.understanding import (
    chinese_numeral_to_int,
    hkid_check_digit,
    hkid_problem,
    match_choice,
    normalise,
    parse_date,
    parse_hk_phone,
    parse_hkid,
    parse_number,
    parse_yes_no,
    phone_kind,
    strip_punct,
)

# Inputs no function may choke on.
HOSTILE = [
    "", "   ", "\t\n\r", "😀👍🏻🇭🇰", "\ud800", "a\udfffb", "\x00\x01\x7f\x85\x9f", "\u200b\ufeff",
    "x" * 5000,
    "係" * 5000,
    "9" * 5000,
    "七" * 5000,
    "(" * 5000,
    "!?。，" * 1250,
    "dec 1 " * 800,
]


# ---------------------------------------------------------------------------------------------
# normalise / strip_punct


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Hello   World  ", "hello world"),
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits
        ("ｙｅｓ！！", "yes"),
        ("\u3000係\u3000", "係"),  # ideographic space
        ("「係」。", "係"), ("…～好呀～…", "好呀"),
        ("A123456(7)", "a123456(7)"),  # closing bracket kept: its partner is inside
        ("A123456（7）。", "a123456(7)"),
        ("(852) 9123 4567", "(852) 9123 4567"),
        ("(yes)", "yes"),
        ("2/12", "2/12"), ("10:30!", "10:30"), ("line\none\tand\rtwo", "line one and two"),
        ("he\x00l\x07lo", "hello"),  # C0 controls vanish, they do not become spaces
        ("a\x85b", "a b"), ("zero\u200bwidth", "zerowidth"), ("", ""), ("   ", ""), ("!!!", ""),
        ("👍", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_replaces_lone_surrogates() -> None:
    result = normalise("a\ud800b")
    assert result == "a\ufffdb"
    result.encode("utf-8")  # would raise if a surrogate survived


def test_normalise_keeps_valid_surrogate_pair_as_one_character() -> None:
    assert normalise("x\ud83d\ude00y") == "x😀y"


@pytest.mark.parametrize("raw", ["「係」。", "  ＹＥＳ！ ", "A123456（7）", "(852) 9123 4567"])
def test_normalise_is_idempotent(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Yes!!! 👍", "yes"), ("好，唔該。", "好 唔該"), ("don't", "dont"),
        ("that\u2019s right", "thats right"), ("renew-card...now", "renew card now"),
        ("A123456(7)", "a123456 7"),
        ("「」…", ""),
    ],
)
def test_strip_punct(raw: str, expected: str) -> None:
    assert strip_punct(raw) == expected


# ---------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("零", 0), ("一", 1), ("兩", 2), ("两", 2), ("十", 10), ("十五", 15), ("二十", 20), ("七十", 70),
        ("七十五", 75), ("廿三", 23), ("卅", 30), ("一百", 100), ("一百零五", 105),
        ("一百五", 150),  # spoken short form
        ("一百五十", 150), ("三千五百", 3500), ("三千五", 3500), ("兩萬五", 25000), ("一萬零五", 10005),
        ("二零二六", 2026),  # digit by digit, as years are read
        ("壹佰", 100),
    ],
)
def test_chinese_numeral_to_int(raw: str, expected: int) -> None:
    assert chinese_numeral_to_int(raw) == expected


@pytest.mark.parametrize("raw", ["", "百", "萬", "十百", "三五十", "七十x", "abc", "二廿"])
def test_chinese_numeral_to_int_rejects(raw: str) -> None:
    assert chinese_numeral_to_int(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("70", 70), ("７０", 70), (" 70 years", 70), ("70歲", 70), ("七十", 70), ("七十五", 75),
        ("一百", 100), ("一百零五", 105), ("兩", 2), ("两", 2), ("廿三", 23), ("卅", 30), ("二十", 20),
        ("十", 10), ("十五", 15), ("三千五百", 3500), ("1,000", 1000), ("12,345,678", 12345678),
        ("seventy", 70), ("seventy five", 75), ("seventy-five", 75), ("Seventy Five!", 75),
        ("one hundred", 100), ("a hundred and five", 105),
        ("one thousand two hundred and thirty four", 1234), ("I am 70", 70), ("我今年七十三歲", 73),
        ("70 (seventy)", 70),  # the same number twice is not ambiguous
        ("0", 0),
    ],
)
def test_parse_number(raw: str, expected: int) -> None:
    assert parse_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", "hello", "唔知", "70 or 80", "七十定八十", "seventy eighty", "-5", "minus five", "負五",
        "70.5", "1,2", "hundred",
        "9" * 5000,  # int() of 4300+ digits raises in Python; must not leak out
    ],
)
def test_parse_number_none(raw: str) -> None:
    assert parse_number(raw) is None


def test_parse_number_hyphen_after_a_digit_is_not_a_minus() -> None:
    assert parse_number("a 70-year-old") == 70
    assert parse_number("2-3") is None  # two numbers, not 2 and minus 3


# ---------------------------------------------------------------------------------------------
# Yes / no

YES = (
    [
        "yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "correct", "right", "true", "Yes!",
        "OK.", "YES",
    ]
    + ["that's right", "of course", "no problem", "yes please"]
    + [
        "係", "係呀", "係啊", "係嘅", "好", "好呀", "好啊", "得", "冇問題", "無問題", "可以", "啱", "啱呀", "對", "是", "要",
        "同意", "明白", "冇錯",
    ]
    + ["係！", "「好」", "好，唔該", "yes 係", "ｙｅｓ"]
)
NO = (
    ["no", "n", "nope", "nah", "not", "wrong", "incorrect", "No.", "NOPE"]
    + ["no thanks", "don't", "not ok", "not okay", "not right", "of course not", "not yet"]
    + [
        "唔係", "唔要", "唔好", "不是", "不要", "唔得", "唔啱", "錯", "否", "唔同意", "冇", "無", "不", "唔可以", "不對",
        "唔明白",
    ]
    + ["唔係！", "no, 唔係", "I don't think so"]
)


@pytest.mark.parametrize("raw", YES)
def test_parse_yes_no_yes(raw: str) -> None:
    assert parse_yes_no(raw) is True


@pytest.mark.parametrize("raw", NO)
def test_parse_yes_no_no(raw: str) -> None:
    assert parse_yes_no(raw) is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yse", True), ("yess", True), ("yesss!!!", True), ("okk", True), ("corrcet", True),
        ("rigth", True), ("noo", False), ("nooo", False), ("nope!", False), ("wrnog", False),
    ],
)
def test_parse_yes_no_tolerates_typos(raw: str, expected: bool) -> None:
    assert parse_yes_no(raw) is expected


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", "yes no",
        "好唔好",  # echoing the question back
        "係唔係", "可唔可以", "not sure", "唔知", "hello",
        "唔該",  # contains 唔, means please/thanks
        "1", "2",
        "ye",  # 1-2 letter words are never guessed at
        "yo", "nn",
        "yet",  # a real word one typo away from "yes"
        "note", "👍", "\ud800",
    ],
)
def test_parse_yes_no_none(raw: str) -> None:
    assert parse_yes_no(raw) is None


def test_parse_yes_no_does_not_guess_typos_in_long_messages() -> None:
    assert parse_yes_no("yse") is True
    assert parse_yes_no("i think yse maybe later") is None


# ---------------------------------------------------------------------------------------------
# HKID
#
# Hand computations (weights 9..2; space = 36, A = 10 ... Z = 35):
#   A123456: 36*9 + 10*8 + 1*7 + 2*6 + 3*5 + 4*4 + 5*3 + 6*2 = 324+80+7+12+15+16+15+12 = 481;
#            481 = 43*11 + 8, check = 11 - 8 = 3                        -> A123456(3)
#   G123456: 324 + 16*8 + 77 = 529 = 48*11 + 1, check = 10               -> G123456(A)
#   AB987654: 10*9 + 11*8 + 9*7 + 8*6 + 7*5 + 6*4 + 5*3 + 4*2
#            = 90+88+63+48+35+24+15+8 = 371 = 33*11 + 8, check = 3         -> AB987654(3)
#            so AB987654(1) is well formed but has a wrong check digit.
#   A123452: 481 - 2*4 = 473 = 43*11 + 0, check = 11, written "0"         -> A123452(0)
#   Z683365: 324 + 35*8 + 6*7 + 8*6 + 3*5 + 3*4 + 6*3 + 5*2 = 324+280+145 = 749
#            = 68*11 + 1, check = 10                                       -> Z683365(A)


@pytest.mark.parametrize(
    ("prefix", "digits", "check"),
    [
        ("A", "123456", "3"), ("G", "123456", "A"), ("AB", "987654", "3"), ("A", "123452", "0"),
        ("Z", "683365", "A"),
        ("a", "123456", "3"),  # lowercase prefix is fine
    ],
)
def test_hkid_check_digit(prefix: str, digits: str, check: str) -> None:
    assert hkid_check_digit(prefix, digits) == check


@pytest.mark.parametrize(
    ("prefix", "digits"),
    [("", "123456"), ("ABC", "123456"), ("A", "12345"), ("1", "123456"), ("A", "12345X")],
)
def test_hkid_check_digit_rejects_bad_arguments(prefix: str, digits: str) -> None:
    with pytest.raises(ValueError):
        hkid_check_digit(prefix, digits)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A123456(3)", "A123456(3)"),
        ("A1234563", "A123456(3)"),
        ("a123456 3", "A123456(3)"),
        ("A 123456 (3)", "A123456(3)"),
        ("A123456[3]", "A123456(3)"),
        ("Ａ１２３４５６（３）", "A123456(3)"),
        ("G123456(A)", "G123456(A)"),
        ("g123456a", "G123456(A)"),
        ("AB987654(3)", "AB987654(3)"),
        ("A123452(0)", "A123452(0)"),
        ("my HKID is A123456(3), thanks", "A123456(3)"),
        ("我身份證係A123456(3)", "A123456(3)"),
    ],
)
def test_parse_hkid_valid(raw: str, expected: str) -> None:
    assert parse_hkid(raw) == expected
    assert hkid_problem(raw) is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("AB987654(1)", "check_digit"),
        ("A123456(4)", "check_digit"),
        ("G123456(0)", "check_digit"),
        ("A123456", "format"),
        ("123456(3)", "format"),
        ("A12345(3)", "format"),
        ("ABC123456(3)", "format"),
        ("hello", "format"), ("", "format"), ("\ud800", "format"),
    ],
)
def test_parse_hkid_invalid(raw: str, problem: str) -> None:
    assert parse_hkid(raw) is None
    assert hkid_problem(raw) == problem


def test_parse_hkid_two_different_ids_is_none() -> None:
    assert parse_hkid("A123456(3) or G123456(A)") is None


# ---------------------------------------------------------------------------------------------
# Phone numbers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("91234567", "91234567"), ("9123 4567", "91234567"), ("9123-4567", "91234567"),
        ("9123.4567", "91234567"), ("+852 9123-4567", "91234567"), ("+85291234567", "91234567"),
        ("852 9123 4567", "91234567"),
        ("(852) 9123 4567", "91234567"),
        ("00852 9123 4567", "91234567"), ("２３４５ ６７８９", "23456789"),
        ("call me at 6123 4567 please", "61234567"),
        ("85212345", "85212345"),  # eight digits that merely start with 852
        ("電話：5123 4567。", "51234567"),
    ],
)
def test_parse_hk_phone(raw: str, expected: str) -> None:
    assert parse_hk_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1234567",  # 7 digits
        "9123456",
        "912345678",  # 9 digits
        "01234567", "11234567", "999", "112", "+852 1234 5678", "+1 415 555 0123", "+86 9123 4567",
        "91234567 or 98765432", "hello",
        "9" * 5000,
    ],
)
def test_parse_hk_phone_none(raw: str) -> None:
    assert parse_hk_phone(raw) is None


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("91234567", "mobile"), ("51234567", "mobile"), ("61234567", "mobile"),
        ("46123456", "mobile"), ("71234567", "mobile"), ("81234567", "mobile"),
        ("21234567", "fixed"), ("31234567", "fixed"), ("+852 2123 4567", "fixed"),
    ],
)
def test_phone_kind(raw: str, kind: str) -> None:
    assert phone_kind(raw) == kind


def test_phone_kind_rejects_invalid() -> None:
    with pytest.raises(ValueError):
        phone_kind("12345678")


# ---------------------------------------------------------------------------------------------
# Dates

TODAY = datetime.date(2026, 3, 4)  # a Wednesday


def test_today_is_a_wednesday() -> None:
    assert TODAY.weekday() == 2  # the weekday expectations below rely on it


def d(month: int, day: int, year: int = 2026) -> datetime.date:
    return datetime.date(year, month, day)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1 December 2026", d(12, 1)),
        ("1 Dec", d(12, 1)),
        ("Dec 1", d(12, 1)),
        ("December 1st", d(12, 1)),
        ("1st of December", d(12, 1)),
        ("December 1, 2027", d(12, 1, 2027)),
        ("1/12/2026", d(12, 1)),  # day first
        ("1-12-2026", d(12, 1)),
        ("1.12.2026", d(12, 1)),
        ("2026-12-01", d(12, 1)),
        ("1/12", d(12, 1)),
        ("1/12/27", d(12, 1, 2027)),
        ("1/2", d(2, 1)),  # already past this year: still this year, caller decides
        ("decmber 25", d(12, 25)),  # typo in month name
        ("1 dec at 10:30", d(12, 1)),
        ("dec 1 at 10.30", d(12, 1)),
        ("today", TODAY),
        ("tomorrow", d(3, 5)),
        ("tomorow", d(3, 5)),
        ("tmr", d(3, 5)),
        ("day after tomorrow", d(3, 6)),
        ("the day after tomorrow", d(3, 6)),
        ("monday", d(3, 9)),
        ("next monday", d(3, 9)),
        ("wednesday", TODAY),  # plain weekday: on or after today
        ("next wednesday", d(3, 11)),  # "next": strictly after today
        ("wensday", TODAY),
        ("this friday", d(3, 6)),
        ("Monday 9 March", d(3, 9)),  # weekday agrees with the date
        ("2026年12月1日", d(12, 1)),
        ("二零二六年十二月一日", d(12, 1)),
        ("12月1日", d(12, 1)),
        ("十二月一號", d(12, 1)),
        ("12月1號", d(12, 1)),
        ("三月廿三日", d(3, 23)),
        ("今日", TODAY),
        ("聽日", d(3, 5)),
        ("明天", d(3, 5)),
        ("後日", d(3, 6)),
        ("大後日", d(3, 7)),
        ("下星期一", d(3, 9)),
        ("下星期五", d(3, 13)),  # Friday of next week, not the day after tomorrow
        ("下個禮拜三", d(3, 11)),
        ("星期三", TODAY), ("禮拜三", TODAY), ("週三", TODAY),
        ("星期日", d(3, 8)),
        ("今個星期五", d(3, 6)),
        ("聽日星期四", d(3, 5)),
        ("tomorrow 5/3", d(3, 5)),  # two ways of saying the same date
    ],
)
def test_parse_date(raw: str, expected: datetime.date) -> None:
    assert parse_date(raw, TODAY) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "", "hello", "31/2", "31/2/2026", "30 feb", "2026-02-30", "32/1",
        "10.30",  # a time, not a date
        "december",  # no day
        "Monday 10 March",  # 10 March 2026 is a Tuesday
        "tomorrow 6/3",  # two different dates
        "today or tomorrow", "聽日星期五", "I may come", "\ud800",
    ],
)
def test_parse_date_none(raw: str) -> None:
    assert parse_date(raw, TODAY) is None


def test_parse_date_weekday_wraps_into_next_year() -> None:
    new_years_eve = datetime.date(2026, 12, 31)  # a Thursday
    assert parse_date("monday", new_years_eve) == datetime.date(2027, 1, 4)
    assert parse_date("next thursday", new_years_eve) == datetime.date(2027, 1, 7)
    assert parse_date("tomorrow", new_years_eve) == datetime.date(2027, 1, 1)


def test_parse_date_leap_day() -> None:
    assert parse_date("29/2/2028", TODAY) == datetime.date(2028, 2, 29)
    assert parse_date("29/2", TODAY) is None  # 2026 is not a leap year


# ---------------------------------------------------------------------------------------------
# Choices

SERVICES = [
    ("renew", ["renew", "renewal", "續期"]), ("new", ["new application", "新申請"]),
    ("cancel", ["cancel", "取消", "唔續期"]),
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("renew", "renew"), ("RENEW!", "renew"), ("I want to renew please", "renew"),
        ("我想續期", "renew"),
        ("唔續期", "cancel"),  # the longer exact phrase wins over 續期 inside it
        ("新申請呀", "new"), ("new application", "new"),
        ("renwe", "renew"),  # typo
        ("Renewl", "renew"), ("new aplication", "new"), ("cancle", "cancel"), ("取消", "cancel"),
    ],
)
def test_match_choice(raw: str, expected: str) -> None:
    assert match_choice(raw, SERVICES) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", "!!!", "hello",
        "續期 取消",  # two different values, equally exact
        "newest",  # "new" is not a word of it and it is no typo of a phrase
        "👍",
    ],
)
def test_match_choice_none(raw: str) -> None:
    assert match_choice(raw, SERVICES) is None


def test_match_choice_one_character_phrases_only_match_exactly() -> None:
    choices = [("yes", ["係", "1"]), ("no", ["唔係", "2"])]
    assert match_choice("係", choices) == "yes"
    assert match_choice("1", choices) == "yes"
    assert match_choice("2", choices) == "no"
    assert match_choice("唔係", choices) == "no"
    assert match_choice("3", choices) is None
    assert match_choice("係呀", choices) is None  # 係 is never matched inside other text


def test_match_choice_short_phrase_does_not_match_inside_a_word() -> None:
    assert match_choice("look at this", [("ok", ["ok"])]) is None
    assert match_choice("ok", [("ok", ["ok"])]) == "ok"


def test_match_choice_near_tie_is_ambiguous() -> None:
    choices = [("one", ["elderly card"]), ("many", ["elderly cards"])]
    assert match_choice("elderly crd", choices) is None


def test_match_choice_threshold() -> None:
    choices = [("renew", ["renewal"])]
    assert match_choice("renewl", choices) == "renew"
    assert match_choice("renewl", choices, threshold=99) is None


def test_match_choice_empty_choices() -> None:
    assert match_choice("renew", []) is None


# ---------------------------------------------------------------------------------------------
# Robustness: nothing raises, types are right.


@pytest.mark.parametrize("raw", HOSTILE, ids=range(len(HOSTILE)))
def test_nothing_raises_on_hostile_text(raw: str) -> None:
    assert isinstance(normalise(raw), str)
    assert isinstance(strip_punct(raw), str)
    assert parse_number(raw) is None or isinstance(parse_number(raw), int)
    assert parse_yes_no(raw) in (True, False, None)
    assert parse_hkid(raw) is None or isinstance(parse_hkid(raw), str)
    assert hkid_problem(raw) in (None, "format", "check_digit")
    assert parse_hk_phone(raw) is None or len(parse_hk_phone(raw) or "") == 8
    result = parse_date(raw, TODAY)
    assert result is None or isinstance(result, datetime.date)
    assert match_choice(raw, SERVICES) in (None, "renew", "new", "cancel")
    assert chinese_numeral_to_int(raw) is None or isinstance(chinese_numeral_to_int(raw), int)


def test_outputs_of_normalise_are_clean() -> None:
    for raw in HOSTILE:
        out = normalise(raw)
        out.encode("utf-8")  # no surrogates
        assert out == out.strip() and "  " not in out
        assert not any(ch in out for ch in "\x00\x01\x7f\x85\t\n\r")
