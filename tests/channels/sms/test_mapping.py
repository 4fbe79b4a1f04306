"""The pure halves of the channel: form -> InboundSms, Reply -> SMS text, messages -> TwiML."""

from __future__ import annotations

import pytest

from assistant.model import NextSteps, Option, Reply, Summary, SummaryItem
from channels.sms.mapping import BadInbound, guess_locale, inbound_from_form, signed_url, twiml
from channels.sms.render import render_sms, sms_text
from channels.sms.segments import count_segments
from channels.sms.summary import summary_messages

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
                  before=("I can help with that.",), prompt="What happened to your identity card?",
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


# -- the review and the end, from the reply's fields -----------------------------------------

def _review(locale="en", heading="Please check your answers:", question="Is everything right?",
            items=(("phone", "Phone number", "9123 4567"), ("office", "Office", "Wan Chai"))):
    summary = Summary(heading, tuple(SummaryItem(slot, label, value, change=f"change:{slot}")
                                     for slot, label, value in items))
    options = (Option("1", "ok", "All correct, go on"),) + tuple(
        Option(str(i), f"change:{slot}", f"Change: {label}")
        for i, (slot, label, _) in enumerate(items, 2))
    return Reply(parts=("x",), before=(), prompt=question, summary=summary, options=options,
                 tags=("review",), locale=locale)


def test_the_review_numbers_each_answer_with_the_key_that_changes_it():
    assert render_sms(_review(), gettext) == (
        "Please check your answers:\n2. Phone number: 9123 4567\n3. Office: Wan Chai\n"
        "Is everything right?\nReply 1 if so, or the number of an answer to change it.")


def test_a_review_too_long_for_two_segments_drops_its_heading_first():
    items = tuple((f"s{i}", f"Answer number {i}", "x" * 22) for i in range(5))
    text = render_sms(_review(items=items), gettext)
    assert not text.startswith("Please check") and text.startswith("2. Answer number 0: ")
    assert count_segments(text).segments <= 2


def test_the_end_puts_the_reference_and_what_to_do_next_first():
    steps = NextSteps("What to do next:", bring=("Bring: your identity card",),
                      when="When: Monday 7 December, 9:30 am", where="Where: Wan Chai")
    reply = Reply(parts=("x",), before=("Your reference number is KF0000001. Please keep it.",
                                        "Your appointment is booked."),
                  prompt="Is there anything else I can help you with?", reference="KF0000001",
                  ended=True, next_steps=steps,
                  summary=Summary("Your answers:", (SummaryItem("phone", "Phone", "9123 4567"),)),
                  options=(Option("1", "yes", "Yes, something else"),
                           Option("2", "no", "No, that's all")))
    assert render_sms(reply, gettext) == (
        "Your reference number is KF0000001. Please keep it.\nWhat to do next:\n"
        "Bring: your identity card\nWhen: Monday 7 December, 9:30 am\nWhere: Wan Chai\n\n"
        "Your appointment is booked.\n\nIs there anything else I can help you with?\n\n"
        "Reply 1 for Yes, something else\nReply 2 for No, that's all")
    # the summary other channels send: the same end, every page at once, marked when several
    assert summary_messages(reply, gettext) == [
        "Your reference number is KF0000001. Please keep it.\nWhat to do next:\n"
        "Bring: your identity card\nWhen: Monday 7 December, 9:30 am\nWhere: Wan Chai\n\n"
        "Your appointment is booked."]
    assert summary_messages(reply, gettext, heading="From Kaifong:", answers=True)[0] == (
        "From Kaifong:\n\nYour reference number is KF0000001. Please keep it.\nWhat to do next:"
        "\nBring: your identity card\nWhen: Monday 7 December, 9:30 am\nWhere: Wan Chai\n\n"
        "Your appointment is booked.\n\nYour answers:\nPhone: 9123 4567")


def test_a_long_summary_comes_in_numbered_messages_of_two_segments():
    steps = NextSteps("下一步：", bring=tuple(f"帶：文件{i}，" + "字" * 30 for i in range(6)))
    reply = Reply(parts=("x",), before=("完成。",), ended=True, next_steps=steps,
                  locale="zh-HK")
    messages = summary_messages(reply, gettext)
    assert len(messages) > 1 and messages[0].startswith("下一步：\n帶：文件0")
    assert all(count_segments(m).segments <= 2 for m in messages)
    assert messages[-1].endswith(f"({len(messages)}/{len(messages)})")


def test_a_review_after_a_miss_keeps_the_apology_and_the_answers_in_one_message():
    items = tuple((f"s{i}", f"Answer number {i}", "x" * 18) for i in range(4))
    reply = _review(items=items)
    assert render_sms(reply, gettext).startswith("Please check your answers:\n")
    sorry = "Sorry, I did not understand. " * 2
    text = render_sms(Reply(**{**reply.__dict__, "before": (sorry.strip(),)}), gettext)
    assert text.startswith(f"{sorry.strip()}\n\n2. Answer number 0: ")
    assert count_segments(text).segments <= 2
