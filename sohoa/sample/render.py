"""Draw a PageDoc onto a clean, upright A4 page and report the text lines actually printed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sohoa.sample.doc import Cell, Frame, PageDoc, Row, Signature, TableRow

A4_MM = (210.0, 297.0)
# Margins in mm (left is wider for binding, as in Nghị định 30/2020 Phụ lục I).
MARGINS_MM = (25.0, 18.0, 18.0, 16.0)  # left, top, right, bottom
MIN_BODY_PT = 9.0
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
STAMP_RED = (205, 35, 45)
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
def _font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px)


def page_size(dpi: int) -> tuple[int, int]:
    return round(A4_MM[0] / 25.4 * dpi), round(A4_MM[1] / 25.4 * dpi)


@dataclass
class _Text:
    x: float
    y: float  # baseline
    text: str
    font: ImageFont.FreeTypeFont
    anchor: str
    underline: bool = False


@dataclass
class _Layout:
    """Draw operations and printed lines of one block, plus where the block ends."""

    texts: list[_Text] = field(default_factory=list)
    rules: list[tuple[float, float, float, float]] = field(default_factory=list)
    dots: list[tuple[float, float, float]] = field(default_factory=list)  # x0, x1, y
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    photos: list[tuple[float, float, float, float]] = field(default_factory=list)
    signatures: list[tuple[float, float, float, float, bool, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    bottom: float = 0.0


@dataclass(frozen=True)
class RenderedPage:
    image: Image.Image  # RGB, white paper, upright
    lines: tuple[str, ...]  # the printed text, top to bottom

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float, indent: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        trial = f"{current} {word}" if current else word
        room = width - (indent if lines else 0.0)
        if current and font.getlength(trial) > room:
            lines.append(current)
            current = word
        else:
            current = trial
    lines.append(current)
    return lines


class _Painter:
    """Lays blocks out top to bottom at one body size."""

    def __init__(self, doc: PageDoc, dpi: int, body_pt: float) -> None:
        self.doc = doc
        self.dpi = dpi
        self.fonts = font_families()[doc.family]
        width, height = page_size(dpi)
        mm = dpi / 25.4
        self.left = MARGINS_MM[0] * mm
        self.top = MARGINS_MM[1] * mm
        self.width = width - (MARGINS_MM[0] + MARGINS_MM[2]) * mm
        self.limit = height - MARGINS_MM[3] * mm
        self.body_px = body_pt * dpi / 72
        self.line_h = self.body_px * doc.line_spacing
        self.frame: tuple[float, float, float, bool] | None = None

    def font(self, cell: Cell, scale: float | None = None) -> ImageFont.FreeTypeFont:
        size = round(self.body_px * (cell.scale if scale is None else scale))
        return _font(self.fonts.face(cell.bold, cell.italic), max(size, 6))

    def x(self, fraction: float) -> float:
        return self.left + fraction * self.width

    def row(self, row: Row, y: float) -> _Layout:
        out = _Layout()
        y += row.space_before * self.line_h
        scale = max(c.scale for c in row.cells)
        height = self.line_h * scale
        wraps = len(row.cells) == 1 and row.cells[0].align == "left"
        if wraps:
            cell = row.cells[0]
            font = self.font(cell)
            span = (cell.x1 - cell.x0) * self.width
            indent = row.hanging * self.width
            for index, line in enumerate(_wrap(cell.text, font, span, indent)):
                x = self.x(cell.x0) + (indent if index else 0.0)
                baseline = y + self.body_px * cell.scale * 1.05
                out.texts.append(_Text(x, baseline, line, font, "ls", cell.underline))
                out.lines.append(line)
                y += height
            if row.leader:
                end = x + font.getlength(line) + self.body_px * 0.4
                if end < self.x(cell.x1) - self.body_px:
                    out.dots.append((end, self.x(cell.x1), baseline))
            out.bottom = y
            return out
        printed = []
        for cell in row.cells:
            if not cell.text:
                continue
            span = (cell.x1 - cell.x0) * self.width
            scale = cell.scale
            font = self.font(cell, scale)
            # Headings that do not fit their column are set smaller, never wrapped.
            while font.getlength(cell.text) > span and scale > 0.5:
                scale -= 0.05
                font = self.font(cell, scale)
            if cell.align == "center":
                x, anchor = (self.x(cell.x0) + self.x(cell.x1)) / 2, "ms"
            elif cell.align == "right":
                x, anchor = self.x(cell.x1), "rs"
            else:
                x, anchor = self.x(cell.x0), "ls"
            baseline = y + self.body_px * cell.scale * 1.05
            out.texts.append(_Text(x, baseline, cell.text, font, anchor, cell.underline))
            printed.append(cell.text)
        if printed:
            out.lines.append(" ".join(printed))
        out.bottom = y + height
        return out

    def table_row(self, row: TableRow, y: float) -> _Layout:
        out = _Layout()
        y += row.space_before * self.line_h
        pad = self.body_px * 0.35
        font = _font(self.fonts.face(row.header, False), round(self.body_px))
        cells: list[list[str]] = []
        for text, x0, x1 in zip(row.cells, row.edges, row.edges[1:], strict=False):
            cells.append(_wrap(text, font, (x1 - x0) * self.width - 2 * pad, 0.0))
        count = max(len(c) for c in cells)
        height = count * self.line_h + pad
        for lines, x0, x1 in zip(cells, row.edges, row.edges[1:], strict=False):
            # Numbers and counts sit centred in list tables; label/value tables stay flush left.
            short = len(row.cells) > 2 and len(lines) == 1 and len(lines[0]) <= 4
            for index, line in enumerate(lines):
                baseline = y + pad * 0.5 + index * self.line_h + self.body_px * 1.05
                if row.header or short:
                    at = (self.x(x0) + self.x(x1)) / 2
                    out.texts.append(_Text(at, baseline, line, font, "ms"))
                else:
                    out.texts.append(_Text(self.x(x0) + pad, baseline, line, font, "ls"))
            out.boxes.append((self.x(x0), y, self.x(x1), y + height))
        for index in range(count):
            out.lines.append(" ".join(c[index] for c in cells if index < len(c) and c[index]))
        out.bottom = y + height
        return out

    def signature(self, block: Signature, y: float) -> _Layout:
        out = _Layout()
        height = block.lines * self.line_h
        box = (self.x(block.x0), y, self.x(block.x1), y + height, block.stamp, block.seal)
        out.signatures.append(box)
        out.bottom = y + height if block.advance else y
        return out

    def frame_edge(self, block: Frame, y: float) -> _Layout:
        out = _Layout()
        pad = self.line_h * 0.4
        if block.open:
            self.frame = (self.x(block.x0), y, self.x(block.x1), block.photo)
            out.bottom = y + pad
            return out
        if self.frame is None:
            out.bottom = y
            return out
        x0, top, x1, photo = self.frame
        self.frame = None
        bottom = y + pad
        if photo:
            # Portrait placeholder: 3x4 proportions left of the card's text column.
            pw = self.width * 0.17
            ph = pw * 4 / 3
            px, py = x0 + self.width * 0.025, top + self.line_h * 3.6
            out.photos.append((px, py, px + pw, py + ph))
            bottom = max(bottom, py + ph + pad)
        out.boxes.append((x0, top, x1, bottom))
        out.bottom = bottom + pad
        return out

    def layout(self) -> list[_Layout]:
        parts: list[_Layout] = []
        y = self.top
        for block in self.doc.blocks:
            if isinstance(block, Row):
                part = self.row(block, y)
            elif isinstance(block, TableRow):
                part = self.table_row(block, y)
            elif isinstance(block, Signature):
                part = self.signature(block, y)
            else:
                part = self.frame_edge(block, y)
            parts.append(part)
            y = part.bottom
        return parts


def _bezier(points: np.ndarray, steps: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, steps)[:, None]
    p0, p1, p2, p3 = points
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def _scribble(
    draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], rng: np.random.Generator,
    ink: tuple[int, int, int], dpi: int,
) -> None:  # fmt: skip
    """A hand signature: a few joined cubic strokes with loops, then an underline flourish."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    width = max(2, round(dpi / 90))
    start = np.array([x0 + w * rng.uniform(0.05, 0.25), y0 + h * rng.uniform(0.45, 0.75)])
    path = [start]
    cursor = start
    for _ in range(int(rng.integers(3, 6))):
        end = cursor + np.array([w * rng.uniform(0.08, 0.22), h * rng.uniform(-0.35, 0.35)])
        end[1] = np.clip(end[1], y0 + h * 0.15, y1 - h * 0.15)
        end[0] = min(end[0], x1 - w * 0.05)
        # Control points that reach backwards make the loops of a handwritten signature.
        c1 = cursor + np.array([w * rng.uniform(-0.12, 0.2), -h * rng.uniform(0.3, 0.9)])
        c2 = end + np.array([-w * rng.uniform(-0.12, 0.2), h * rng.uniform(0.2, 0.7)])
        path.extend(_bezier(np.array([cursor, c1, c2, end]), 24)[1:])
        cursor = end
    draw.line([tuple(p) for p in path], fill=ink, width=width, joint="curve")
    flourish = np.array([
        [x0 + w * rng.uniform(0.05, 0.3), y0 + h * 0.8],
        [x0 + w * 0.4, y0 + h * rng.uniform(0.85, 1.0)],
        [x0 + w * 0.7, y0 + h * rng.uniform(0.6, 0.8)],
        [x0 + w * rng.uniform(0.8, 0.95), y0 + h * rng.uniform(0.55, 0.75)],
    ])  # fmt: skip
    draw.line([tuple(p) for p in _bezier(flourish, 30)], fill=ink, width=width, joint="curve")


