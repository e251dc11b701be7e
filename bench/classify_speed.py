"""Classifier speed: training on 10,000 records, and classifying one record, rules alone
(the baseline) against rules + trained model.

The records are `sohoa sample` dossiers planned but not drawn: their page text, wrapped into
lines, with OCR-like damage on a share of the words (sohoa.classify.noise.ocr_noise).
Rendering and OCR would cost ~1-2 CPU s per page; this measures the classifier alone.

    .venv/bin/python bench/classify_speed.py            # 10,000 training records
    .venv/bin/python bench/classify_speed.py --train 2000 --test 500

Targets (issue 7): classify < 10 ms per record; train on 10,000 records < 60 s.
CPU = time.process_time() of this process (the fitting is single-threaded).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sohoa.classify import classify, load_catalogue
from sohoa.classify.learn import train
from sohoa.classify.model import dumps, load
from sohoa.config import load_settings
from sohoa.sample.examples import synthetic_examples

TRAIN_SEED = 424242
TEST_SEED = 434343


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    cpu, wall = _clock()
    return cpu - start[0], wall - start[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10_000, help="training records")
    parser.add_argument("--test", type=int, default=1_000, help="records to classify")
    parser.add_argument("--noise", type=float, default=0.15, help="share of damaged words")
    args = parser.parse_args()
    raw = list(load_settings(environ={}).classify.catalogue)
    catalogue = load_catalogue(raw)
    load_avg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cores {os.cpu_count()}, loadavg {load_avg}")

    started = _clock()
    training = synthetic_examples(args.train, TRAIN_SEED, raw, unknown_share=0.1, noise=args.noise)
    testing = synthetic_examples(args.test, TEST_SEED, raw, unknown_share=0.1, noise=args.noise)
    cpu, wall = _since(started)
    pages = sum(len(e.pages) for e in training)
    print(
        f"synthesized {len(training)} + {len(testing)} records ({pages} training pages) "
        f"in {cpu:.1f} s CPU (not part of the measurements)"
    )

    started = _clock()
    model = train(training, catalogue, seed=0)
    train_cpu, train_wall = _since(started)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "classifier.model"
        path.write_bytes(dumps(model))
        size_mb = path.stat().st_size / 1e6
        started = _clock()
        model = load(path, catalogue)
        load_cpu, load_wall = _since(started)

    model.probabilities([])  # the one-time compile of the fast path is part of loading
    rows = []
    for name, used in (("rules (baseline)", None), ("rules + model", model)):
        started = _clock()
        results = [classify(list(e.pages), catalogue, used) for e in testing]
        cpu, wall = _since(started)
        right = sum(r.procedure == e.label for r, e in zip(results, testing, strict=True))
        rows.append(
            (name, 1000 * cpu / len(testing), 1000 * wall / len(testing), right / len(testing))
        )

    print()
    print(f"{'step':<34} {'CPU':>10} {'wall':>10}   target")
    print(
        f"{'train on ' + format(len(training), ',') + ' records':<34} "
        f"{train_cpu:>8.1f} s {train_wall:>8.1f} s   < 60 s"
    )
    print(
        f"{'load the model file':<34} {load_cpu:>8.2f} s {load_wall:>8.2f} s   ({size_mb:.1f} MB)"
    )
    for name, cpu_ms, wall_ms, accuracy in rows:
        print(
            f"{'classify, ' + name:<34} {cpu_ms:>7.2f} ms {wall_ms:>7.2f} ms   < 10 ms"
            f"   (accuracy {accuracy:.4f} on {len(testing)} synthetic records)"
        )
    for key, title in (
        ("held_out_calibration", "held-out records"),
        ("held_out_damaged_twins", "their damaged twins"),
    ):
        print(f"calibration during training on {title} (Brier, accuracy):")
        for name, values in model.info.metrics[key].items():
            print(f"  {name:<15} {values['brier']:.5f}  {values['accuracy']:.4f}")


if __name__ == "__main__":
    main()
