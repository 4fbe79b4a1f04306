"""The floor for the SMS benchmark: a Flask endpoint that returns a fixed TwiML message, with
nothing else (no signature check, no database). See bench_sms.py."""

from flask import Flask, Response
from twilio.twiml.messaging_response import MessagingResponse

FIXED = str(MessagingResponse().message("Hello, I am Kaifong. Reply 1 for the menu."))


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.post("/sms")
    def sms():
        return Response(FIXED, mimetype="text/xml")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
