"""A scanned PDF page's own image, taken out of the file instead of rasterising the page.

A scanner's PDF page is one image drawn over the whole page: its pixels are the scan, and
rendering the page again (pdftoppm) at the image's resolution costs a second decode, a
resample and a pipe of raw pixels for nothing. Anything else on the page (text, vector
drawing, a second image, a mask, annotations, a rotation, a flip or an uncommon colour
space) and the caller renders the page as before.
"""

from __future__ import annotations

from decimal import Decimal

import pikepdf
from PIL import Image

TOLERANCE_PT = 1.0  # the image must cover the page to within this (rounding of writers)
DRAWING_OPERATORS = {"q", "Q", "cm", "Do"}
COLOUR_SPACES = {"/DeviceGray", "/DeviceRGB"}
ICC_COMPONENTS = {1, 3}  # grey or RGB ICC profiles (scanners embed sRGB or a grey curve)
# Fax and JBIG2 bilevel codings (polarity flags, global segments) are left to the renderer.
FILTERS = {"/DCTDecode", "/FlateDecode", "/LZWDecode"}


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float, Decimal)) else float("nan")


def _sole_image(page: pikepdf.Page) -> tuple[pikepdf.Stream, list[float]] | None:
    """The page's one image XObject and the matrix it is drawn with, or None."""
    if "/Annots" in page.obj or int(page.obj.get("/Rotate", 0)) % 360:
        return None
    drawn, matrix = None, None
    for instruction in pikepdf.parse_content_stream(page):
        operator = str(instruction.operator)
        if operator not in DRAWING_OPERATORS:
            return None
        if operator == "cm":
            if matrix is not None:
                return None  # nested transforms: not the plain scanner layout
            matrix = [_number(value) for value in instruction.operands]
        elif operator == "Do":
            if drawn is not None:
                return None
            drawn = instruction.operands[0]
    if drawn is None or matrix is None:
        return None
    xobjects = page.obj.get("/Resources", {}).get("/XObject", {})
    stream = xobjects.get(drawn)
    if stream is None or stream.get("/Subtype") != "/Image":
        return None
    return stream, matrix


def _plain(stream: pikepdf.Stream) -> bool:
    """An image whose samples are its pixels: no mask, no decode map, a common colour space."""
    if any(key in stream for key in ("/SMask", "/Mask", "/Decode")) or stream.get("/ImageMask"):
        return False
    filters = stream.get("/Filter")
    names = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
    if any(str(name) not in FILTERS for name in names):
        return False
    space = stream.get("/ColorSpace")
    if isinstance(space, pikepdf.Name):
        return str(space) in COLOUR_SPACES
    if isinstance(space, pikepdf.Array) and len(space) == 2 and space[0] == "/ICCBased":
        return int(space[1].get("/N", 0)) in ICC_COMPONENTS
    return False


def full_page_image(page: pikepdf.Page) -> Image.Image | None:
    """The page's image when the page is one upright image covering it, decoded by Pillow;
    None when the page must be rendered instead (also when the image cannot be decoded
    here: the renderer then decides whether the page is damaged)."""
    found = _sole_image(page)
    if found is None:
        return None
    stream, (a, b, c, d, e, f) = found
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    covers = (
        b == 0 and c == 0
        and abs(a - (x1 - x0)) <= TOLERANCE_PT and abs(d - (y1 - y0)) <= TOLERANCE_PT
        and abs(e - x0) <= TOLERANCE_PT and abs(f - y0) <= TOLERANCE_PT
    )  # fmt: skip
    if not covers or not _plain(stream):
        return None
    try:
        image = pikepdf.PdfImage(stream).as_pil_image()
        image.load()
    except Exception:  # any decoder failure: pdftoppm renders the page instead
        return None
    if image.mode not in ("1", "L", "RGB") or image.size != (stream.Width, stream.Height):
        return None
    return image
