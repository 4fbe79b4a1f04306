"""Kaifong's dialogue core: procedures as data, a pure step engine, understanding, routing,
the store and the services procedures call. Channel-agnostic: nothing here imports Flask,
Twilio, Vosk or pyttsx3, and nothing asks which channel it is talking to.

The names below are imported on first use (``from assistant import Assistant`` works as ever):
a process that needs only ``assistant.store`` or ``assistant.staff`` (a CLI command, a worker)
does not load the catalogue, the engine and the services too.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalogue import Catalogue, Procedure, Step, load_catalogue
    from .conversation import Assistant, seed_appointment_slots
    from .desk import Desk, mask_personal
    from .engine import advance
    from .errors import (
        AssistantError,
        CatalogueError,
        ClaimRefused,
        ReplayConflict,
        ServiceError,
        StaffActionError,
        StoreError,
        StoreUnavailable,
    )
    from .model import (
        ActionRequest,
        ActionResult,
        Choose,
        Digits,
        Expect,
        HandBack,
        Input,
        NoInput,
        Option,
        Reply,
        Start,
        Text,
        new_state,
    )
    from .routing import RouteResult, router_for
    from .store import Store

#: the module of each public name
_HOME = {
    **dict.fromkeys(("Catalogue", "Procedure", "Step", "load_catalogue"), "catalogue"),
    **dict.fromkeys(("Assistant", "seed_appointment_slots"), "conversation"),
    **dict.fromkeys(("Desk", "mask_personal"), "desk"),
    "advance": "engine",
    **dict.fromkeys(("AssistantError", "CatalogueError", "ClaimRefused", "ReplayConflict",
                     "ServiceError", "StaffActionError", "StoreError", "StoreUnavailable"),
                    "errors"),
    **dict.fromkeys(("ActionRequest", "ActionResult", "Choose", "Digits", "Expect", "HandBack",
                     "Input", "NoInput", "Option", "Reply", "Start", "Text", "new_state"),
                    "model"),
    **dict.fromkeys(("RouteResult", "router_for"), "routing"),
    "Store": "store",
}

__all__ = [
    "ActionRequest", "ActionResult", "Assistant", "AssistantError", "Catalogue", "CatalogueError",
    "Choose", "ClaimRefused", "Desk", "Digits", "Expect", "HandBack", "Input", "NoInput", "Option",
    "Procedure", "ReplayConflict", "Reply", "RouteResult", "ServiceError", "StaffActionError",
    "Start", "Step", "Store", "StoreError", "StoreUnavailable", "Text", "advance",
    "load_catalogue", "mask_personal", "new_state", "router_for", "seed_appointment_slots",
]


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value     # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
