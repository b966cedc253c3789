"""What the server remembers between requests, each in an object the page owns (no module globals):
the visitors' Stop requests, its measured speed, and the ZeroGPU route. Gradio-free."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..images import Picture
from ..options import RestoreOptions
from ..pipeline import RestorationResult
from ..service import ModelService


def _fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(a, b) >= 0 of seconds = a + b * megapixels, least squares over ``points``; one size seen: all of
    it per megapixel (no way yet to tell the fixed part)."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    n, mean_x, mean_y = len(points), sum(xs) / len(points), sum(ys) / len(points)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if n < 2 or spread < 1e-6 * max(mean_x * mean_x, 1e-9):
        return 0.0, mean_y / mean_x
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    if slope < 0:  # noise: bigger was not slower; a fixed cost alone
        return mean_y, 0.0
    fixed = mean_y - slope * mean_x
    if fixed < 0:  # through the origin instead
        return 0.0, sum(x * y for x, y in points) / sum(x * x for x in xs)
    return fixed, slope


class StopRequests:
    """The visitors' Stop: it ends the restorations running in their session at their next step
    (between stages, face batches and background tiles), as the time limit does. Gradio's ``cancels``
    alone would only stop waiting for the result while the work went on.

    Stop marks the jobs running when it is pressed, each by its own token: a run started afterwards is
    not stopped, and it cannot clear the mark of one still running (a flag per session could: Stop,
    then Restore within 300 ms, left the stopped run going in 5 of 7 tries).
    """

    def __init__(self) -> None:
        self._running: dict[int, tuple[str | None, str]] = {}  # token -> (session, the work's name)
        self._stopped: set[int] = set()
        self._next = 0
        self._lock = threading.Lock()

    def start(self, session: str | None, work: str = "") -> int:
        """A token for a job (``work``, e.g. "restore_batch") starting now in ``session``."""
        with self._lock:
            self._next += 1
            self._running[self._next] = (session, work)
            return self._next

    def finish(self, token: int) -> None:
        with self._lock:
            self._running.pop(token, None)
            self._stopped.discard(token)

    def ask(self, session: str | None) -> list[str]:
        """Stop every job running in ``session`` now; the names of their works, one per job."""
        if not session:
            return []
        with self._lock:
            jobs = {token: work for token, (owner, work) in self._running.items() if owner == session}
            self._stopped.update(jobs)
            return list(jobs.values())

    def stopped(self, token: int) -> bool:
        with self._lock:
            return token in self._stopped


@dataclass(frozen=True)
class QueueLoad:
    """The restorations' queue as a job joining it now meets it: how many wait, how many run, and how
    many run at once."""

    waiting: int = 0
    running: int = 0
    workers: int = 1

    @property
    def ahead(self) -> int:
        return self.waiting + self.running


class RunningJobs:
    """The page's jobs running now: when each started and how far its progress bar is, so that a job
    joining the queue is told what those ahead still have to do. A typical job's time alone told a
    visitor behind an 80 s group photo "about 10 s" in all; they waited 84 s (benchmarks/estimates.py)."""

    def __init__(self, remembered: int = 256) -> None:
        self._jobs: dict[int, list[float | None]] = {}  # token -> [started, fraction of the bar, expected s]
        self._planned: collections.OrderedDict[str, tuple[int, float]] = collections.OrderedDict()
        self._remembered = remembered
        self._lock = threading.Lock()

    def planned(self, photo: str, faces: int, output_pixels: float) -> None:
        """What the estimate found for an uploaded photo (its faces and output size), so the job that
        restores it knows its own cost from its start; the last ``remembered`` photos only."""
        with self._lock:
            self._planned[photo] = (faces, output_pixels)
            self._planned.move_to_end(photo)
            while len(self._planned) > self._remembered:
                self._planned.popitem(last=False)

    def start(self, token: int, started: float) -> None:
        with self._lock:
            self._jobs[token] = [started, 0.0, None]

    def expect(self, token: int, photo: str | None, costs: CostModel) -> None:
        """Job ``token`` restores ``photo``: its expected time, when its estimate was made."""
        with self._lock:
            plan = self._planned.get(photo or "")
            if plan is not None and token in self._jobs:
                self._jobs[token][2] = costs.estimate(*plan)

    def advance(self, token: int, fraction: float) -> None:
        with self._lock:
            if token in self._jobs:
                self._jobs[token][1] = min(max(float(fraction), 0.0), 1.0)

    def finish(self, token: int) -> None:
        with self._lock:
            self._jobs.pop(token, None)

    def left_s(self, typical_s: float, now: float) -> list[float]:
        """Seconds each running job has left: its own expected time less what it has run (at least a
        tenth of it) until its bar is half along, then its pace; a job without an estimate goes by its
        pace from a fifth along, before that by a typical job's time. The first stages (decoding,
        detecting, aligning) are a tenth of the bar and quick: a pace read there put a 43 s group
        photo at 9 s (benchmarks/estimates.py)."""
        with self._lock:
            jobs = [tuple(job) for job in self._jobs.values()]
        left = []
        for started, fraction, expected in jobs:
            ran, done = max(now - (started or 0.0), 0.0), fraction or 0.0
            if done >= (0.5 if expected is not None else 0.2):
                left.append(ran * (1 - done) / done)
            else:
                whole = expected if expected is not None else typical_s
                left.append(max(whole - ran, 0.1 * whole))
        return left


class CostModel:
    """This server's measured cost: seconds per restored face, and for everything else (decoding,
    detecting, upsampling, pasting, saving the files) a fixed part plus seconds per output megapixel,
    fitted to its recent requests. And a typical job's whole time, for the jobs ahead in the queue.

    Everything else once was all "per megapixel": a small photo's fixed costs, spread over its few
    megapixels, announced 19 s for a 6 s selfie at x2 (benchmarks/estimates.py)."""

    def __init__(self, smoothing: float = 0.3, history: int = 32) -> None:
        self.smoothing = smoothing
        self.face_s: float | None = None
        self.fixed_s: float = 0.0
        self.megapixel_s: float | None = None
        self.job_s: float | None = None
        self.frame_s: float | None = None  # a video frame's time beyond its faces (decoding, encoding, ...)
        self._other: collections.deque[tuple[float, float]] = collections.deque(maxlen=history)  # (MP, s)

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
        self._other.append((max(w * h / 1e6, 1e-3), max(total - restore, 0.0)))
        self.fixed_s, self.megapixel_s = _fit_line(list(self._other))
        self.job_s = self._mix(self.job_s, total)

    def estimate(self, faces: int, output_pixels: float) -> float | None:
        """Seconds for a photo with ``faces`` faces and an output of ``output_pixels``, once measured."""
        if self.megapixel_s is None or (faces and self.face_s is None):
            return None
        return faces * (self.face_s or 0.0) + self.fixed_s + output_pixels / 1e6 * self.megapixel_s

    def update_video(self, frames: int, faces: int, seconds: float) -> None:
        """Learn from one clip: ``frames`` restored with ``faces`` faces in all in ``seconds``."""
        if frames <= 0:
            return
        faces_s = faces * (self.face_s or 0.0)
        self.frame_s = self._mix(self.frame_s, max(seconds - faces_s, 0.0) / frames)

    def estimate_video(self, frames: int, faces_per_frame: int, frame_pixels: float) -> float | None:
        """Seconds for a clip of ``frames`` frames of ``frame_pixels`` with ``faces_per_frame`` faces:
        each frame's faces at the measured time a face, and the rest at a clip's measured time a frame
        (before any clip: a photo's of that size), once measured."""
        other = self.frame_s
        if other is None and self.megapixel_s is not None:
            other = self.fixed_s + frame_pixels / 1e6 * self.megapixel_s
        if other is None or (faces_per_frame and self.face_s is None and self.frame_s is None):
            return None  # (a clip measured before any photo: its frame time holds its faces' too)
        return frames * (faces_per_frame * (self.face_s or 0.0) + other)

    def queue_wait(self, load: QueueLoad, running: RunningJobs | None = None, now: float = 0.0) -> float | None:
        """Seconds until a worker is free for a job joining ``load`` now (0 with nothing ahead; None
        until a job has been measured): what the running jobs have left (``running``, else a typical
        job's time each), a typical job's time for each waiting one, shared by the workers."""
        if not load.ahead:
            return 0.0
        if self.job_s is None:
            return None
        left = running.left_s(self.job_s, now)[: load.running] if running else []
        left += [self.job_s] * (load.running - len(left) + load.waiting)
        return sum(left) / max(load.workers, 1)


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
