"""SMS keywords in both languages, whatever the case, spacing, punctuation or width."""

from __future__ import annotations

import pytest

from channels.sms.keywords import HELP, MORE, OPT_IN, OPT_OUT, keyword


@pytest.mark.parametrize("body", [
    "STOP", "stop", "Stop", " stop ", "STOP!", "Stop.", "ＳＴＯＰ", "ｓｔｏｐ！", "STOP ALL", "STOPALL",
    "stopall", "Unsubscribe", "UNSUBSCRIBE.", "opt out", "OPT-OUT", "optout", "REVOKE",
    "停止", " 停止 ", "停止。", "停止！", "「停止」", "取消訂閱", "取消 訂閱", "停止訂閱", "退訂", "取消订阅",
])
def test_opt_out(body):
    assert keyword(body) == OPT_OUT


@pytest.mark.parametrize("body", ["START", "start", "Start!", "ＳＴＡＲＴ", "YES", "yes", "Yes.",
                                  "UNSTOP", "unstop", "開始", "開始。", "开始"])
def test_opt_in(body):
    assert keyword(body) == OPT_IN


@pytest.mark.parametrize("body", ["HELP", "help", "Help?", "ＨＥＬＰ", "INFO", "info.", "幫助", "幫助？",
                                  "說明", "帮助", "说明"])
def test_help(body):
    assert keyword(body) == HELP


@pytest.mark.parametrize("body", ["M", "m", "M.", "Ｍ", "more", "MORE", "More!", "下一段", "下一頁"])
def test_more(body):
    assert keyword(body) == MORE


@pytest.mark.parametrize("body", [
    # left to the dialogue: an answer in book_appointment, or the dialogue's own "stop"
    "CANCEL", "cancel", "END", "end", "QUIT", "quit",
    # a keyword only counts as the whole message
    "stop it please", "please stop", "help me", "I want to stop getting messages", "yes please",
    "start again", "停止咗", "1", "0", "", "   ", "next", "stop" + " now" * 20,
])
def test_not_keywords(body):
    assert keyword(body) is None


def test_twilio_word_wins_when_it_acted_on_a_keyword():
    # Advanced Opt-Out tells us what it did: CANCEL may be configured as an opt-out there
    assert keyword("cancel", "STOP") == OPT_OUT
    assert keyword("go", "START") == OPT_IN
    assert keyword("?", "help") == HELP
    assert keyword("stop", "UNKNOWN") == OPT_OUT
