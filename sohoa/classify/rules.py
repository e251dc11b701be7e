"""Rule scorer: catalogue phrases, keywords and patterns found in a record's zones.

Each find is a piece of evidence in 0..1 (roughly: how surely it alone names the procedure),
and a procedure's score combines its pieces by noisy-OR, so many weak keywords never add up
to a clear form title. Overlapping finds are settled longest-first, which makes the most
specific term win: "chưa đăng ký kết hôn" (marital-status form) swallows the "đăng ký kết
hôn" inside it, "mục đích sử dụng đất" swallows "mục đích sử dụng".
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from sohoa.classify.catalogue import Catalogue
from sohoa.classify.document import Zone
from sohoa.classify.normalise import fold, tidy

PHRASE_EVIDENCE = 0.95  # a form title standing as a heading
KEYWORD_EVIDENCE = 0.12
PATTERN_EVIDENCE = 0.5
IN_SENTENCE = 0.7  # a title phrase inside a sentence ("để đăng ký kết hôn") is a mention
HEADING_COVERAGE = 0.6  # share of its line(s) a phrase must fill to be a heading
FOLDED_ONLY = 0.95  # quality of a find that matches only once diacritics are dropped
FUZZY_CUTOFF = 90  # rapidfuzz partial_ratio on folded text; ~1 wrong letter in 12
FUZZY_QUALITY = 0.9  # times ratio/100: a fuzzy find is never as good as an exact one
FUZZY_MIN_CHARS = 12  # shorter phrases would fuzzily match unrelated words
FUZZY_ZONES = frozenset({"title", "body"})  # attachments weigh little; skip the cost


@dataclass(frozen=True)
class _Term:
    procedure: str
    kind: str  # "phrase" or "keyword"
    tidy: str
    folded: str


@dataclass(frozen=True)
class _Hit:
    term: _Term
    start: int  # span in the zone's folded text
    end: int
    quality: float  # 1.0 exact with diacritics, FOLDED_ONLY, or a fuzzy score below that


@dataclass(frozen=True)
class _Rules:
    terms: tuple[_Term, ...]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]  # (procedure key, compiled)


def score(zones: list[Zone], catalogue: Catalogue) -> dict[str, float]:
    """Score in 0..1 for each catalogue procedure with any evidence in the zones."""
    rules = _compile(catalogue)
    pieces: dict[str, list[float]] = {}
    for zone in zones:
        for procedure, evidence in _zone_evidence(zone, rules):
            pieces.setdefault(procedure, []).append(evidence)
    return {procedure: _noisy_or(values) for procedure, values in pieces.items()}


@lru_cache(maxsize=8)
def _compile(catalogue: Catalogue) -> _Rules:
    terms, patterns = [], []
    for procedure in catalogue.procedures:
        for kind, texts in (("phrase", procedure.phrases), ("keyword", procedure.keywords)):
            for text in texts:
                terms.append(_Term(procedure.key, kind, tidy(text), fold(text)))
        patterns += [(procedure.key, re.compile(p, re.IGNORECASE)) for p in procedure.patterns]
    return _Rules(tuple(terms), tuple(patterns))


def _zone_evidence(zone: Zone, rules: _Rules) -> list[tuple[str, float]]:
    hits = _settle_overlaps(_find(zone, rules.terms))
    phrase_spans: dict[str, list[tuple[int, int]]] = {}
    for hit in hits:
        if hit.term.kind == "phrase":
            phrase_spans.setdefault(hit.term.procedure, []).append((hit.start, hit.end))
    # Repeats add nothing: a title printed twice is one piece of evidence, and so is a
    # keyword on every line. Slot None holds the procedure's best phrase.
    best: dict[tuple[str, str | None], float] = {}
    for hit in hits:
        term = hit.term
        if term.kind == "keyword":
            slot, value = term.folded, zone.weight * KEYWORD_EVIDENCE * hit.quality
        else:
            coverage = _coverage(zone, hit, phrase_spans[term.procedure])
            shape = 1.0 if coverage >= HEADING_COVERAGE else IN_SENTENCE
            slot, value = None, zone.weight * PHRASE_EVIDENCE * hit.quality * shape
        best[term.procedure, slot] = max(value, best.get((term.procedure, slot), 0.0))
    evidence = [(procedure, value) for (procedure, _), value in best.items()]
    found = {key for key, regex in rules.patterns if _search_either(regex, zone)}
    return evidence + [(key, zone.weight * PATTERN_EVIDENCE) for key in found]


def _find(zone: Zone, terms: tuple[_Term, ...]) -> list[_Hit]:
    padded_tidy = f" {zone.tidy} "
    hits = []
    for term in terms:
        quality = 1.0 if f" {term.tidy} " in padded_tidy else FOLDED_ONLY
        spans = _occurrences(term.folded, zone.folded)
        hits += [_Hit(term, start, end, quality) for start, end in spans]
        fuzzy = (
            not spans
            and term.kind == "phrase"
            and zone.name in FUZZY_ZONES
            and len(term.folded) >= FUZZY_MIN_CHARS
        )
        if fuzzy:
            found = fuzz.partial_ratio_alignment(
                term.folded, zone.folded, score_cutoff=FUZZY_CUTOFF
            )
            if found is not None:
                start, end = _whole_words(zone.folded, found.dest_start, found.dest_end)
                hits.append(_Hit(term, start, end, FUZZY_QUALITY * found.score / 100))
    return hits


def _occurrences(term: str, text: str) -> list[tuple[int, int]]:
    """Spans of `term` as whole words in folded `text`, where only spaces separate words.

    str.find is several times faster here than a regular expression with lookarounds."""
    spans = []
    start = text.find(term)
    while start >= 0:
        end = start + len(term)
        if (start == 0 or text[start - 1] == " ") and (end == len(text) or text[end] == " "):
            spans.append((start, end))
        start = text.find(term, start + 1)
    return spans


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a fuzzy alignment to whole words: it may start or end mid-word ("o khai" for
    "1o khai") or on a space, which would misplace it on its lines."""
    while start < end and text[start] == " ":
        start += 1
    while end > start and text[end - 1] == " ":
        end -= 1
    start = text.rfind(" ", 0, start) + 1
    space = text.find(" ", end)
    return start, len(text) if space < 0 else space


