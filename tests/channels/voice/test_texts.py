"""Every word the phone adds is translated into Cantonese as written in Hong Kong, with the same
placeholders (``kaifong validate`` checks ``channels.voice.TEXTS`` too)."""

from __future__ import annotations

import re

from assistant import load_catalogue
from channels.voice import TEXTS

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def test_every_phone_text_has_a_chinese_translation_with_its_placeholders():
    catalogue = load_catalogue()
    for msgid in TEXTS:
        translated = catalogue.gettext("zh-HK", msgid)
        assert translated != msgid, msgid
        assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(msgid)), \
            msgid


def test_the_texts_are_exported_once():
    assert len(TEXTS) == len(set(TEXTS)) > 20


def test_the_public_api_is_what_it_says():
    from channels import voice
    for name in voice.__all__:
        assert hasattr(voice, name), name
    assert set(voice.__all__) == {"TEXTS", "CallStep", "Listen", "Speak", "Transfer", "init_app"}
