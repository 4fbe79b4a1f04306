"""The echo answers of a Cantonese yes/no question are read from the question as it is asked,
with its facts filled in: 「住咗{years}年或以上未？」 is 「住咗7年或以上未？」, answered 有 / 未."""

from __future__ import annotations

from assistant.model import Choose, Text

from ..conftest import Flow


def test_a_question_with_a_fact_in_it_echoes_its_verb(catalogue):
    flow = Flow(catalogue, locale="zh-HK")
    flow.send(Choose("old_age_allowance"))
    flow.send(Choose("next"))
    reply = flow.send(Text("70"))
    assert "住咗7年或以上未" in reply.question
    assert [(o.value, o.label) for o in reply.options] == [("yes", "有"), ("no", "未")]


def test_ke_ng_ke_yi_is_answered_in_full():
    """可唔可以 is also an A-not-A (可唔可): the pattern written for it must win, or the buttons
    read 可 / 唔可."""
    from assistant.engine import echo_answers

    assert echo_answers("我會問你嘅電話號碼。可唔可以？") == ("可以", "唔可以")
    assert echo_answers("你想唔想職員幫你？") == ("想", "唔想")
