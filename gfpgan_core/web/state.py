"""What the server remembers between requests, each in an object the page owns (no module globals):
the visitors' Stop requests, its measured speed, and the ZeroGPU route. Gradio-free."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..images import Picture
from ..options import RestoreOptions
from ..pipeline import RestorationResult
from ..service import ModelService


class StopRequests:
    """Sessions whose visitor pressed Stop: their running restoration ends at its next step (between
    stages, face batches and background tiles), as the time limit does. Gradio's ``cancels`` alone
    would only stop waiting for the result while the work went on."""

    def __init__(self) -> None:
        self._sessions: set[str] = set()
        self._lock = threading.Lock()

    def ask(self, session: str | None) -> None:
        if session:
            with self._lock:
                self._sessions.add(session)

    def take(self, session: str | None) -> bool:
        """True once after Stop was pressed in ``session``."""
        with self._lock:
            if session in self._sessions:
                self._sessions.discard(session)
                return True
            return False

    def clear(self, session: str | None) -> None:
        with self._lock:
            self._sessions.discard(session or "")


class CostModel:
    """This server's measured cost: seconds per restored face, and seconds per output megapixel for
    everything else (decoding, upsampling, pasting, saving); running averages over its requests."""

    def __init__(self, smoothing: float = 0.3) -> None:
        self.smoothing = smoothing
        self.face_s: float | None = None
        self.megapixel_s: float | None = None

    def _mix(self, old: float | None, new: float) -> float:
        return new if old is None else (1 - self.smoothing) * old + self.smoothing * new

    def update(self, result: RestorationResult) -> None:
        total = result.timings.get("total", 0.0)
        faces = len(result.faces)
        restore = result.timings.get("restore", 0.0) if faces else 0.0
        if faces:
            self.face_s = self._mix(self.face_s, restore / faces)
        w, h = result.picture.size
        self.megapixel_s = self._mix(self.megapixel_s, max(total - restore, 0.0) / max(w * h / 1e6, 1e-3))

    def estimate(self, faces: int, output_pixels: float) -> float | None:
        """Seconds for a photo with ``faces`` faces and an output of ``output_pixels``, once measured."""
        if self.megapixel_s is None or (faces and self.face_s is None):
            return None
        return faces * (self.face_s or 0.0) + output_pixels / 1e6 * self.megapixel_s


def zero_gpu_seconds(model_key: str, detector: str, picture: Picture, options: RestoreOptions) -> int:
    """GPU time to ask ZeroGPU for (a shorter ask queues sooner): 15 s, plus 2 s per output megapixel
    for the background upscaler and a margin for the faces, at most the 120 s a visitor may ask for."""
    megapixels = picture.size[0] * picture.size[1] * options.upscale**2 / 1e6
    return int(min(120, 15 + 2 * megapixels))


GpuRestore = Callable[[str, str, Picture, RestoreOptions], RestorationResult]


def zero_gpu_route(service: ModelService) -> GpuRestore | None:
    """On a ZeroGPU Space, the restoration wrapped in ``spaces.GPU``; None elsewhere (CPU Space,
    dedicated GPU, a laptop), where ``spaces`` need not be installed.

    A GPU is attached only inside functions wrapped in ``spaces.GPU``, which run in a forked process:
    they take picklable arguments (no restorer, no progress callback) and find the models, loaded at
    start, in the service the fork inherits.
    """
    try:
        import spaces
        import spaces.config

        on_zero_gpu = bool(spaces.config.Config.zero_gpu)
    except (ImportError, AttributeError):
        return None
    if not on_zero_gpu:
        return None

    def restore_on_gpu(model_key: str, detector: str, picture: Picture, options: RestoreOptions) -> RestorationResult:
        return service.get(model_key, detector=detector, upsampler="auto").restore(picture, options)

    return spaces.GPU(duration=zero_gpu_seconds)(restore_on_gpu)