def _settle_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """Give each stretch of text to one term: the hit matching most characters wins.

    Characters are weighted by quality, so an exact term beats a fuzzy look-alike of about
    its length (a "khai tử" form vs the "khai sinh" phrase), while a fuzzily read form title
    still beats a short keyword inside it ("cư trú" in "tờ khai thay đổi thông tin cư trú")."""
    ranked = sorted(
        hits,
        key=lambda h: (len(h.term.folded) * h.quality, h.term.kind == "phrase"),
        reverse=True,
    )
    kept: list[_Hit] = []
    for hit in ranked:
        if not any(hit.start < k.end and k.start < hit.end for k in kept):
            kept.append(hit)
    return kept


def _coverage(zone: Zone, hit: _Hit, phrase_spans: list[tuple[int, int]]) -> float:
    """Share of the line(s) under `hit` filled by its procedure's phrases.

    Counting all of them lets a title split into several phrases ("đơn đăng ký đất đai" +
    "tài sản gắn liền với đất") still read as one heading."""
    first = bisect_left(zone.line_ends, hit.start)
    last = bisect_left(zone.line_ends, hit.end)
    line_start = zone.line_ends[first - 1] + 1 if first else 0
    line_end = zone.line_ends[min(last, len(zone.line_ends) - 1)]
    filled = sum(
        end - start for start, end in phrase_spans if line_start <= start and end <= line_end
    )
    return filled / max(line_end - line_start, 1)


def _search_either(regex: re.Pattern[str], zone: Zone) -> bool:
    return bool(regex.search(zone.text) or regex.search(zone.folded))


def _noisy_or(values: list[float]) -> float:
    missed = 1.0
    for value in values:
        missed *= 1.0 - value
    return 1.0 - missed
