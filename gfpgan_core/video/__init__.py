"""Video: a clip's faces restored frame by frame, steady from frame to frame, its sound and timing
kept (``python -m gfpgan_core video``; :class:`VideoRestorer`)."""

from .restore import VideoOptions, VideoRestorer, VideoResult
from .streams import ClipInfo, DecodedFrame, FrameReader, probe
from .tracking import FaceTracker, TrackerSettings

__all__ = [
    "ClipInfo",
    "DecodedFrame",
    "FaceTracker",
    "FrameReader",
    "TrackerSettings",
    "VideoOptions",
    "VideoRestorer",
    "VideoResult",
    "probe",
]
