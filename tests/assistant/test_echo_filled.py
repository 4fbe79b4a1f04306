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
