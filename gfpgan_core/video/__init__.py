"""Video: a clip's faces restored frame by frame, steady from frame to frame, its sound and timing
kept (``python -m gfpgan_core video``; :class:`VideoRestorer`)."""

from .restore import VideoOptions, VideoRestorer, VideoResult
from .streams import ClipInfo, probe
from .tracking import FaceTracker, TrackerSettings

__all__ = ["ClipInfo", "FaceTracker", "TrackerSettings", "VideoOptions", "VideoRestorer", "VideoResult", "probe"]
