"""Subject access and erasure in the console: a supervisor finds everything held for a phone
number or a reference, exports it (JSON, a readable page in either language) and erases it;
each action audited without the number; agents cannot; the number never travels in a URL."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from assistant import Start, Text
from assistant.store import metadata

from .conftest import sign_in, token_in

NUMBER = "+85261234588"
HKID = "A123456(3)"


def walk_to_reference(assistant, address: str = NUMBER) -> str:
    """The identity card procedure by SMS (as the core sees it), to its reference."""
    assistant.turn("sms", address, Start(), "en", "text")
    reply = None
    for said in ("lost my id card", "1", "1", "1", "yes", HKID, "1", "6123 4588", "yes", "1",
                 "1", "1", "1"):
        reply = assistant.turn("sms", address, Text(said), "en", "text")
    assert reply.reference, reply.text
    return reply.reference


@pytest.fixture
def held(app):
    from assistant.conversation import seed_appointment_slots
    assistant = app.extensions["kaifong"]
    seed_appointment_slots(assistant.store, assistant.catalogue, days=5)
    reference = walk_to_reference(assistant)
    # someone else, at the kiosk, gave the same number as theirs to call back
    assistant.turn("kiosk", "demo:abc", Text("person please, call me on 6123 4588"), "en",
                   "screen")
    assistant.turn("sms", "+85290000001", Text("hello"), "en", "text")   # not theirs
    return reference


def supervisor(client):
    sign_in(client, "wong")
    return token_in(client.get("/staff/subject").get_data(as_text=True))


def audit_rows(app):
    return app.extensions["kaifong_desk"].audit_log(limit=20)


def test_only_supervisors_reach_personal_data_requests(client, held):
    sign_in(client, "mei")
    assert client.get("/staff/subject").status_code == 403
    token = token_in(client.get("/staff/").get_data(as_text=True))
    for path in ("/staff/subject", "/staff/subject/export", "/staff/subject/erase"):
        assert client.post(path, data={"csrf_token": token, "by": "phone",
                                       "value": NUMBER}).status_code == 403
    assert "Personal data requests" not in client.get("/staff/").get_data(as_text=True)


def test_a_search_finds_everything_masked_and_is_audited_without_the_number(client, app, held):
    token = supervisor(client)
    page = client.post("/staff/subject", data={"csrf_token": token, "by": "phone",
                                              "value": "6123 4588"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", html))
    assert counts["Conversations"] == "2" and counts["Appointments"] == "1"
    table = html.split("<table>")[1]
    assert re.search(r"\+\*{9}88", table) and NUMBER not in table
    entry = audit_rows(app)[0]
    assert (entry.staff, entry.action) == ("wong", "looked_up")
    assert entry.detail["conversations"] == 2 and "4588" not in json.dumps(entry.detail)
    bad = client.post("/staff/subject", data={"csrf_token": token, "by": "phone",
                                             "value": "12345"})
    assert bad.status_code == 400 and "not a Hong Kong phone number" in bad.get_data(True)


def test_exports_hold_everything_unmasked_in_json_and_in_either_language(client, app, held):
    cid = app.extensions["kaifong"].store.conversation_id("sms", NUMBER)
    app.extensions["kaifong_desk"].note(cid, "mei", "Her son will bring the form")
    token = supervisor(client)
    form = {"csrf_token": token, "by": "reference", "value": held}
    got = client.post("/staff/subject/export", data={**form, "format": "json"})
    assert got.status_code == 200 and got.mimetype == "application/json"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    doc = got.get_json()
    assert doc["search"] == {"by": "reference", "reference": held}
    [conv] = doc["conversations"]
    assert conv["address"] == NUMBER and conv["answers"]["hkid"]
    assert any(HKID.replace("(", "").replace(")", "") in line["text"].upper().replace(" ", "")
               or HKID in line["text"] for line in conv["transcript"])
    assert doc["appointments"][0]["reference"] == held
    # staff's internal notes are held about them too: exported, marked as notes
    assert conv["transcript"][-1] == {"at": conv["transcript"][-1]["at"], "role": "staff",
                                      "text": "Her son will bring the form", "note": True}
    assert not any(line.get("note") for line in conv["transcript"][:-1])
    for lang, heading, html_lang in (("en", "What Kaifong holds about you", "en"),
                                     ("zh-HK", "街坊為你保存嘅資料", "zh-Hant-HK")):
        page = client.post("/staff/subject/export", data={**form, "format": "page",
                                                          "lang": lang})
        html = page.get_data(as_text=True)
        assert f'<html lang="{html_lang}">' in html and heading in html
        assert NUMBER in html and held in html and "Her son will bring the form" in html
    assert [e.detail["format"] for e in audit_rows(app)[:3]] == ["page", "page", "json"]
    assert all(e.action == "exported" for e in audit_rows(app)[:3])


def test_erasure_needs_a_confirmation_then_leaves_no_trace_of_the_number(client, app, held):
    token = supervisor(client)
    form = {"csrf_token": token, "by": "phone", "value": "61234588"}
    refused = client.post("/staff/subject/erase", data=form)
    assert refused.status_code == 400 and "Tick the box" in refused.get_data(as_text=True)
    done = client.post("/staff/subject/erase", data={**form, "confirm": "yes"})
    assert done.status_code == 200 and "Erased" in done.get_data(as_text=True)
    entry = audit_rows(app)[0]
    assert entry.action == "erased" and entry.detail["conversations"] == 2
    engine = app.extensions["kaifong"].store.engine
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                text = re.sub(r"\D", "", " ".join(str(v) for v in row))
                assert "61234588" not in text, table.name
                assert "1234563" not in re.sub(r"[^0-9]", "", " ".join(
                    str(v) for v in row if table.name != "staff_audit")), table.name
    # the reference is kept as the record, and the other citizen is untouched
    found = client.post("/staff/subject", data={**form, "by": "reference", "value": held})
    assert "Nothing is held" not in found.get_data(as_text=True)
    assert app.extensions["kaifong"].store.conversation_id("sms", "+85290000001")
