"""Detection threshold calibration: false and missed faces at several thresholds, per detector.

    python benchmarks/thresholds.py                 # YuNet (weights in its wheel)
    python benchmarks/thresholds.py retinaface      # where its weights are in weights/

Runs the detector at 0.3 over ../shared/data/photos and hq_photos and matches its boxes (IoU >= 0.5)
to the hand labels in benchmarks/face_labels.json (made from YuNet's detections: another detector's
boxes that match no label are counted as unlabelled, to be labelled before its numbers are trusted).
"missed" counts labelled faces the detector scores under the threshold; faces it never finds at 0.3
are missed at every threshold alike and are not counted. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"
THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97)
MIN_SIZE = 16  # the pipeline leaves smaller faces as they are, whatever their score


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def load_labels() -> dict[str, list]:
    return json.loads((REPO / "benchmarks" / "face_labels.json").read_text())["labels"]


def labelled_detections(detector, labels: dict[str, list]) -> list[tuple[float, str]]:  # type: ignore[no-untyped-def]
    """(score, label) of every detection >= MIN_SIZE at 0.3 in the labelled photos."""
    from gfpgan_core import load_picture
    from gfpgan_core.images import to_uint8

    found = []
    for key, boxes in labels.items():
        picture = load_picture(DATA / key)
        truth = [(np.array(b[:4]), b[4]) for b in boxes]
        for face in detector.detect(to_uint8(picture.rgb), 0.3):
            if face.size < MIN_SIZE:
                continue
            match = max(truth, key=lambda t: iou(face.box, t[0]), default=None)
            label = match[1] if match is not None and iou(face.box, match[0]) >= 0.5 else "unlabelled"
            found.append((face.score, label))
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("detector", nargs="?", default="yunet", choices=["yunet", "retinaface"])
    args = p.parse_args()
    from gfpgan_core import GFPGANError
    from gfpgan_core.parts import build_detector

    if not DATA.is_dir():
        raise SystemExit(f"error: {DATA} is absent")
    labels = load_labels()
    try:
        detector, _note = build_detector(args.detector, torch.device("cpu"), None, download=False)
    except GFPGANError as exc:
        raise SystemExit(f"error: {exc}") from None
    found = labelled_detections(detector, labels)
    totals = Counter(label for _, label in found)
    print(f"{args.detector}: {len(found)} detections >= {MIN_SIZE} px at 0.3 in {len(labels)} photos: {dict(totals)}\n")
    print("| threshold | kept | not a face | unsure | unlabelled | faces missed |")
    print("|---|---|---|---|---|---|")
    for t in THRESHOLDS:
        kept = Counter(label for score, label in found if score >= t)
        missed = sum(1 for score, label in found if label == "face" and score < t)
        counts = [sum(kept.values()), kept["not a face"], kept["unsure"], kept["unlabelled"], missed]
        print(f"| {t:g} | " + " | ".join(map(str, counts)) + " |")


if __name__ == "__main__":
    main()
