"""A touch on the kiosk -> what the core is given. Pure; no I/O.

Every button on every screen is a submit button named ``do``; its value says what it means:
``choose:<value>`` (an option), ``back``, ``person``, ``language``, ``restart``,
``assistant``. Those map to the core's own inputs: an option is
``Choose(value)``; back and start again are the keypad keys the catalogue gives those commands
(``*``, ``*3``), which no answer can be mistaken for; a person, a language and "back to the
assistant" are the command words in the conversation's language ("person" / 真人), because the
person key ``0`` is also an answer to a number question.

Touches that stay on the kiosk (keypad keys, date pickers, "more time") are not here: they never
reach the core.
"""

from __future__ import annotations

from assistant.catalogue import Catalogue
from assistant.model import Choose, Digits, Input, Text

__all__ = ["CORE_TOUCHES", "core_input", "other_locale"]

#: the ``do`` values that become an input of the core (besides ``choose:<value>``)
CORE_TOUCHES = frozenset({"back", "person", "language", "restart", "assistant"})


def other_locale(cat: Catalogue, locale: str) -> str:
    return next((loc for loc in cat.locales if loc != locale), locale)


def _phrase(cat: Catalogue, command: str, locale: str) -> str:
    phrases = cat.commands.get(command, {}).get(locale) or cat.commands[command]["en"]
    return phrases[0]


def core_input(do: str, cat: Catalogue, locale: str) -> Input | None:
    """The core's input for a touch, or None when the touch is not for the core."""
    if do.startswith("choose:") and len(do) > len("choose:"):
        return Choose(do[len("choose:"):])
    if do == "back":
        return Digits(cat.keys["back"])
    if do == "restart":
        return Digits(cat.keys["restart"])
    if do == "person":
        return Text(_phrase(cat, "person", locale))
    if do == "assistant":
        return Text(_phrase(cat, "assistant", locale))
    if do == "language":
        # the name of the other language, as the citizen would say it ("中文" / "english")
        return Text(_phrase(cat, "language", other_locale(cat, locale)))
    return None
