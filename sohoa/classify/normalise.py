"""Normal forms of Vietnamese text for matching OCR output against the catalogue.

Text may arrive composed (NFC) or decomposed (NFD), and tesseract's `vie` model drops or
confuses tone marks ("Giải quyết" -> "Giải quyet"). Matching therefore uses two forms:
`tidy` keeps the diacritics (a hit there is the strongest evidence) and `fold` strips them
(tolerant of OCR). Both drop punctuation and collapse whitespace so that line breaks,
colons and dashes never decide a match.
"""

from __future__ import annotations

import re
import unicodedata

# Every Vietnamese tone and vowel mark (grave, acute, tilde, hook above, dot below,
# circumflex, breve, horn) lies in the Combining Diacritical Marks block.
_MARKS = re.compile("[\u0300-\u036f]+")
# đ is a letter of its own, not d plus a mark, so NFD keeps it; ð (from Ð U+00D0) and ɖ
# (from Ɖ U+0189) are the look-alikes that OCR and legacy fonts put in its place.
_D_LIKE = ("đ", "ð", "ɖ")
# Words are letters and digits; everything else, underscore included, separates them.
# Only punctuation goes through the regex: str.split() handles whitespace far faster.
_PUNCTUATION = re.compile(r"[^\w\s]+|_+")


def nfc(text: str) -> str:
    """Unicode NFC, the form sohoa stores, compares and indexes."""
    return unicodedata.normalize("NFC", text)


def tidy(text: str) -> str:
    """NFC, lowercase, punctuation dropped, whitespace collapsed; diacritics kept."""
    return _words(nfc(text).lower())


def fold(text: str) -> str:
    """`tidy` without diacritics (đ -> d): the OCR-tolerant form, ASCII for Vietnamese."""
    return nfc(_words(_strip_marks(text)))


def fold_lines(text: str) -> list[str]:
    """`fold` of each line of `text`, as str.splitlines() cuts it (empty lines included).

    One pass over a whole page costs a fraction of folding it line by line."""
    return [nfc(_words(line)) for line in _strip_marks(text).splitlines()]


def _words(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def _strip_marks(text: str) -> str:
    bare = _MARKS.sub("", unicodedata.normalize("NFD", text.lower()))
    for look_alike in _D_LIKE:
        bare = bare.replace(look_alike, "d")
    return bare
