"""The one error tree of Kaifong. Channels map vendor errors onto it with ``raise ... from``.

    AssistantError
     ├── CatalogueError (ValueError)        a procedure file or shared prompt is wrong
     ├── ConditionError (CatalogueError)    a branch condition cannot be parsed
     ├── StoreError (RuntimeError)          the database could not load or commit a turn
     │    └── StoreUnavailable              the database did not answer in time, or refused
     ├── ReplayConflict (ValueError)        an inbound message id already used by another address
     ├── ServiceError (RuntimeError)        a service called by an action step failed unexpectedly
     └── StaffActionError (ValueError)      a member of staff asked for what cannot be done now
          └── ClaimRefused                  someone else has the conversation, or no one waits

Nothing here carries a citizen's message or personal data: messages name files, steps and problems.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Root of every error Kaifong raises on purpose."""


class CatalogueError(AssistantError, ValueError):
    """The catalogue cannot be used. ``problems`` lists (file, step, problem) triples."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = list(problems)
        lines = [f"{file}: {step or '-'}: {problem}" for file, step, problem in self.problems]
        super().__init__("the catalogue has problems:\n" + "\n".join(lines))


class ConditionError(CatalogueError):
    """A branch condition could not be parsed."""


class StoreError(AssistantError, RuntimeError):
    """The store could not load or commit a conversation."""


class StoreUnavailable(StoreError):
    """The database could not be reached, or did not answer within the time allowed."""


class ReplayConflict(AssistantError, ValueError):
    """An inbound message id (Twilio's MessageSid, a call's step) already answered for another
    address: not a retry, so neither that answer nor a new turn is given."""


class ServiceError(AssistantError, RuntimeError):
    """A registered service failed in a way it did not report as a result."""


class StaffActionError(AssistantError, ValueError):
    """A staff action that cannot be done now: an unknown conversation or procedure, a reply to
    a conversation the member of staff has not claimed, an unknown outcome."""


class ClaimRefused(StaffActionError):
    """The conversation is already with another member of staff, or is not waiting for one."""


__all__ = ["AssistantError", "CatalogueError", "ClaimRefused", "ConditionError", "ReplayConflict",
           "ServiceError", "StaffActionError", "StoreError", "StoreUnavailable"]
