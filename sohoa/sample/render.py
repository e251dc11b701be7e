"""Draw a PageDoc onto a clean, upright A4 page and report the text lines actually printed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sohoa.sample.doc import Cell, Frame, PageDoc, Row, Signature, TableRow
from sohoa.sample.fonts import font_families, load_font
from sohoa.sample.marks import press_seal, scribble

A4_MM = (210.0, 297.0)
# Margins in mm (left is wider for binding, as in Nghị định 30/2020 Phụ lục I).
MARGINS_MM = (25.0, 18.0, 18.0, 16.0)  # left, top, right, bottom
MIN_BODY_PT = 9.0


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
        return load_font(self.fonts.face(cell.bold, cell.italic), max(size, 6))

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
        font = load_font(self.fonts.face(row.header, False), round(self.body_px))
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
            scribble(draw, (x0, y0 + min(reach, 0), x1, y1 + max(reach, 0)), rng, doc.sign_ink,
                      dpi)  # fmt: skip
            if stamp:
                centre = (x0 + (x1 - x0) * rng.uniform(0.0, 0.3), (y0 + y1) / 2)
                stamps.append((centre, seal))
        lines.extend(part.lines)
    for centre, seal in stamps:
        image = press_seal(image, centre, dpi, rng, seal, painter.fonts)
    return RenderedPage(image, tuple(lines))
