"""Kaifong's dialogue core: procedures as data, a pure step engine, understanding, routing,
the store and the services procedures call. Channel-agnostic: nothing here imports Flask,
Twilio, Vosk or pyttsx3, and nothing asks which channel it is talking to.
"""

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

__all__ = [
    "ActionRequest", "ActionResult", "Assistant", "AssistantError", "Catalogue", "CatalogueError",
    "Choose", "ClaimRefused", "Desk", "Digits", "Expect", "HandBack", "Input", "NoInput", "Option",
    "Procedure", "ReplayConflict", "Reply", "RouteResult", "ServiceError", "StaffActionError",
    "Start", "Step", "Store", "StoreError", "StoreUnavailable", "Text", "advance",
    "load_catalogue", "mask_personal", "new_state", "router_for", "seed_appointment_slots",
]
