"""Simulators for trying the SMS and phone channels without Twilio: ``/simulator/sms`` (a phone's
text messages) and ``/simulator/phone`` (a call: the prompts played from the audio cache, a
keypad, and a box for what the caller says).

They post to the service's own webhooks exactly as Twilio would, signed with the configured
``TWILIO_AUTH_TOKEN`` (``./scripts/serve`` makes a local one when none is set), so what they
show is what Twilio would get. They exist for development and demonstrations: they are served
only with ``KAIFONG_SIMULATORS=on`` and only to the machine itself (a request from any other
address gets 403), because a simulator speaks for any phone number.
"""

from .views import init_app

__all__ = ["init_app"]
