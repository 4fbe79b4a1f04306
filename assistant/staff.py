"""Staff accounts: add one, and check a sign-in (password, lock-out) against the database.

Passwords are kept only as Argon2 hashes (argon2-cffi's defaults). A sign-in is checked in one
place, ``authenticate``, so the rules hold for every caller: an unknown user costs the same hash
verification as a known one (the time taken does not say whether a name exists), and after
``max_failures`` failed attempts in a row the account is locked for ``lock_for``, during which
even the right password is refused. The caller gets ``None`` for every refusal, never why.

It must not import Flask or anything of a channel, and it never logs or stores a password; it
does no logging at all (the channel logs failed sign-ins, without the password).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .errors import AssistantError
from .store import UTCDateTime, metadata

__all__ = ["MIN_PASSWORD_LENGTH", "STAFF_ROLES", "StaffError", "StaffUser", "add_staff",
           "any_staff", "authenticate", "change_password", "end_sessions", "find_staff", "list_staff",
           "staff_users"]

STAFF_ROLES = ("agent", "supervisor")
MIN_PASSWORD_LENGTH = 12

staff_users = sa.Table(
    "staff_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_login_at", UTCDateTime),
    #: a password someone else chose (the demo supervisor's, printed once): replaced at the
    #: first sign-in before anything else can be done (migration 0007)
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    #: copied into the session at sign-in and checked on every request; signing out and a new
    #: password add one, which ends every session issued before (migration 0008)
    sa.Column("session_version", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("username", name="uq_staff_users_username"),
)


@cache
def _hasher():
    """argon2-cffi's hasher, made when a password is first hashed or checked: a process that
    never signs anyone in (a CLI command, a benchmark) does not pay for it."""
    from argon2 import PasswordHasher  # with cffi: about 0.1 s to import

    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so that a refusal takes as long either way. Made on
    the first sign-in of the process (one hash, tens of milliseconds), not at import."""
    return _hasher().hash("not a password: only here to spend the same time")


def _verify(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class StaffError(AssistantError, ValueError):
    """A staff account that cannot be created or changed. ``code`` says why, for a page to put
    in its own words: "short" (password), "same" (new password as the old), "wrong" (current
    password), "invalid" (name, role, duplicate)."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    role: str
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    must_change_password: bool = False
    session_version: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


def _user(row) -> StaffUser:
    return StaffUser(row.id, row.username, row.role, row.failed_logins, row.locked_until,
                     row.created_at, row.last_login_at, bool(row.must_change_password),
                     int(row.session_version))


def add_staff(engine: Engine, username: str, password: str, role: str,
              now: datetime | None = None, must_change_password: bool = False) -> StaffUser:
    username = username.strip()
    if not username or len(username) > 64:
        raise StaffError("a user name is 1 to 64 characters")
    if username.startswith("("):
        # "(system)" names what the system did by itself in the audit log (assistant.desk)
        raise StaffError("a user name may not start with '(': the audit log keeps those")
    if role not in STAFF_ROLES:
        raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}")
    _check_password(password)
    values = {"username": username, "password_hash": _hasher().hash(password), "role": role,
              "failed_logins": 0, "created_at": now or _now(),
              "must_change_password": must_change_password}
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(staff_users).values(**values))
    except IntegrityError:
        raise StaffError(f"a staff user named {username!r} already exists") from None
    found = find_staff(engine, username)
    assert found is not None
    return found


def change_password(engine: Engine, username: str, current: str, new: str) -> int:
    """Replace a password, given the current one (refused with ``StaffError`` otherwise); the
    new one must differ from it. Clears ``must_change_password`` and ends every session of the
    user: returns the new session version (the caller's own session may carry it on)."""
    _check_password(new)
    if new == current:
        raise StaffError("choose a password you have not used here", "same")
    with _reading(engine) as conn:
        row = conn.execute(_by_name(username)).first()
    good = row is not None and _verify(row.password_hash, current)
    if not good:
        raise StaffError("the current password is not right", "wrong")
    new_hash = _hasher().hash(new)          # outside the transaction, as in authenticate
    with engine.begin() as conn:
        return conn.execute(sa.update(staff_users).where(staff_users.c.id == row.id).values(
            password_hash=new_hash, must_change_password=False,
            session_version=staff_users.c.session_version + 1)
            .returning(staff_users.c.session_version)).scalar_one()


def end_sessions(engine: Engine, username: str) -> None:
    """End every session of ``username`` (signing out): cookies issued before, copies
    included, no longer sign anyone in."""
    with engine.begin() as conn:
        conn.execute(sa.update(staff_users).where(staff_users.c.username == username.strip())
                     .values(session_version=staff_users.c.session_version + 1))


def list_staff(engine: Engine) -> list[StaffUser]:
    """Every member of staff, by name (for the console's assign list)."""
    with _reading(engine) as conn:
        return [_user(row) for row in conn.execute(
            sa.select(staff_users).order_by(staff_users.c.username))]


def any_staff(engine: Engine) -> bool:
    with _reading(engine) as conn:
        return conn.execute(sa.select(staff_users.c.id).limit(1)).first() is not None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters",
                         "short")


def find_staff(engine: Engine, username: str) -> StaffUser | None:
    with _reading(engine) as conn:
        row = conn.execute(_by_name(username)).first()
    return _user(row) if row else None


def authenticate(engine: Engine, username: str, password: str, *, now: datetime | None = None,
                 max_failures: int = 5, lock_for: timedelta = timedelta(minutes=15)
                 ) -> StaffUser | None:
    """The user when the password is right and the account is not locked; else ``None``.

    The hash is verified outside any write transaction: Argon2 takes tens of milliseconds on
    purpose, and on SQLite a write transaction holds the one writer lock that every citizen's
    turn needs. The count of failures is then updated on the row, locked, so that attempts at
    the same moment are each counted."""
    now = now or _now()
    # made (once per process) whether or not the name exists, so that even the first sign-in
    # does not say which names do
    dummy = _dummy_hash()
    with _reading(engine) as conn:
        row = conn.execute(_by_name(username)).first()
    stored = row.password_hash if row else dummy
    good = _verify(stored, password)
    if row is None:
        return None
    with engine.begin() as conn:
        row = conn.execute(sa.select(staff_users).where(staff_users.c.id == row.id)
                           .with_for_update()).first()
        if row is None:
            return None     # removed meanwhile
        where = staff_users.c.id == row.id
        if row.locked_until is not None and row.locked_until > now:
            return None     # locked: not even the right password, and no new failure counted
        if not good:
            # a lock that has run out starts the count afresh
            failures = (0 if row.locked_until is not None else row.failed_logins) + 1
            locked = now + lock_for if failures >= max_failures else None
            conn.execute(sa.update(staff_users).where(where).values(
                failed_logins=failures, locked_until=locked))
            return None
        values = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if _hasher().check_needs_rehash(row.password_hash):
            values["password_hash"] = _hasher().hash(password)
        conn.execute(sa.update(staff_users).where(where).values(**values))
    return find_staff(engine, row.username)


def _by_name(username: str):
    return sa.select(staff_users).where(staff_users.c.username == username.strip())


def _reading(engine: Engine):
    """A read that never waits for SQLite's writer lock (see the store's ``_sqlite_begin``)."""
    return engine.connect().execution_options(kaifong_read_only=True)
