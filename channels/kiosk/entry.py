"""On-screen entry without typing: the keypad for numbers and phone numbers, letter and number
keys for an identity card, and date pickers. Pure; no I/O.

Each key is a plain submit button, so the partial entry lives on the server (in the kiosk's
channel state for the conversation, never in a URL). ``press`` gives the entry after one key;
``entry_text`` the text the core is given when the citizen presses Continue (the core parses and
checks it, and asks again if it is wrong: the kiosk never decides what is valid).

What must not happen here: free typing of dates (the pickers only step through real dates), and
keys that cannot lead to a valid answer (an identity card's keys follow its shape: one or two
letters, six digits, then a digit or A; a reference number is keyed as the 7 digits after
"KF", which is shown and sent with them).

An entry that cannot be an answer yet (a phone number of 7 digits, an identity card without the
number in brackets) is kept as it is, ``missing`` says what is still to key in, and Continue
waits (``complete``). Whether a complete entry is right is still the core's to say.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

__all__ = ["DIGITS", "ENTRY_KINDS", "LETTERS", "MAX_LENGTH", "REFERENCE_PREFIX", "DateEntry",
           "complete", "display", "entry_text", "keys_for", "missing", "press", "shift_date"]

DIGITS = tuple("1234567890")
LETTERS_STR = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LETTERS = tuple(LETTERS_STR)
#: the kinds of question answered on a keypad (dates have their own pickers)
ENTRY_KINDS = ("number", "phone", "hkid", "reference")
MAX_LENGTH = {"number": 9, "phone": 8, "hkid": 9, "reference": 7}
#: our reference numbers are "KF" and 7 digits: the letters are given, the digits keyed
REFERENCE_PREFIX = "KF"
_HKID = re.compile(r"([A-Z]{1,2})(\d{6})([0-9A])")


def keys_for(kind: str, value: str) -> tuple[str, ...]:
    """The keys that may come next. An identity card: letters first (one or two), then six
    digits, then the check character (a digit or A); nothing after it."""
    if len(value) >= MAX_LENGTH[kind]:
        return ()
    if kind != "hkid":
        return DIGITS
    letters = len(value) - len(value.lstrip(LETTERS_STR))
    digits = len(value) - letters
    if letters == 0:
        return LETTERS
    if letters == 1 and digits == 0:
        return LETTERS + DIGITS
    if digits < 6:
        return DIGITS
    if digits == 6:
        return DIGITS + ("A",)
    return ()



def press(kind: str, value: str, key: str) -> str:
    """The entry after one key: a key from ``keys_for``, or "delete" or "clear". Any other key
    (an old page, a forged form) leaves the entry as it was."""
    if key == "delete":
        return value[:-1]
    if key == "clear":
        return ""
    if key in keys_for(kind, value):
        return value + key
    return value


def missing(kind: str, value: str) -> tuple[str, int] | None:
    """What is still to key in before the entry can be an answer, as (what, how many), or None
    when it is complete (or empty: nothing is missing from what has not been started).
    ``what`` is one of "phone", "hkid_letter", "hkid_digits", "hkid_check", "reference"."""
    if not value:
        return None
    if kind == "phone" and len(value) < 8:
        return "phone", 8 - len(value)
    if kind == "reference" and len(value) < 7:
        return "reference", 7 - len(value)
    if kind == "hkid":
        letters = len(value) - len(value.lstrip(LETTERS_STR))
        digits = len(value) - letters
        if letters == 0:
            return "hkid_letter", 1
        if digits < 6:
            return "hkid_digits", 6 - digits
        if digits == 6 and not _HKID.fullmatch(value):
            return "hkid_check", 1
    return None


def complete(kind: str, value: str) -> bool:
    """True when Continue may send the entry to the core."""
    return bool(value) and missing(kind, value) is None


def display(kind: str, value: str) -> str:
    """The entry as people read it: "9123 4567", "A123456(3)", "KF0000422"."""
    if kind == "reference":
        return REFERENCE_PREFIX + value
    if kind == "phone" and len(value) > 4:
        return f"{value[:4]} {value[4:]}"
    if kind == "hkid":
        m = _HKID.fullmatch(value)
        if m:
            return f"{m.group(1)}{m.group(2)}({m.group(3)})"
    return value


def entry_text(kind: str, value: str) -> str | None:
    """What the core is given for a finished entry; None when it is not complete."""
    if not complete(kind, value):
        return None
    return display(kind, value)


@dataclass(frozen=True)
class DateEntry:
    """A date being picked; starts at ``today`` and moves by days, months and years."""

    year: int
    month: int
    day: int

    @classmethod
    def of(cls, d: date) -> DateEntry:
        return cls(d.year, d.month, d.day)

    @classmethod
    def from_iso(cls, text: str | None, today: date) -> DateEntry:
        try:
            return cls.of(date.fromisoformat(text)) if text else cls.of(today)
        except ValueError:
            return cls.of(today)

    @property
    def date(self) -> date:
        return date(self.year, self.month, self.day)

    def iso(self) -> str:
        return self.date.isoformat()


#: picker buttons: name -> (unit, step)
DATE_STEPS = {"day-1": ("day", -1), "day+1": ("day", 1), "month-1": ("month", -1),
              "month+1": ("month", 1), "year-1": ("year", -1), "year+1": ("year", 1),
              "year-10": ("year", -10), "year+10": ("year", 10)}
#: the pickers stay within these years (a date of birth, or the next few years)
YEARS = (1900, 2100)


def shift_date(entry: DateEntry, step: str) -> DateEntry:
    """One press of a picker button. Days roll over into months; a month or year change keeps
    the day where it can (31 January, one month after, is 29 February in a leap year)."""
    if step not in DATE_STEPS:
        return entry
    unit, n = DATE_STEPS[step]
    if unit == "day":
        moved = date.fromordinal(entry.date.toordinal() + n)
        return entry if not YEARS[0] <= moved.year <= YEARS[1] else DateEntry.of(moved)
    year, month = entry.year, entry.month
    if unit == "month":
        index = year * 12 + (month - 1) + n
        year, month = divmod(index, 12)
        month += 1
    else:
        year += n
    if not YEARS[0] <= year <= YEARS[1]:
        return entry
    day = min(entry.day, calendar.monthrange(year, month)[1])
    return DateEntry(year, month, day)
