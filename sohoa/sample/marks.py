"""Marks made by hand on a synthetic page: a signature scribble and the round red seal."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from sohoa.sample.fonts import FontSet, load_font

STAMP_RED = (205, 35, 45)


def _bezier(points: np.ndarray, steps: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, steps)[:, None]
    p0, p1, p2, p3 = points
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def scribble(
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
    font = load_font(font_path, size)
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


def press_seal(
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
