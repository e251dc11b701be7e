"""The installed fonts that can print Vietnamese, by family, and how often each is drawn."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    # Liberation 2 (fonts-liberation2) covers Vietnamese; the 1.x files in liberation/ do not.
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/truetype/freefont"),
)
# family -> (regular, bold, italic, bold italic) file names; a family is used only if its
# regular and bold faces are installed, and a missing italic falls back to the upright face.
FAMILY_FILES = {
    "DejaVu Serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
                     "DejaVuSerif-BoldItalic.ttf"),
    "DejaVu Sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
                    "DejaVuSans-BoldOblique.ttf"),
    "Liberation Serif": ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf",
                         "LiberationSerif-Italic.ttf", "LiberationSerif-BoldItalic.ttf"),
    "Liberation Sans": ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf",
                        "LiberationSans-Italic.ttf", "LiberationSans-BoldItalic.ttf"),
    "Noto Serif": ("NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf", "NotoSerif-Italic.ttf",
                   "NotoSerif-BoldItalic.ttf"),
    "Noto Sans": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf",
                  "NotoSans-BoldItalic.ttf"),
    "DejaVu Serif Condensed": ("DejaVuSerifCondensed.ttf", "DejaVuSerifCondensed-Bold.ttf",
                               "DejaVuSerifCondensed-Italic.ttf",
                               "DejaVuSerifCondensed-BoldItalic.ttf"),
    "DejaVu Sans Condensed": ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf",
                              "DejaVuSansCondensed-Oblique.ttf",
                              "DejaVuSansCondensed-BoldOblique.ttf"),
    "Noto Serif Display": ("NotoSerifDisplay-Regular.ttf", "NotoSerifDisplay-Bold.ttf",
                           "NotoSerifDisplay-Italic.ttf", "NotoSerifDisplay-BoldItalic.ttf"),
    "FreeSerif": ("FreeSerif.ttf", "FreeSerifBold.ttf", "FreeSerifItalic.ttf",
                  "FreeSerifBoldItalic.ttf"),
    "FreeSans": ("FreeSans.ttf", "FreeSansBold.ttf", "FreeSansOblique.ttf",
                 "FreeSansBoldOblique.ttf"),
    # Typewritten dossiers of the 1990s and forms filled on old printers.
    "FreeMono": ("FreeMono.ttf", "FreeMonoBold.ttf", "FreeMonoOblique.ttf",
                 "FreeMonoBoldOblique.ttf"),
    "Liberation Mono": ("LiberationMono-Regular.ttf", "LiberationMono-Bold.ttf",
                        "LiberationMono-Italic.ttf", "LiberationMono-BoldItalic.ttf"),
}  # fmt: skip
# How often each family is drawn: Times New Roman is the official typeface of administrative
# documents (Nghị định 30/2020), so its look-alikes (Liberation Serif, FreeSerif) lead.
FAMILY_WEIGHTS = {
    "Liberation Serif": 5, "FreeSerif": 4, "DejaVu Serif": 2, "Noto Serif": 2,
    "Liberation Sans": 2, "DejaVu Sans": 1, "Noto Sans": 1, "FreeSans": 1,
    "DejaVu Serif Condensed": 1, "DejaVu Sans Condensed": 1, "Noto Serif Display": 1,
    "FreeMono": 1, "Liberation Mono": 1,
}  # fmt: skip
# Letters from each part of the Vietnamese repertoire; a face missing one misses its block.
VIETNAMESE_PROBE = "ĂăĐđƠơƯưẠạẤấẬậẶặẾếỆệỊịỐốỘộỚớỢợỦủỮữỰựỳỹ"


@dataclass(frozen=True)
class FontSet:
    regular: Path
    bold: Path
    italic: Path
    bold_italic: Path

    def face(self, bold: bool, italic: bool) -> Path:
        if bold:
            return self.bold_italic if italic else self.bold
        return self.italic if italic else self.regular


def _find(name: str) -> Path | None:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    return None


def _covers_vietnamese(path: Path) -> bool:
    """True if the face has a glyph for every Vietnamese letter.

    Some builds of Liberation lack the Latin Extended Additional block (ạ, ế, ữ ...) and
    would print boxes; a missing glyph renders exactly like the .notdef of a private-use
    code point, which is what this compares against.
    """
    font = ImageFont.truetype(str(path), 16)
    missing = font.getmask("\ue000")
    signature = (missing.size, bytes(missing))
    for char in VIETNAMESE_PROBE:
        mask = font.getmask(char)
        if (mask.size, bytes(mask)) == signature:
            return False
    return True


@lru_cache(maxsize=1)
def font_families() -> dict[str, FontSet]:
    """Installed families that cover Vietnamese, in a fixed order for seeded choices."""
    found: dict[str, FontSet] = {}
    for family, names in FAMILY_FILES.items():
        regular, bold = _find(names[0]), _find(names[1])
        if regular is None or bold is None:
            continue
        italic = _find(names[2]) or regular
        bold_italic = _find(names[3]) or bold
        faces = FontSet(regular, bold, italic, bold_italic)
        if all(_covers_vietnamese(p) for p in {regular, bold, italic, bold_italic}):
            found[family] = faces
    if not found:
        raise RuntimeError("no font with Vietnamese glyphs: install fonts-dejavu-core")
    return found


@lru_cache(maxsize=256)
def load_font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px)
