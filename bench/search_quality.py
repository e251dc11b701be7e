"""Search quality on a generated archive with planted names, codes and phrases, on SQLite
and PostgreSQL: recall (the planted dossier among the hits) and, for name+year queries,
the share with the planted dossier in the top 3.

The planted applicants' names are damaged in the OCR text the way tesseract damages
Vietnamese (vn-records.md): tone marks lost or changed, one or two letters misread
(rn/m, l/i, u/n, c/e, h/b, a dropped letter). The register titles do not carry the name,
so a name is found only through the page text. Targets (issue 13): recall >= 0.95;
top-3 >= 95% of name+year queries.

    python bench/search_quality.py            # PostgreSQL from SOHOA_TEST_POSTGRES_URL
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

import numpy as np
from search_corpus import Dossier, dossier, fresh_database, load, person
from sqlalchemy.orm import sessionmaker

from sohoa.records import make_engine, session_scope, upgrade
from sohoa.records.search import SearchRequest, SearchSettings, find_in, fold
from sohoa.records.search.index import rebuild

LIMIT = 20
_TONE_SWAP = str.maketrans("ễềếệảạáàãằắẳẵặấầẩẫậ", "ẽèéẹaãaáảặằẵắẳậẩấầẫ")
_MISREAD = (("m", "rn"), ("i", "l"), ("n", "u"), ("e", "c"), ("h", "b"), ("u", "n"), ("a", "o"))


def _misread(rng: np.random.Generator, word: str) -> str:
    """One letter of `word` read wrong (or dropped)."""
    options = [(old, new) for old, new in _MISREAD if old in word.lower()]
    if not options or rng.random() < 0.2:
        cut = int(rng.integers(1, len(word))) if len(word) > 2 else 1
        return word[:cut] + word[cut + 1 :]
    old, new = options[int(rng.integers(len(options)))]
    at = word.lower().index(old)
    return word[:at] + new + word[at + len(old) :]


def damage(rng: np.random.Generator, name: str, kind: str) -> str:
    words = name.split()
    if kind == "none":
        return name
    if kind == "marks lost":
        return fold(name).title()
    if kind == "marks changed":
        return name.translate(_TONE_SWAP)
    picked = rng.choice(len(words), size=1 if kind == "1 letter" else 2, replace=False)
    return " ".join(_misread(rng, w) if i in picked else w for i, w in enumerate(words))


DAMAGE = ("none", "marks lost", "marks changed", "1 letter", "2 letters")


@dataclass(frozen=True)
class Case:
    kind: str  # name+year, name+year (no marks), code, phrase
    damage: str
    query: str
    target: str  # dossier code


def plant(rng: np.random.Generator, records: int, targets: int) -> tuple[list[Dossier], list[Case]]:
    archive = [dossier(rng, n, name_in_title=False) for n in range(records)]
    cases: list[Case] = []
    for slot, number in enumerate(rng.choice(records, size=targets, replace=False)):
        kind = DAMAGE[slot % len(DAMAGE)]
        name = person(rng)
        planted = dossier(rng, int(number), name, name_in_title=False)
        seen = damage(rng, name, kind)
        pages = tuple(page.replace(name, seen).replace(name.upper(), seen.upper())
                      for page in planted.pages)  # fmt: skip
        phrase = f"Ghi chú: hồ sơ bổ sung lần {slot + 2} theo phiếu hẹn {planted.cccd[-5:]}"
        pages = (pages[0] + "\n" + phrase, *pages[1:])
        archive[int(number)] = replace(planted, pages=pages)
        year = planted.year
        cases += [
            Case("name+year", kind, f"{name} {year}", planted.code),
            Case("name+year (no marks)", kind, f"{fold(name)} {year}", planted.code),
            Case("code", "none", f"code:{planted.code}", planted.code),
            Case("phrase", "none", f'"phiếu hẹn {planted.cccd[-5:]}"', planted.code),
        ]  # fmt: skip
    return archive, cases


def evaluate(url: str, archive: list[Dossier], cases: list[Case]) -> list[tuple[Case, int | None]]:
    engine = make_engine(url)
    upgrade(engine)
    load(engine, iter(archive))
    factory = sessionmaker(engine, expire_on_commit=False)
    with session_scope(factory) as session:
        rebuild(session)
    ranks = []
    for case in cases:
        with session_scope(factory) as session:
            hits = find_in(session, SearchRequest(case.query, limit=LIMIT), SearchSettings()).hits
        codes = [hit.code for hit in hits]
        ranks.append((case, codes.index(case.target) + 1 if case.target in codes else None))
    engine.dispose()
    return ranks


def table(backend: str, ranks: list[tuple[Case, int | None]]) -> tuple[float, float]:
    print(f"\n[{backend}] {len(ranks)} queries, {LIMIT} hits each")
    print(f"  {'query kind':<22}{'damage':<15}{'queries':>8}{'found':>7}{'top-3':>7}")
    groups: dict[tuple[str, str], list[int | None]] = {}
    for case, rank in ranks:
        groups.setdefault((case.kind, case.damage), []).append(rank)
    for (kind, harm), found in sorted(groups.items()):
        hit = sum(r is not None for r in found)
        top3 = sum(r is not None and r <= 3 for r in found)
        print(f"  {kind:<22}{harm:<15}{len(found):>8}{hit:>7}{top3:>7}")
    recall = sum(r is not None for _c, r in ranks) / len(ranks)
    names = [r for c, r in ranks if c.kind.startswith("name+year")]
    top3 = sum(r is not None and r <= 3 for r in names) / len(names)
    recall_verdict = "ok" if recall >= 0.95 else "NOT MET"
    top3_verdict = "ok" if top3 >= 0.95 else "NOT MET"
    print(f"  recall {recall:.3f} (target >= 0.95: {recall_verdict}); "
          f"name+year top-3 {top3:.1%} (target >= 95%: {top3_verdict})")  # fmt: skip
    return recall, top3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--targets", type=int, default=50, help="planted dossiers (4 queries each)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args()
    archive, cases = plant(np.random.default_rng(args.seed), args.records, args.targets)
    print(f"search_quality: {args.records} dossiers, {args.targets} planted, {len(cases)} queries")
    for backend in args.backends.split(","):
        with fresh_database(backend, "sohoa-quality-") as url:
            table(backend, evaluate(url, archive, cases))


if __name__ == "__main__":
    main()
