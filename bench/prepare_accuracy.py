"""Accuracy and cost of page preparation on generated pages with known skew and rotation.

Usage: .venv/bin/python bench/prepare_accuracy.py [pages] [dpi]

Pages are the test suite's generated forms (tests/test_prepare.py): full forms, a third of
them with a red seal and some with only three short lines, skewed by a random angle in
[-10, 10] degrees and turned by a random quarter turn.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_prepare import FORM, SHORT, render_page, scan

from sohoa.ocr.prepare import prepare


def main(pages: int = 40, dpi: int = 200) -> None:
    rng = random.Random(2024)
    layouts = {
        "form": render_page(FORM, dpi=dpi),
        "form+seal": render_page(FORM, dpi=dpi, stamp=True),
        "3 short lines": render_page(SHORT, dpi=dpi),
    }
    names = ["form", "form+seal", "form", "form+seal", "3 short lines"]
    errors: dict[str, list[float]] = {name: [] for name in layouts}
    right = 0
    millis = []
    for _ in range(pages):
        name = rng.choice(names)
        skew, rotation = rng.uniform(-10.0, 10.0), rng.choice((0, 90, 180, 270))
        image = scan(layouts[name], skew, rotation)
        start = time.perf_counter()
        page = prepare(image, dpi)
        millis.append(1000 * (time.perf_counter() - start))
        right += page.rotation == rotation
        errors[name].append(abs(page.skew_deg - skew))
    every = [e for values in errors.values() for e in values]
    print(f"{pages} pages, A4 at {dpi} dpi, skew uniform in [-10, 10], random quarter turns")
    print(f"{'layout':<16}{'N':>4}{'mean |err|':>12}{'max |err|':>11}")
    for name, values in [*errors.items(), ("all", every)]:
        if values:
            mean, worst = statistics.mean(values), max(values)
            print(f"{name:<16}{len(values):>4}{mean:>11.3f}°{worst:>10.3f}°")
    print(f"orientation correct: {right}/{pages} ({100 * right / pages:.0f}%)")
    print(f"prepare: mean {statistics.mean(millis):.0f} ms, max {max(millis):.0f} ms per page")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
