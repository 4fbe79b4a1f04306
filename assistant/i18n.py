"""Languages: locale names, gettext catalogs and locale-aware formatting, over Babel.

The contract names locales ``en`` and ``zh-HK``; gettext catalogs live in ``locales/<dir>/LC_MESSAGES``
with Babel's names (``en``, ``zh_Hant_HK``). Catalogs are read once, when the catalogue loads; the
engine only looks strings up. A compiled ``.mo`` is used when it is at least as new as its ``.po``;
otherwise the ``.po`` is read directly, so a forgotten ``pybabel compile`` never shows stale text.
"""

from __future__ import annotations

import gettext
import logging
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

LOCALES = ("en", "zh-HK")
DEFAULT_LOCALE = "en"
DOMAIN = "messages"

_BABEL_NAMES = {"en": "en", "zh-HK": "zh_Hant_HK"}
_ALIASES = {
    "en": "en", "en-hk": "en", "en_hk": "en", "english": "en",
    "zh-hk": "zh-HK", "zh_hk": "zh-HK", "zh": "zh-HK", "zh-hant": "zh-HK", "zh_hant_hk": "zh-HK",
    "zh-hant-hk": "zh-HK", "yue": "zh-HK", "yue-hk": "zh-HK",
}


def canonical_locale(name: str | None) -> str:
    """``"zh_Hant_HK"``, ``"zh-hk"``, ``"yue"`` ... -> ``"zh-HK"``; unknown -> ValueError."""
    if not name:
        return DEFAULT_LOCALE
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"unknown locale {name!r}; use one of {', '.join(LOCALES)}")


def babel_name(locale: str) -> str:
    return _BABEL_NAMES[canonical_locale(locale)]


def load_translations(locales_dir: Path) -> dict[str, gettext.NullTranslations]:
    """One translations object per locale; English is the source text, so it may have no catalog."""
    result: dict[str, gettext.NullTranslations] = {}
    for locale in LOCALES:
        folder = Path(locales_dir) / _BABEL_NAMES[locale] / "LC_MESSAGES"
        po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
        if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
            with mo.open("rb") as fh:
                result[locale] = Translations(fh, domain=DOMAIN)
        elif po.exists():
            result[locale] = _compile_in_memory(po)
        else:
            result[locale] = gettext.NullTranslations()
    return result


def _compile_in_memory(po: Path) -> Translations:
    with po.open("rb") as fh:
        catalog = read_po(fh)
    buf = BytesIO()
    # fuzzy entries are guesses by msgmerge: never show them to a citizen
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def is_translated(translations: gettext.NullTranslations, msgid: str) -> bool:
    return translations.gettext(msgid) != msgid


_WEEKDAY_ZH = "一二三四五六日"


def format_day(value: date, locale: str) -> str:
    """A date as people say it: ``Tuesday 1 December`` / ``12月1日（星期二）``."""
    if canonical_locale(locale) == "zh-HK":
        return f"{value.month}月{value.day}日（星期{_WEEKDAY_ZH[value.weekday()]}）"
    return format_date(value, "EEEE d MMMM y", locale=Locale.parse("en_HK"))


def format_when(value: datetime, locale: str) -> str:
    """An appointment time: ``Tuesday 1 December, 10:30 am`` / ``12月1日（星期二）上午10時30分``."""
    if canonical_locale(locale) == "zh-HK":
        half = "上午" if value.hour < 12 else "下午"
        hour = value.hour if value.hour <= 12 else value.hour - 12
        minutes = f"{value.minute}分" if value.minute else ""
        return f"{format_day(value.date(), locale)}{half}{hour}時{minutes}"
    return format_datetime(value, "EEEE d MMMM, h:mm a", locale=Locale.parse("en_HK")).replace(
        "AM", "am").replace("PM", "pm")
