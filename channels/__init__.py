"""Kaifong's channels: the application factory, the ``kaifong`` command, and one package per
channel (``sms/``, ``voice/``, ``kiosk/``, and the staff console). Adapters are thin: verify,
map to an ``Input``, call the core, render the ``Reply``.

``create_app`` is imported on first use (``from channels import create_app`` works as ever):
the ``kaifong`` command (``channels.cli``) must not load Flask and every blueprint for
``--help`` or ``chat``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
