"""The phone channel: Twilio voice webhooks under ``/voice`` (issue 6)."""


def init_app(app) -> None:
    """Registers the phone's webhooks (being built)."""
