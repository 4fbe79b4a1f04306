"""The kiosk channel: large-font touch screens under ``/kiosk/<kiosk_id>/`` (issue 5)."""


def init_app(app) -> None:
    """Registers the kiosk's pages (being built)."""
