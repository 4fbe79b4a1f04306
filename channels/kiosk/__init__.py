"""The kiosk channel: large-text touch screens under ``/kiosk/<kiosk_id>/`` for a district
office (issue 5).

``views`` holds the Flask views (verify the kiosk and the visitor's session, map the touch, call
the core, render); ``visit`` does one visitor's work in the store; ``screens`` (reply -> screen),
``touches`` (touch -> the core's input), ``entry`` (keypad and date pickers), ``session``
(settings, tokens) and ``readaloud`` (what a screen says) are pure. ``render`` is the text
rendering ``kaifong chat --channel kiosk`` uses.

It must leave nothing of one visitor for the next: no personal value in a URL, nothing cached
by the browser, and a wipe (idle, "Finish") that clears the session everywhere.
"""

from .render import render_kiosk_text
from .screens import Screen, screen_for
from .texts import TEXTS
from .views import bp, init_app

__all__ = ["TEXTS", "Screen", "bp", "init_app", "render_kiosk_text", "screen_for"]
