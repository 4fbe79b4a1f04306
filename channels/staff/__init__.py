"""The staff console under ``/staff/``: sign-in, sign-out and (later) the queue of citizens
waiting for a person.

Every route here requires a signed-in member of staff except the sign-in page itself; every form
carries a CSRF token that is checked on each POST; sessions expire after a period of idleness.
It must not reveal why a sign-in was refused (unknown name, wrong password and a locked account
read the same), must never log a password, and must not call the core for a citizen: it reads
and writes through the store only.
"""

from .csrf import csrf_token, valid_csrf
from .secret import load_or_create_secret_key
from .views import TEXTS, bp, init_app

__all__ = ["TEXTS", "bp", "csrf_token", "init_app", "load_or_create_secret_key", "valid_csrf"]
