"""Long SMS replies as pages a person can follow. Pure; no I/O.

Every message we send fits in ``MAX_SEGMENTS`` segments. A reply that does not is cut into pages:
between paragraphs where possible (a paragraph, and a question with its options, stays on one
page when it fits on one), else between lines and sentences, else between words; never inside a
word, unless one "word" alone (a long web address) is longer than a page. Every page but the last
ends "(1/3) Reply M for more"; the last one "(3/3)". Chinese has no spaces between words: a
Chinese sentence too long for a page is cut between characters, never inside a run of Latin
letters or digits (a reference number, an identity card number).

``kaifong validate`` reports the texts that would need the last two fallbacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from ..i18n import N_
from .segments import count_segments

__all__ = ["LAST_PAGE", "MAX_SEGMENTS", "MORE_PAGES", "MORE_WORDS", "fits", "footer_for",
           "longest_footer", "paginate", "sentences"]

MAX_SEGMENTS = 2
MORE_PAGES = N_("({page}/{pages}) Reply M for more")
LAST_PAGE = N_("({page}/{pages})")
#: what a citizen sends for the next page (only while there is one; otherwise it is an answer)
MORE_WORDS = ("m", "more", "下一段", "下一頁", "下頁")

Footer = Callable[[int, int], str]

_CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
# a sentence ends at . ! ? followed by a space, or at 。！？ (Chinese needs no space after it),
# with any closing quotes or brackets that follow
_SENTENCE_END = re.compile(r"[.!?][\"')\]」』）]*(\s+)|[。！？][」』）\"')\]]*(\s*)")
# a word: a run of anything but spaces and Chinese, or one Chinese character with the
# punctuation that follows it (so that no page starts with a comma)
_WORD = re.compile(rf"(\s*)([^\s{_CJK}]+|[{_CJK}][、，。：；！？」』）]*)")


def fits(text: str, max_segments: int = MAX_SEGMENTS) -> bool:
    return count_segments(text).segments <= max_segments


def footer_for(gettext, locale: str) -> Footer:
    """The page marker in the conversation's language: ``footer(1, 3)``."""
    def footer(page: int, pages: int) -> str:
        msgid = MORE_PAGES if page < pages else LAST_PAGE
        return gettext(locale, msgid).format(page=page, pages=pages)
    return footer


def longest_footer(footer: Footer) -> str:
    """Room kept on every page for its marker (pages are numbered before they are counted)."""
    return "\n\n" + footer(98, 99)


def paginate(groups: Sequence[str], footer: Footer,
             max_segments: int = MAX_SEGMENTS) -> list[str]:
    """``groups`` (paragraphs, and the question with its options) as the messages to send."""
    groups = [g for g in groups if g]
    whole = "\n\n".join(groups)
    if not whole:
        return []
    if fits(whole, max_segments):
        return [whole]
    reserve = longest_footer(footer)
    bodies = _pack(groups, lambda body: fits(body + reserve, max_segments))
    total = len(bodies)
    return [f"{body}\n\n{footer(i, total)}" for i, body in enumerate(bodies, 1)]


def sentences(text: str) -> list[str]:
    """The sentences of a text, across its lines and paragraphs."""
    return [piece for _, piece in _pieces(text)]


def _pack(groups: list[str], fits_page: Callable[[str], bool]) -> list[str]:
    pages: list[str] = []
    current = ""

    def add(joiner: str, piece: str) -> bool:
        nonlocal current
        candidate = current + joiner + piece if current else piece
        if fits_page(candidate):
            current = candidate
            return True
        return False

    def turn_page() -> None:
        nonlocal current
        if current:
            pages.append(current)
            current = ""

    for group in groups:
        if current and not fits_page(current + "\n\n" + group) and fits_page(group):
            turn_page()          # the whole block on the next page rather than cut in two
        for joiner, piece in _pieces(group, first_joiner="\n\n"):
            if add(joiner, piece):
                continue
            turn_page()
            if add("", piece):
                continue
            for word_joiner, word in _words(piece):     # a sentence longer than a page
                if add(word_joiner, word):
                    continue
                turn_page()
                if add("", word):
                    continue
                for ch in word:                          # a word longer than a page
                    if not add("", ch):
                        turn_page()
                        add("", ch)
    turn_page()
    return pages


def _pieces(text: str, first_joiner: str = "") -> Iterator[tuple[str, str]]:
    """(joiner, sentence): the text's sentences, each with the text that joined it to the one
    before ("\\n\\n" between paragraphs, "\\n" between lines, the spaces between sentences)."""
    joiner = first_joiner
    for p, paragraph in enumerate(text.split("\n\n")):
        for n, line in enumerate(paragraph.split("\n")):
            if p or n:
                joiner = "\n" if n else "\n\n"
            start = 0
            for m in _SENTENCE_END.finditer(line):
                space = m.group(1) if m.group(1) is not None else m.group(2)
                if m.end() >= len(line):
                    break
                yield joiner, line[start:m.end() - len(space)]
                joiner, start = space, m.end()
            if line[start:]:
                yield joiner, line[start:]


def _words(sentence: str) -> Iterator[tuple[str, str]]:
    for m in _WORD.finditer(sentence):
        yield m.group(1), m.group(2)
