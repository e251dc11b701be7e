"""A stand-in for an agency's red seal: two rings and a star on a transparent background, as
a PNG (what signing.seal_image expects)."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

SEAL_RED = (200, 16, 30, 255)


def draw_seal(path: Path, pixels: int = 400) -> Path:
    image = Image.new("RGBA", (pixels, pixels), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ring = pixels // 24
    # The outer ring touches the image's edges: the image's width is the seal's.
    draw.ellipse((0, 0, pixels - 1, pixels - 1), outline=SEAL_RED, width=ring)
    inner = pixels // 6
    draw.ellipse((inner, inner, pixels - inner, pixels - inner), outline=SEAL_RED, width=ring // 2)
    middle = pixels / 2
    points = []
    for n in range(10):  # a five-pointed star: outer and inner corners in turn
        radius = (0.22 if n % 2 == 0 else 0.09) * pixels
        angle = math.pi * n / 5
        points.append((middle + radius * math.sin(angle), middle - radius * math.cos(angle)))
    draw.polygon(points, fill=SEAL_RED)
    image.save(path, "PNG")
    return path
