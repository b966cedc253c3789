"""Face detection (5 landmarks), alignment to the FFHQ template, and face-parsing masks."""

from .alignment import FFHQ_TEMPLATE_512, align_face, similarity_transform, template_for, warp_affine
from .detection import Detection, FaceDetector, RetinaFaceDetector, YuNetDetector, select_faces

__all__ = [
    "FFHQ_TEMPLATE_512",
    "Detection",
    "FaceDetector",
    "RetinaFaceDetector",
    "YuNetDetector",
    "align_face",
    "select_faces",
    "similarity_transform",
    "template_for",
    "warp_affine",
]
