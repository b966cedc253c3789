"""What the server remembers between requests, each in an object the page owns (no module globals):
the visitors' Stop requests, its measured speed, and the ZeroGPU route. Gradio-free."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..images import Picture
from ..options import RestoreOptions
from ..pipeline import RestorationResult
from ..service import ModelService


class StopRequests:
    """The visitors' Stop: it ends the restorations running in their session at their next step
    (between stages, face batches and background tiles), as the time limit does. Gradio's ``cancels``
    alone would only stop waiting for the result while the work went on.

    Stop marks the jobs running when it is pressed, each by its own token: a run started afterwards is
    not stopped, and it cannot clear the mark of one still running (a flag per session could: Stop,
    then Restore within 300 ms, left the stopped run going in 5 of 7 tries).
    """

    def __init__(self) -> None:
        self._running: dict[int, str | None] = {}  # token -> session
        self._stopped: set[int] = set()
        self._next = 0
        self._lock = threading.Lock()

    def start(self, session: str | None) -> int:
        """A token for a job starting now in ``session``."""
        with self._lock:
            self._next += 1
            self._running[self._next] = session
            return self._next

    def finish(self, token: int) -> None:
        with self._lock:
            self._running.pop(token, None)
            self._stopped.discard(token)

    def ask(self, session: str | None) -> int:
        """Stop every job running in ``session`` now; how many there were."""
        if not session:
            return 0
        with self._lock:
            tokens = [token for token, owner in self._running.items() if owner == session]
            self._stopped.update(tokens)
            return len(tokens)

    def stopped(self, token: int) -> bool:
        with self._lock:
            return token in self._stopped


@dataclass(frozen=True)
class QueueLoad:
    """The restorations' queue as a job joining it now meets it: how many wait, how long each running
    one has run, and how many run at once."""

    waiting: int = 0
    running_s: tuple[float, ...] = ()
    workers: int = 1

    @property
    def ahead(self) -> int:
        return self.waiting + len(self.running_s)


class CostModel:
    """This server's measured cost: seconds per restored face, and seconds per output megapixel for
    everything else (decoding, upsampling, pasting, saving the files); running averages over its
    requests. And the whole time of a job, for the jobs ahead in the queue (their photos unknown)."""

    def __init__(self, smoothing: float = 0.3) -> None:
        self.smoothing = smoothing
        self.face_s: float | None = None
        self.megapixel_s: float | None = None
        self.job_s: float | None = None

    def _mix(self, old: float | None, new: float) -> float:
        return new if old is None else (1 - self.smoothing) * old + self.smoothing * new

    def update(self, result: RestorationResult, seconds: float | None = None) -> None:
        """Learn from one photo: ``seconds`` its whole job (saving included), else the engine's time.
        The engine's time alone left out the files' writing: estimates of large outputs came short."""
        total = result.timings.get("total", 0.0) if seconds is None else seconds
        faces = len(result.faces)
        restore = result.timings.get("restore", 0.0) if faces else 0.0
        if faces:
            self.face_s = self._mix(self.face_s, restore / faces)
        w, h = result.picture.size
        self.megapixel_s = self._mix(self.megapixel_s, max(total - restore, 0.0) / max(w * h / 1e6, 1e-3))
        self.job_s = self._mix(self.job_s, total)

    def estimate(self, faces: int, output_pixels: float) -> float | None:
        """Seconds for a photo with ``faces`` faces and an output of ``output_pixels``, once measured."""
        if self.megapixel_s is None or (faces and self.face_s is None):
            return None
        return faces * (self.face_s or 0.0) + output_pixels / 1e6 * self.megapixel_s

    def queue_wait(self, load: QueueLoad) -> float | None:
        """Seconds until a worker is free for a job joining ``load`` now (0 with nothing ahead; None
        until a job has been measured). A running job is expected to take a typical job's time (at
        least a tenth of it still to go); the waiting ones a typical job's each; the workers share them."""
        if not load.ahead:
            return 0.0
        if self.job_s is None:
            return None
        left = sum(max(self.job_s - ran, 0.1 * self.job_s) for ran in load.running_s) + load.waiting * self.job_s
        return left / max(load.workers, 1)


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
