"""OCR-like damage to text, and damaged twins of training records.

`ocr_noise` imitates what tesseract `vie` does to Vietnamese print (see
shared/domain/vn-records.md): tone marks dropped or acute/hook swapped, look-alike letters,
lost or stray characters, words run together or split, lines lost.

`twin` makes a harder copy of a training record for fitting the combiner. On generated
forms the rules and the model are nearly always both right, so the combiner would never
see them disagree and could not learn whom to believe when they do. Twins supply those
cases: heavy OCR damage, the heading gone (the rules lose their best evidence), or the
heading kept over another record's body (the model is pulled toward the wrong procedure
while the form's title still names the right one).
"""

from __future__ import annotations

import unicodedata

import numpy as np

# What tesseract `vie` does to Vietnamese print (see shared/domain/vn-records.md).
LOOK_ALIKES = (
    ("rn", "m"),
    ("m", "rn"),
    ("l", "1"),
    ("1", "l"),
    ("O", "0"),
    ("0", "O"),
    ("i", "l"),
    ("e", "c"),
    ("ư", "u"),
    ("ơ", "o"),
    ("ô", "o"),
    ("ê", "e"),
    ("â", "a"),
    ("ă", "a"),
    ("Đ", "D"),
    ("đ", "d"),
    ("h", "b"),
    ("c", "e"),
    ("y", "ỵ"),
    ("n", "u"),
)
STRAYS = ("'", "“", ".", ",", "‘", "|", "_", "-")
TONES = "\u0300\u0301\u0303\u0309\u0323"
HEADING_LETTERS = 8  # a line with at least this many letters, nearly all capitals
HEADING_UPPER_SHARE = 0.8


def ocr_noise(text: str, rng: np.random.Generator, level: float) -> str:
    """Damage about `level` of the words the way OCR does: tone marks dropped or swapped,
    look-alike letters, lost or stray characters, words run together or split; and lose
    about level/10 of the lines."""
    if level <= 0:
        return text
    out_lines = []
    for line in text.splitlines():
        if rng.random() < level / 10:
            continue
        words = line.split(" ")
        damaged = []
        for word in words:
            if word and rng.random() < level:
                word = _damage(unicodedata.normalize("NFD", word), rng)
                word = unicodedata.normalize("NFC", word)
            damaged.append(word)
        out_lines.append(" ".join(damaged).replace("\u200b ", "").replace("\u200b", ""))
    return "\n".join(out_lines)


def _damage(word: str, rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < 0.35:  # tone marks dropped
        return "".join(c for c in word if c not in TONES)
    if kind < 0.45:  # acute and hook above confused
        return word.translate({0x301: 0x309, 0x309: 0x301})
    if kind < 0.65:
        composed = unicodedata.normalize("NFC", word)
        options = [(a, b) for a, b in LOOK_ALIKES if a in composed]
        if options:
            a, b = options[int(rng.integers(len(options)))]
            return composed.replace(a, b, 1)
        return composed
    if kind < 0.75 and len(word) > 1:  # a character lost
        at = int(rng.integers(len(word)))
        return word[:at] + word[at + 1 :]
    if kind < 0.85:  # stray mark glued to the word
        stray = STRAYS[int(rng.integers(len(STRAYS)))]
        return stray + word if rng.random() < 0.5 else word + stray
    if kind < 0.93 and len(word) > 3:  # split
        at = int(rng.integers(1, len(word) - 1))
        return word[:at] + " " + word[at:]
    return word + "\u200b"  # run into the next word (joined below)


def is_heading(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    if len(letters) < HEADING_LETTERS:
        return False
    return sum(c.isupper() for c in letters) >= HEADING_UPPER_SHARE * len(letters)


def twin(
    pages: tuple[str, ...], donor: tuple[str, ...], rng: np.random.Generator
) -> tuple[str, ...]:
    """A damaged copy of `pages` whose procedure is still that of `pages`; `donor` is a
    record of another procedure whose body may be borrowed."""
    kind = rng.random()
    if kind < 0.35:
        level = float(rng.uniform(0.3, 0.6))
        return tuple(ocr_noise(page, rng, level) for page in pages)
    first = pages[0].splitlines() if pages else []
    if kind < 0.7:  # the heading lost (torn, stamped over, unreadable)
        kept = [line for line in first if not is_heading(line)]
        return tuple(ocr_noise(page, rng, 0.15) for page in ("\n".join(kept), *pages[1:]))
    # Own heading block, another record's body: the title still decides.
    head = _heading_block(first)
    donor_first = donor[0].splitlines() if donor else []
    body = donor_first[len(_heading_block(donor_first)) :]
    return tuple(ocr_noise(page, rng, 0.15) for page in ("\n".join(head + body), *pages[1:]))


def _heading_block(lines: list[str], within: int = 15) -> list[str]:
    """The lines up to and with the last heading among the first `within`."""
    last = max((n for n, line in enumerate(lines[:within]) if is_heading(line)), default=-1)
    return lines[: last + 1]
