"""The user's query, parsed into terms and fields. Nothing the user types reaches an engine
as syntax: engines get queries built from these tokens only (sohoa.records.search.engine)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from sohoa.errors import SohoaError
from sohoa.records.search.text import doc_number_key, fold, query_date, tokens

# field:value names and what they match.
FIELDS = {"code": "code", "ma": "code", "cccd": "cccd", "cmnd": "cccd", "so": "so", "year": "year",
          "nam": "year", "date": "date", "ngay": "date"}  # fmt: skip
# A prefix shorter than this would expand to most of the vocabulary.
MIN_PREFIX = 2
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_CHUNK = re.compile(r'"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+)')


@dataclass(frozen=True)
class Term:
    """One thing every hit must contain: a word, a prefix, or a phrase (several tokens in a
    row). `exact` keeps the diacritics the user typed, `folded` has none."""

    exact: tuple[str, ...]
    folded: tuple[str, ...]
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.folded) > 1


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...]
    code: str | None = None
    cccd: str | None = None
    doc_number: str | None = None
    year: int | None = None
    date: str | None = None  # ISO
    ignored: tuple[str, ...] = field(default=())  # field:value pairs that could not be used

    @property
    def has_fields(self) -> bool:
        fields = (self.code, self.cccd, self.doc_number, self.year, self.date)
        return any(v is not None for v in fields)


def _term(text: str, prefix: bool = False) -> Term | None:
    words = tokens(text)
    if not words:
        return None
    if prefix and len(words[-1]) < MIN_PREFIX:
        prefix = False
    return Term(tuple(words), tuple(fold(w) for w in words), prefix)


def parse_query(text: str, max_chars: int) -> ParsedQuery:
    """Words (all must match), "quoted phrases", prefixes (`Nguy*`), and field:value for
    code, cccd (or cmnd), so (document number), year and date (15/03/2019 or 2019-03-15).
    A word with punctuation inside ("15/QĐ-UBND", "15/03/2019") is a phrase of its parts."""
    if len(text) > max_chars:
        raise SohoaError(f"the query has {len(text)} characters; the limit is {max_chars}")
    terms: list[Term] = []
    fields: dict[str, str] = {}
    ignored: list[str] = []
    for match in _CHUNK.finditer(text):
        if match["phrase"] is not None:
            term = _term(match["phrase"])
        else:
            word = match["word"]
            name, colon, value = word.partition(":")
            if colon and fold(name) in FIELDS and value:
                fields[FIELDS[fold(name)]] = value
                continue
            term = _term(word, prefix=word.endswith("*"))
        if term is not None:
            terms.append(term)
    year = fields.get("year")
    if year is not None and not (year.isascii() and year.isdigit() and len(year) == 4):
        ignored.append(f"year:{year}")
        year = None
    day = query_date(fields["date"]) if "date" in fields else None
    if "date" in fields and day is None:
        ignored.append(f"date:{fields['date']}")
    parsed = ParsedQuery(
        tuple(terms),
        code=fields.get("code"),
        cccd=fields.get("cccd"),
        doc_number=doc_number_key(fields["so"]) if "so" in fields else None,
        year=int(year) if year else None,
        date=day,
        ignored=tuple(ignored),
    )
    if not parsed.terms and not parsed.has_fields:
        raise SohoaError(
            'the query has no word to search for: give words, a "phrase" or field:value '
            "(code, cccd, so, year, date)"
        )
    return parsed


def plain_run(query: ParsedQuery) -> tuple[int, int]:
    """(start, end) of the longest run of plain words in the query's terms: letters only,
    no phrase or prefix (a name, a title)."""
    best: tuple[int, int] = (0, 0)
    start = 0
    for index, term in enumerate([*query.terms, None]):
        plain = term is not None and not term.is_phrase and not term.prefix
        if not (plain and term.folded[0].isalpha()):
            if index - start > best[1] - best[0]:
                best = (start, index)
            start = index + 1
    return best


def side_by_side(query: ParsedQuery) -> ParsedQuery | None:
    """The query with its plain run (above) made one phrase, or None when the run is
    shorter than two words. Its hits have the words side by side: "Nguyễn Văn Bình 2019"
    finds the person before three people's words."""
    first, end = plain_run(query)
    if end - first < 2:
        return None
    run = query.terms[first:end]
    phrase = Term(tuple(t.exact[0] for t in run), tuple(t.folded[0] for t in run))
    return replace(query, terms=(*query.terms[:first], phrase, *query.terms[end:]))


def named_years(query: ParsedQuery) -> set[int]:
    """The years the query names as plain words ("Nguyễn Văn Bình 2019")."""
    return {int(t.folded[0]) for t in query.terms if _YEAR.fullmatch(t.folded[0])}
