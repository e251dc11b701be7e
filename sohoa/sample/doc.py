"""The page model shared by the content generator (people.py, fields.py, forms.py) and the
renderer (render.py).

A page is a list of blocks laid out top to bottom. Horizontal positions are fractions of the
text area width so that the same content renders at any DPI; sizes are relative to the
page's body font size so that a page can be shrunk as a whole when it does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class Cell:
    """A piece of text placed in the horizontal span [x0, x1] of the text area."""

    text: str
    x0: float = 0.0
    x1: float = 1.0
    align: Align = "left"
    bold: bool = False
    italic: bool = False
    scale: float = 1.0
    underline: bool = False


@dataclass(frozen=True)
class Row:
    """One visual line. A single left-aligned cell wraps; several cells shrink to fit instead."""

    cells: tuple[Cell, ...]
    space_before: float = 0.0  # in body line heights
    leader: bool = False  # dotted rule after the text, as on pre-printed forms
    hanging: float = 0.0  # indent of wrapped continuation lines, fraction of the width


@dataclass(frozen=True)
class TableRow:
    """A bordered table row; column edges are fractions of the text area width."""

    cells: tuple[str, ...]
    edges: tuple[float, ...]  # len(cells) + 1 values, ascending
    header: bool = False
    space_before: float = 0.0


@dataclass(frozen=True)
class Signature:
    """Room for a hand signature in [x0, x1], optionally with the agency's red stamp over it."""

    x0: float
    x1: float
    lines: float = 3.0  # height in body line heights
    stamp: bool = False
    advance: bool = True  # False: the next block shares this band (two signers side by side)
    seal: str = "ỦY BAN NHÂN DÂN"  # the agency's name around the seal's ring (not in the truth)


@dataclass(frozen=True)
class Frame:
    """Start (open=True) or end of a ruled box around the rows between, e.g. an ID card copy."""

    open: bool
    x0: float = 0.0
    x1: float = 1.0
    photo: bool = False  # a portrait placeholder at the box's left edge


Block = Row | TableRow | Signature | Frame


@dataclass(frozen=True)
class PageDoc:
    """Content of one page, plus the typographic choices made for it."""

    blocks: tuple[Block, ...]
    family: str  # key into fonts.font_families()
    body_pt: float
    line_spacing: float = 1.45
    ink: tuple[int, int, int] = (20, 20, 24)
    sign_ink: tuple[int, int, int] = (30, 40, 120)
    seed: int = 0  # drives signature strokes and stamp placement
    kind: str = "form"  # form, id_card, receipt, continuation, other
