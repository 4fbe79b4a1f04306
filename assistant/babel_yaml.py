"""A Babel extractor for the catalogue's YAML (``[assistant.babel_yaml:extract: prompts/**.yaml]``).

It yields the texts a citizen may see: procedure titles and summaries, what each step says, asks
or offers, the collection statement, the shared prompts, menu labels and office details. Synonyms
and option phrases are per language already, so they are not extracted. Reads only the file
Babel hands it.
"""

from __future__ import annotations

import re

import yaml

TEXT_KEYS = frozenset({"title", "summary", "say", "ask", "help", "hint", "label", "what", "why",
                       "when", "fee", "call", "where", "hours", "bring", "owner",
                       "purpose", "reason_label"})
#: a text may be a mapping of wording variants (``default``, ``voice``, ``screen``, ``text``)
VARIANT_KEYS = frozenset({"default", "voice", "screen", "text"})
OFFICE_KEYS = frozenset({"name", "address", "hours"})


def extract(fileobj, keywords, comment_tags, options):
    """Babel's extractor protocol: yield (line number, funcname, message, comments)."""
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if root is None:
        return
    yield from _walk(root, parent_key=None, section=None)


def _walk(node, parent_key, section):
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            key = key_node.value
            if section is None and key in ("prompts", "offices", "menu", "facts"):
                inner = key
            else:
                inner = section
            if key in ("synonyms", "phrases") or (section != "prompts" and key in (
                    "next", "cases", "with")) or (
                    section is None and key in ("commands", "distress", "keys")):
                continue
            if isinstance(value, yaml.ScalarNode) and value.tag.endswith(":str"):
                if _wanted(key, section) and _words(value.value, section):
                    yield value.start_mark.line + 1, None, value.value, [f"{section or 'step'}: {key}"]
            elif _wanted(key, section) and _variants(value):
                for variant, text in value.value:
                    yield (text.start_mark.line + 1, None, text.value,
                           [f"{section or 'step'}: {key} ({variant.value})"])
            elif key == "bring" and isinstance(value, yaml.SequenceNode):
                for item in value.value:
                    items = item.value if _variants(item) else [(None, item)]
                    for _, text in items:
                        if isinstance(text, yaml.ScalarNode):
                            yield text.start_mark.line + 1, None, text.value, ["step: bring"]
            else:
                yield from _walk(value, key, inner)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item, parent_key, section)


def _variants(node) -> bool:
    return isinstance(node, yaml.MappingNode) and node.value and all(
        k.value in VARIANT_KEYS and isinstance(v, yaml.ScalarNode) for k, v in node.value)


def _wanted(key: str, section: str | None) -> bool:
    if section == "prompts":
        return True
    if section == "offices":
        return key in OFFICE_KEYS
    if section == "facts":
        return key == "value"
    return key in TEXT_KEYS


def _words(text: str, section: str | None) -> bool:
    """Fact values that are words (an address, a month) are translated; numbers and web
    addresses are not."""
    if section != "facts":
        # a text that is only placeholders ("{office}", "${fee}") is filled with words that are
        # translated themselves
        return bool(re.search(r"[A-Za-z]", re.sub(r"\{[a-z_.]+\}", "", text)))
    return bool(re.search(r"[A-Za-z]{2}", text)) and not re.match(r"^(www\.|https?:)", text)
