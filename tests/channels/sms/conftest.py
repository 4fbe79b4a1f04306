"""SMS fixtures: the app with a test auth token and a temporary SQLite database, its test client,
and ``Phone``, a citizen's phone that texts the webhook with the form and the signature Twilio
sends (``RequestValidator(token).compute_signature(url, params)``, as Twilio computes it)."""

from __future__ import annotations

import itertools

import pytest
from twilio.request_validator import RequestValidator

from channels import create_app
from channels.sms.devtools import messages_in, twilio_form

TOKEN = "test-auth-token-0123456789abcdef"
URL = "http://localhost/sms"          # what the test client calls
NUMBER = "+85291234567"

_sids = itertools.count(1)


def make_app(tmp_path, monkeypatch, **config):
    for name in ("KAIFONG_PUBLIC_URL", "KAIFONG_SMS_IDLE_MINUTES", "TWILIO_AUTH_TOKEN",
                 "KAIFONG_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'sms.db'}",
                "SEED_SLOTS_DAYS": 3, "TESTING": True, "TWILIO_AUTH_TOKEN": TOKEN}
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    yield app
    app.extensions["kaifong"].store.close()


@pytest.fixture
def client(app):
    return app.test_client()


def sign(url: str, form: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def new_sid() -> str:
    return f"SM{next(_sids):032d}"


class Phone:
    """A citizen texting the service: ``phone.say("1")`` returns the text of the reply."""

    def __init__(self, client, number: str = NUMBER, url: str = URL, token: str = TOKEN):
        self.client, self.number, self.url, self.token = client, number, url, token
        self.path = "/" + url.split("/", 3)[3]

    def send(self, body: str, sid: str | None = None, media: int = 0, **extra):
        form = twilio_form(self.number, "+85230000000", body, sid or new_sid(), media)
        form.update(extra)
        return self.client.post(self.path, data=form,
                                headers={"X-Twilio-Signature": sign(self.url, form, self.token)})

    def texts(self, body: str, **kwargs) -> list[str]:
        """Every message of the reply (a first message may get the greeting on its own, then
        the answer)."""
        response = self.send(body, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        return messages_in(response.get_data(as_text=True))

    def say(self, body: str, **kwargs) -> str:
        """The reply's one message ("" when nothing is sent back)."""
        messages = self.texts(body, **kwargs)
        assert len(messages) <= 1
        return messages[0] if messages else ""

    def conversation(self, *bodies: str) -> list[str]:
        return [self.say(body) for body in bodies]


@pytest.fixture
def phone(client):
    return Phone(client)
