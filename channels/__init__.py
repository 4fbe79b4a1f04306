"""Kaifong's channels: the application factory, the ``kaifong`` command, and one package per
channel (``sms/``, ``voice/``, ``kiosk/``, and the staff console). Adapters are thin: verify,
map to an ``Input``, call the core, render the ``Reply``."""

from .app import create_app

__all__ = ["create_app"]
