"""The keypad, the identity card's keys and the date pickers. Pure."""

from __future__ import annotations

from datetime import date

from channels.kiosk.entry import (
    DIGITS,
    LETTERS,
    DateEntry,
    display,
    entry_text,
    keys_for,
    press,
    shift_date,
)


def type_in(kind: str, keys: str) -> str:
    value = ""
    for key in keys:
        value = press(kind, value, key)
    return value


def test_the_identity_card_keys_follow_its_shape():
    assert keys_for("hkid", "") == LETTERS
    assert keys_for("hkid", "A") == LETTERS + DIGITS
    assert keys_for("hkid", "AB") == DIGITS
    assert keys_for("hkid", "A12345") == DIGITS
    assert keys_for("hkid", "A123456") == DIGITS + ("A",)
    assert keys_for("hkid", "A1234563") == ()
    assert keys_for("hkid", "AB123456A") == ()
    assert type_in("hkid", "1A2B3") == "A23"          # keys that cannot come next do nothing
    assert display("hkid", "A1234563") == "A123456(3)"
    assert display("hkid", "AB123456A") == "AB123456(A)"
    assert entry_text("hkid", "A1234563") == "A123456(3)"


def test_phone_numbers_stop_at_eight_digits_and_read_in_two_halves():
    assert type_in("phone", "912345678") == "91234567"
    assert display("phone", "91234567") == "9123 4567"
    assert keys_for("phone", "91234567") == ()
    assert press("phone", "9123", "A") == "9123"


def test_delete_clear_and_nothing_to_send():
    assert press("number", "701", "delete") == "70"
    assert press("number", "70", "clear") == ""
    assert entry_text("number", "") is None
    assert entry_text("number", "70") == "70"


def test_date_pickers_step_through_real_dates_only():
    jan31 = DateEntry.of(date(2024, 1, 31))
    assert shift_date(jan31, "month+1").date == date(2024, 2, 29)   # a leap year
    assert shift_date(jan31, "day+1").date == date(2024, 2, 1)
    assert shift_date(DateEntry.of(date(2024, 2, 29)), "year+1").date == date(2025, 2, 28)
    assert shift_date(DateEntry.of(date(2026, 1, 1)), "month-1").date == date(2025, 12, 1)
    assert shift_date(DateEntry.of(date(1956, 6, 1)), "year-10").date == date(1946, 6, 1)
    assert shift_date(jan31, "bogus") == jan31
    assert shift_date(DateEntry.of(date(1900, 1, 1)), "day-1").date == date(1900, 1, 1)
    assert DateEntry.from_iso("not a date", date(2026, 11, 26)).iso() == "2026-11-26"
