"""The pure halves of the channel: form -> InboundSms, Reply -> SMS text, messages -> TwiML."""

from __future__ import annotations

import pytest

from assistant.model import Option, Reply
from channels.sms.mapping import BadInbound, guess_locale, inbound_from_form, signed_url, twiml
from channels.sms.render import render_sms, sms_text

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def gettext(locale, msgid):
    return {"Reply {key} for {label}": "回覆 {key}：{label}"}.get(msgid, msgid) \
        if locale == "zh-HK" else msgid


def test_twiml_is_built_by_twilio_and_escaped():
    assert twiml([]) == EMPTY_TWIML
    assert twiml(["Fee: $370 & <more>\nReply 1 for Yes"]) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Fee: $370 &amp; &lt;more&gt;\n'
        'Reply 1 for Yes</Message></Response>')


def test_form_to_inbound():
    sms = inbound_from_form({"From": "+85291234567", "Body": " Hi ", "MessageSid": "SM1",
                             "NumMedia": "2", "OptOutType": "STOP"})
    assert (sms.address, sms.body, sms.sid, sms.media, sms.opt_out_type) == (
        "+85291234567", " Hi ", "SM1", 2, "STOP")
    sms = inbound_from_form({"From": "+85291234567", "NumMedia": "lots"})
    assert (sms.body, sms.sid, sms.media, sms.opt_out_type) == ("", None, 0, None)
    with pytest.raises(BadInbound) as caught:
        inbound_from_form({"Body": "my secret"})
    assert "secret" not in str(caught.value)


def test_signed_url_behind_a_proxy():
    assert signed_url(None, "http://10.0.0.5:8080/sms?a=1", "/sms", "a=1") == \
        "http://10.0.0.5:8080/sms?a=1"
    assert signed_url("https://kaifong.example.org", "http://10.0.0.5/sms", "/sms", "") == \
        "https://kaifong.example.org/sms"
    assert signed_url("https://example.org/kaifong/", "http://x/sms/status", "/sms/status",
                      "a=1&b=%20") == "https://example.org/kaifong/sms/status?a=1&b=%20"


def test_first_message_language():
    assert guess_locale("lost my id card") == "en"
    assert guess_locale("我唔見咗身份證") == "zh-HK"
    assert guess_locale("") == "en"


def test_reply_as_sms_text_numbered_options_and_no_markup():
    reply = Reply(parts=("I can help with that.", "What happened to your identity card?"),
                  prompt="What happened to your identity card?",
                  options=(Option("1", "lost", "I lost it"), Option("2", "stolen", "It was stolen")))
    text = sms_text(reply, gettext)
    assert text.paragraphs == ("I can help with that.",)
    assert text.question == ("What happened to your identity card?\n\n"
                             "Reply 1 for I lost it\nReply 2 for It was stolen")
    assert render_sms(reply, gettext) == ("I can help with that.\n\nWhat happened to your "
                                          "identity card?\n\nReply 1 for I lost it\n"
                                          "Reply 2 for It was stolen")


def test_reply_in_chinese_and_silent():
    reply = Reply(parts=("係咪啱？",), prompt="係咪啱？", locale="zh-HK",
                  options=(Option("1", "yes", "係"), Option("2", "no", "唔係")))
    assert render_sms(reply, gettext) == "係咪啱？\n\n回覆 1：係\n回覆 2：唔係"
    assert render_sms(Reply(parts=("x",), silent=True), gettext) == ""
    assert sms_text(Reply(parts=("Please wait.",)), gettext).question == ""