def _star(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.4
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return points


def _ring_text(
    mask: Image.Image, text: str, centre: tuple[float, float], radius: float, font_path: Path
) -> None:
    """Letters of `text` upright around a circle (tops outward), as on a round seal."""
    size = max(6, round(radius * 0.2))
    font = _font(font_path, size)
    text = f"{text} ★ " if "★" not in text else text
    spread = 2 * math.pi * 0.92  # leave a small gap where the text starts and ends
    step = spread / max(len(text), 1)
    cx, cy = centre
    for index, char in enumerate(text):
        if char == " " or char == "★":
            continue
        angle = -math.pi / 2 - spread / 2 + (index + 0.5) * step  # clockwise from the top
        glyph = Image.new("L", (size * 2, size * 2), 0)
        ImageDraw.Draw(glyph).text((size, size), char, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BILINEAR)
        x = cx + radius * math.cos(angle) - size
        y = cy + radius * math.sin(angle) - size
        mask.paste(255, (round(x), round(y)), glyph)


def _stamp(
    page: Image.Image,
    center: tuple[float, float],
    dpi: int,
    rng: np.random.Generator,
    seal: str,
    fonts: FontSet,
) -> Image.Image:
    """A red round seal with the agency's name round the ring, multiplied over the page so
    the ink beneath stays visible; pressed unevenly, as by hand."""
    radius = 17.5 / 25.4 * dpi
    cx, cy = center
    box = (round(cx - radius - 4), round(cy - radius - 4), round(cx + radius + 4),
           round(cy + radius + 4))  # fmt: skip
    size = (box[2] - box[0], box[3] - box[1])
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    local = (cx - box[0], cy - box[1])
    ring = max(2, round(dpi / 80))
    for r, w in ((radius, ring), (radius * 0.62, max(1, ring // 2))):
        draw.ellipse((local[0] - r, local[1] - r, local[0] + r, local[1] + r), outline=255, width=w)
    draw.polygon(_star(*local, radius * 0.3), fill=255)
    if seal:
        _ring_text(mask, seal, local, radius * 0.81, fonts.bold)
    # Uneven pressure: a smooth random strength field, never zero.
    coarse = rng.uniform(0.55, 1.0, size=(4, 4)).astype(np.float32)
    pressure = cv2.resize(coarse, size, interpolation=cv2.INTER_CUBIC)
    strength = np.asarray(mask, np.float32) / 255.0 * np.clip(pressure, 0.4, 1.0)
    shade = np.array([c + rng.integers(-15, 15) for c in STAMP_RED], np.float32)
    # Multiply: white where no ink, the seal's red where full strength.
    layer = 255.0 - strength[..., None] * (255.0 - shade)
    region = np.asarray(page.crop(box), np.float32)
    inked = (region * layer / 255.0).round().astype(np.uint8)
    page = page.copy()
    page.paste(Image.fromarray(inked, "RGB"), box[:2])
    return page


def render_page(doc: PageDoc, dpi: int) -> RenderedPage:
    """Render `doc` upright on white A4; shrinks the type until the content fits the page."""
    body = doc.body_pt
    while True:
        painter = _Painter(doc, dpi, body)
        parts = painter.layout()
        if parts[-1].bottom <= painter.limit or body <= MIN_BODY_PT:
            break
        body -= 0.5
    # Content that still overflows at the smallest size is left off (and out of the truth).
    parts = [p for p in parts if p.bottom <= painter.limit + painter.line_h]
    image = Image.new("RGB", page_size(dpi), "white")
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(doc.seed)
    rule = max(1, round(dpi / 150))
    lines: list[str] = []
    stamps: list[tuple[float, float]] = []
    for part in parts:
        for x0, y0, x1, y1 in part.boxes:
            draw.rectangle((x0, y0, x1, y1), outline=doc.ink, width=rule)
        for x0, y0, x1, y1 in part.photos:
            draw.rectangle((x0, y0, x1, y1), fill=(200, 200, 200), outline=doc.ink)
            cx, w, h = (x0 + x1) / 2, x1 - x0, y1 - y0
            draw.ellipse(
                (cx - w * 0.22, y0 + h * 0.15, cx + w * 0.22, y0 + h * 0.5), fill=(120,) * 3
            )
            draw.chord((x0 + w * 0.1, y0 + h * 0.55, x1 - w * 0.1, y1 + h * 0.4), 180, 360,
                       fill=(120,) * 3)  # fmt: skip
        for x0, x1, y in part.dots:
            step = painter.body_px * 0.3
            for x in np.arange(x0, x1, step):
                draw.ellipse((x - rule, y - rule, x + rule, y + rule), fill=doc.ink)
        for text in part.texts:
            draw.text((text.x, text.y), text.text, font=text.font, fill=doc.ink, anchor=text.anchor)
            if text.underline:
                left, _, right, _ = draw.textbbox(
                    (text.x, text.y), text.text, text.font, text.anchor
                )
                under = text.y + text.font.size * 0.18
                draw.line((left, under, right, under), fill=doc.ink, width=rule)
        for x0, y0, x1, y1, stamp, seal in part.signatures:
            # Signers do not keep to the box: the strokes often run over the printed name
            # below or the role above.
            reach = (y1 - y0) * rng.uniform(-0.25, 0.45)
            _scribble(draw, (x0, y0 + min(reach, 0), x1, y1 + max(reach, 0)), rng, doc.sign_ink,
                      dpi)  # fmt: skip
            if stamp:
                centre = (x0 + (x1 - x0) * rng.uniform(0.0, 0.3), (y0 + y1) / 2)
                stamps.append((centre, seal))
        lines.extend(part.lines)
    for centre, seal in stamps:
        image = _stamp(image, centre, dpi, rng, seal, painter.fonts)
    return RenderedPage(image, tuple(lines))
