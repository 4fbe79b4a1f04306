"""The staff console under ``/staff/``: sign-in and sign-out (``views``), the queue of citizens
waiting for a person, one conversation with its live transcript, claiming, replying, handing
back and closing, and the supervisors' audit log (``console``); the supervisors' personal data
requests: subject access and erasure (``subject``).

Every route here requires a signed-in member of staff except the sign-in page itself; every form
carries a CSRF token that is checked on each POST; sessions expire after a period of idleness.
It must not reveal why a sign-in was refused (unknown name, wrong password and a locked account
read the same), must never log a password, and must not call the core for a citizen: it reads
and writes through ``assistant.desk.Desk`` only.
"""

from . import console, subject  # noqa: F401  (their routes join the blueprint)
from .console import TEXTS as CONSOLE_TEXTS
from .csrf import csrf_token, valid_csrf
from .secret import load_or_create_secret_key
from .subject import TEXTS as SUBJECT_TEXTS
from .views import TEXTS as SIGN_IN_TEXTS
from .views import bp, init_app

TEXTS = (*SIGN_IN_TEXTS, *CONSOLE_TEXTS, *SUBJECT_TEXTS)

__all__ = ["TEXTS", "bp", "csrf_token", "init_app", "load_or_create_secret_key", "valid_csrf"]
