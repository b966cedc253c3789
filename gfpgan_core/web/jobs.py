"""The work behind each endpoint, without Gradio: one photo, several photos, a comparison of models,
the estimate shown before Restore, and the examples restored in advance. Tests call these directly.

Every failure a visitor can cause is a :class:`~gfpgan_core.errors.GFPGANError` with one line; the
handlers turn it into the page's error.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import math
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..archives import ArchiveLimits, ResultArchive, image_entries, is_zip
from ..errors import GFPGANError, ImageError, OptionsError, as_sentence, plural
from ..expressions import expressions_csv
from ..images import ImageLike, Picture, encode, load_picture, output_size, read_thumbnail
from ..options import DETECTORS, RestoreOptions
from ..pipeline import STAGES, RestorationResult, Restorer, working_size
from ..results import RestorePlan
from ..service import ModelService
from .diskbudget import DiskBudget, KeptPaths
from .outputs import (
    BatchReport,
    BatchResult,
    BatchRow,
    CompareResult,
    PageResult,
    TaskResult,
    compare_strips,
    could_not_save,
    download_stem,
    face_expressions,
    output_folder,
    public_message,
    write_outputs,
    write_summary,
)
from .settings import (
    DEFAULT_QUALITY,
    DEFAULTS,
    ESTIMATE_CONCURRENCY,
    ESTIMATE_SIDE,
    ESTIMATE_WAIT_S,
    FALLBACK_THRESHOLD,
    MAX_COMPARED,
    OUTPUT_FORMATS,
    Limits,
)
from .state import CostModel, GpuRestore, QueueLoad, RunningJobs, StopRequests
from .text import CANNOT_BE_RESTORED, ESTIMATE_END, no_model_line

log = logging.getLogger(__name__)
Report = Callable[[str, int, int], None]

# the page's progress bar: (stage, its share of the bar, what the page says), in the order they run
_BAR = (
    ("decode", 0.04, "Reading the image"),
    ("detect", 0.04, "Detecting faces"),
    ("align", 0.02, "Aligning faces"),
    ("restore", 0.55, "Restoring faces"),
    ("upsample", 0.15, "Upsampling the background"),
    ("paste", 0.05, "Pasting faces back"),
    ("expressions", 0.05, "Reading expressions"),
    ("encode", 0.10, "Saving the results"),  # the page's own stage, after the engine's
)
assert [stage for stage, _, _ in _BAR] == [*STAGES, "encode"]
# stage -> (share of the bar done when it starts, its share, what the page says)
PROGRESS_STAGES: dict[str, tuple[float, float, str]] = {
    stage: (sum(share for _, share, _ in _BAR[:i]), share, label) for i, (stage, share, label) in enumerate(_BAR)
}


class RequestTimeout(GFPGANError):
    pass


class RequestStopped(GFPGANError):
    pass


def progress_reporter(
    progress: Callable[..., object], timeout_s: float, started: float, stopped: Callable[[], bool] | None = None
) -> Report:
    """The engine's ``progress(stage, done, total)`` shown on the page's bar, with the time limit and
    the visitor's Stop."""

    def report(stage: str, done: int, total: int) -> None:
        if stopped is not None and stopped():
            raise RequestStopped("Stopped, as you asked.")
        if time.perf_counter() - started > timeout_s:
            raise RequestTimeout(f"This image took longer than {timeout_s} s; try a smaller image or fewer faces.")
        start, share, label = PROGRESS_STAGES[stage]
        progress(start + share * done / max(total, 1), desc=f"{label} ({done}/{total})" if total > 1 else label)

    return report


def part_progress(progress: Callable[..., object], k: int, n: int, label: str) -> Callable[..., None]:
    """Part ``k`` of ``n`` of a longer job on the page's bar: its progress scaled into its slice."""

    def bar(fraction: float, desc: str) -> None:
        progress((k + fraction) / n, desc=f"{label}: {desc}")

    return bar


@dataclass
class Context:
    """What every request to one page shares: the models, the limits and the server's state."""

    service: ModelService
    limits: Limits = field(default_factory=Limits)
    budget: DiskBudget | None = None
    stops: StopRequests = field(default_factory=StopRequests)
    costs: CostModel = field(default_factory=CostModel)
    running: RunningJobs = field(default_factory=RunningJobs)
    gpu: GpuRestore | None = None  # the ZeroGPU route, on a ZeroGPU Space
    # drops a session's jobs still waiting in the queue, how many (the server sets it): Stop reaches a
    # run that has not started yet too (Gradio's cancels ends only running ones; a waiting one ran later)
    drop_waiting: Callable[[str], Awaitable[int]] | None = None
    # the restorations' queue as a job joining now meets it, and how long a session's running job
    # waited in it (the server reads them from Gradio's queue; none in-process)
    queue_load: Callable[[], QueueLoad] | None = None
    queued_s: Callable[[str | None], float] | None = None
    # the estimates' own worker (they run outside the queue, as photos arrive)
    estimator: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(ESTIMATE_CONCURRENCY, "estimate")
    )


@dataclass
class Job:
    """One call of an endpoint: when it started, whose it is (for Stop) and the page's progress bar."""

    context: Context
    session: str | None = None
    progress: Callable[..., object] = lambda *args, **kwargs: None
    started: float = field(default_factory=time.perf_counter)
    token: int = -1  # this job's Stop token (Context.stops), given by the endpoint
    queued_s: float = 0.0  # how long it waited in the queue before it started

    def reporter(
        self, bar: Callable[..., object] | None = None, timeout_s: float | None = None, started: float | None = None
    ) -> Report:
        """A progress reporter on ``bar`` (default: the whole bar) that stops at the time limit or on Stop."""
        return progress_reporter(
            bar or self.progress,
            self.context.limits.timeout_s if timeout_s is None else timeout_s,
            self.started if started is None else started,
            lambda: self.context.stops.stopped(self.token),
        )

    def seconds(self) -> float:
        """Since the job started (its queue time not included)."""
        return time.perf_counter() - self.started

    def waited(self) -> float:
        """The visitor's whole wait so far: the queue and the run."""
        return self.queued_s + self.seconds()


def restore_options(
    limits: Limits,
    rescale: float,
    weight: float | None,
    only_center_face: bool,
    background: bool,
    threshold: float | None,
    aligned: bool,
    expressions: bool = False,
    blend: float = DEFAULTS.blend,
) -> RestoreOptions:
    """The page's controls as engine options, within this server's limits (bad values: OptionsError)."""
    return RestoreOptions(
        upscale=float(rescale),
        weight=None if weight is None else float(weight),  # None: the model's own
        only_center_face=bool(only_center_face),
        upsample_background=bool(background),
        aligned=bool(aligned),
        detection_threshold=None if threshold is None else float(threshold),  # None: the detector's own
        fallback_threshold=FALLBACK_THRESHOLD if threshold is None else min(FALLBACK_THRESHOLD, float(threshold)),
        max_faces=limits.max_faces,
        max_input_pixels=limits.max_input_pixels,
        max_output_pixels=limits.max_output_pixels,
        expressions=bool(expressions),
        blend=float(blend),
    )


@dataclass(frozen=True)
class PageOptions:
    """The options of ``/restore`` and ``/restore_batch`` as the page sends them, in the API's order
    (the endpoints' signatures are made from these fields: handlers.py)."""

    model_key: str | None
    rescale: float
    weight: float | None = None  # the model's own default
    only_center_face: bool = DEFAULTS.only_center_face
    background: bool = DEFAULTS.upsample_background
    detector: str = "auto"
    threshold: float | None = None
    aligned: bool = DEFAULTS.aligned
    output_format: str = "PNG"
    quality: int = DEFAULT_QUALITY
    expressions: bool = False
    blend: float = DEFAULTS.blend  # last: raw calls made before it existed send one value fewer (guard.py)

    def __post_init__(self) -> None:
        """The download's options, checked here (the engine checks the rest): a raw API call can send
        null, NaN or a string where the page sends a choice and a number."""
        if self.output_format not in OUTPUT_FORMATS:
            choices = ", ".join(OUTPUT_FORMATS)
            raise OptionsError(f"Output format {str(self.output_format)[:20]!r} is not one of {choices}.")
        quality = self.quality
        if isinstance(quality, bool) or not isinstance(quality, (int, float)) or not math.isfinite(quality):
            raise OptionsError(f"Quality must be a number from 1 to 100, not {str(quality)[:20]!r}.")
        if not 1 <= quality <= 100:
            raise OptionsError(f"Quality must be from 1 to 100, not {quality:g}.")
        object.__setattr__(self, "quality", int(quality))
        blend = self.blend
        if isinstance(blend, bool) or not isinstance(blend, (int, float)) or not 0 <= blend <= 1:  # NaN too
            raise OptionsError(f"Blend must be a number from 0 to 1, not {str(blend)[:20]!r}.")

    def restore_options(self, limits: Limits) -> RestoreOptions:
        return restore_options(
            limits,
            self.rescale,
            self.weight,
            self.only_center_face,
            self.background,
            self.threshold,
            self.aligned,
            self.expressions,
            self.blend,
        )


def pick_restorer(ctx: Context, model_key: str | None, detector: str) -> tuple[str, Restorer]:
    """(the model key used, its restorer); no weights at all is the page's own message."""
    default_key, why = ctx.service.default_model()
    if not model_key and default_key is None:  # the visitor's words; the command is for the operator's log
        log.warning(f"a request found no model: {why}")
        raise GFPGANError(as_sentence(no_model_line(ctx.service.missing_reason()).replace("**", "")))
    key = ctx.service.check_key(model_key or default_key or "")
    if not ctx.service.can_run(key):  # the visitor's words; what to run is the operator's, in the log
        log.warning(f"a request asked for {key}, whose weights are not here: run `{ctx.service.download_command(key)}`")
        runnable = ", ".join(c.key for c in ctx.service.choices() if c.can_run)
        raise GFPGANError(f"The model {key} is not available on this server; choose one of: {runnable}.")
    runnable_detectors = ctx.service.detectors()  # one look at the weights folder per request
    if detector in DETECTORS and detector not in runnable_detectors:
        log.warning(f"a request asked for the {detector} detector, whose weights are not here")
        raise GFPGANError(
            f"The {detector} detector is not available on this server; choose {' or '.join(runnable_detectors)}."
        )
    return key, ctx.service.get(key, detector=detector, upsampler="auto")


def run_request(
    ctx: Context,
    image: ImageLike | None,
    model_key: str | None,
    options: RestoreOptions,
    detector: str,
    progress: Report | None = None,
) -> tuple[Picture, RestorationResult, Restorer]:
    """(input picture, result, the restorer used); every failure is a :class:`GFPGANError` with one line."""
    if image is None or (isinstance(image, str) and not image):
        raise GFPGANError("Please upload an image first.")
    with one_line_errors():
        key, restorer = pick_restorer(ctx, model_key, detector)
        # a large JPEG decodes near the working size; other formats above the decode limit are refused unread
        picture = load_picture(image, ctx.limits.max_decode_pixels, draft_pixels=options.max_input_pixels)
        if ctx.gpu is not None:  # progress cannot cross into the GPU process
            return picture, ctx.gpu(key, detector, picture, options), restorer
        return picture, restorer.restore(picture, options, progress=progress), restorer
    raise AssertionError("unreachable")  # for type checkers: one_line_errors re-raises


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Every failure of a restoration as a GFPGANError of one line: the server keeps serving."""
    try:
        yield
    except GFPGANError:
        raise
    except MemoryError:
        raise GFPGANError("Not enough memory for this image; try a smaller one or a lower rescale factor.") from None
    except Exception as exc:
        log.exception("restore failed")
        raise GFPGANError(
            f"Restoration failed ({type(exc).__name__}); the server is fine, please try another image."
        ) from None


def restore_photo(
    ctx: Context,
    image_path: str | None,
    model_key: str | None,
    options: RestoreOptions,
    detector: str,
    report: Report | None = None,
    output_format: str = "PNG",
    quality: int = DEFAULT_QUALITY,
) -> tuple[PageResult, RestorationResult, Restorer]:
    """One photo restored and written out for the page (its summary is the caller's: it knows the wait)."""
    started = time.perf_counter()
    report = report or (lambda stage, done, total: None)
    with ctx.budget.in_use([image_path]) if ctx.budget else contextlib.nullcontext():
        picture, result, restorer = run_request(ctx, image_path, model_key, options, detector, report)
    report("encode", 0, 1)
    page = write_outputs(picture, result, download_stem(image_path), ctx.limits.preview_side, output_format, quality)
    try:
        report("encode", 1, 1)
    except RequestStopped:  # Stop came as the files were written: a stopped run leaves nothing behind
        if page.download:
            shutil.rmtree(Path(page.download).parent, ignore_errors=True)
        raise
    ctx.costs.update(result, seconds=time.perf_counter() - started)
    return page, result, restorer


@dataclass
class BatchPhotos:
    """A batch's photos, (file name, path or reader) each, and the archive entries passed over."""

    photos: list[tuple[str, str | Callable[[], bytes]]]
    skipped: list[str]


def collect_photos(paths: Sequence[str], limits: Limits) -> BatchPhotos:
    """Every photo in ``paths``, ZIP archives opened (never unpacked). A file named twice counts once;
    the counts are checked before anything is opened, and as each archive is (from its end record,
    before its listing is read), so no request costs more than its limits."""
    unique = list(dict.fromkeys(paths))
    cap = limits.max_batch_photos
    if len(unique) > cap:  # every file holds at least one photo
        at_least = "At least " if any(is_zip(p) for p in unique) else ""
        raise GFPGANError(f"{at_least}{len(unique)} photos were sent; at most {cap} can be restored at once.")
    batch = BatchPhotos([], [])
    for path in unique:
        if is_zip(path):
            contents = image_entries(path, ArchiveLimits(max_files=cap))
            batch.photos += [(entry.name, entry.read) for entry in contents.images]
            batch.skipped += [f"{Path(path).name}: {entry}" for entry in contents.skipped]
        else:
            batch.photos.append((Path(path).name, path))
        if len(batch.photos) > cap:
            raise GFPGANError(f"More than {cap} photos were sent; at most {cap} can be restored at once.")
    if not batch.photos:
        raise GFPGANError("Please upload one or more photos (or a ZIP of photos) first.")
    return batch


def restore_photos(
    job: Job,
    paths: Sequence[str],
    model_key: str | None,
    options: RestoreOptions,
    detector: str,
    output_format: str = "PNG",
    quality: int = DEFAULT_QUALITY,
) -> BatchResult:
    """Several photos in turn (image files, or ZIPs of images) into one ZIP; a photo that fails is a row
    saying why, and the others go on. Stop and the batch's time limit end it at the next step."""
    ctx, limits = job.context, job.context.limits
    batch = collect_photos(paths, limits)
    photos = batch.photos
    suffix = OUTPUT_FORMATS.get(output_format, "png")
    report = BatchReport(skipped=batch.skipped)
    expression_rows: list[dict[str, object]] = []
    halted = ""  # why the photos not reached yet are not restored
    out_dir = output_folder()
    try:
        with ResultArchive(out_dir / "restored_photos.zip") as archive:
            for k, (name, source) in enumerate(photos):
                if halted:
                    report.rows.append(BatchRow(name, halted))
                    continue
                photo_started = time.perf_counter()
                left_s = limits.batch_timeout_s - (photo_started - job.started)
                bar = part_progress(job.progress, k, len(photos), f"Photo {k + 1} of {len(photos)}")
                progress = job.reporter(bar, min(limits.timeout_s, left_s), photo_started)
                try:
                    image = source if isinstance(source, str) else source()
                    _picture, result, _restorer = run_request(ctx, image, model_key, options, detector, progress)
                    progress("encode", 0, 1)
                    stem = download_stem(name)
                    archive.add(f"{stem}_restored.{suffix}", encode(result.picture, suffix, int(quality)))
                    seconds = time.perf_counter() - photo_started
                    ctx.costs.update(result, seconds=seconds)
                    expression_rows += face_expressions(result, stem) or []
                    count = result.face_count
                    report.rows.append(BatchRow(name, "restored", f"{count.restored} of {count.found}", seconds))
                except RequestStopped:
                    halted = "not restored: stopped, as you asked"
                    report.rows.append(BatchRow(name, halted))
                except RequestTimeout as exc:
                    if left_s <= limits.timeout_s:
                        halted = f"not restored: the batch's time limit ({limits.batch_timeout_s} s) was reached"
                        report.rows.append(BatchRow(name, halted))
                    else:
                        report.rows.append(BatchRow(name, f"not restored: {public_message(str(exc))}"))
                except GFPGANError as exc:
                    report.rows.append(BatchRow(name, f"not restored: {public_message(str(exc))}"))
            if options.expressions and archive.count:
                archive.add("expressions.csv", expressions_csv(expression_rows).encode())
            zip_path = archive.path if archive.count else None
    except OSError as exc:
        raise could_not_save(exc, out_dir, "the results") from None
    if zip_path is None:
        shutil.rmtree(out_dir, ignore_errors=True)
    return BatchResult(str(zip_path) if zip_path else None, report.summary(job.waited()))


TASK_WORDS = {"colorize": "Colourised", "inpaint": "The white region filled"}


def run_task(job: Job, face: str | None, task: str) -> TaskResult:
    """One aligned face colourised or filled where it is pure white, by the checkpoint made for it,
    as its authors' scripts call it (:data:`~gfpgan_core.options.TASKS`)."""
    ctx = job.context
    if not face:
        raise GFPGANError("Please upload an aligned face first.")
    options = RestoreOptions(aligned=True, task=task, upscale=1, upsample_background=False)
    with ctx.budget.in_use([face]) if ctx.budget else contextlib.nullcontext(), one_line_errors():
        key, restorer = ctx.service.task_restorer(task)
        picture = load_picture(face, ctx.limits.max_decode_pixels, draft_pixels=ctx.limits.max_input_pixels)
        result = restorer.restore(picture, options, progress=job.reporter())
    out_dir = output_folder()
    path = out_dir / f"{download_stem(face)}_{task}.png"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(result.picture, "png"))
    except OSError as exc:
        raise could_not_save(exc, out_dir, "the result") from None
    notes = "".join(f" {note}" for note in result.notes)
    return TaskResult(str(path), f"**{TASK_WORDS[task]}** · {job.waited():.1f} s · model {key}.{notes}")


def compare_models(
    job: Job, image_path: str | None, model_keys: Sequence[str] | None, options: RestoreOptions, detector: str
) -> CompareResult:
    """The faces of one photo restored by two to four models: a strip per face and each model's time."""
    keys = list(dict.fromkeys(model_keys or []))
    if not 2 <= len(keys) <= MAX_COMPARED:
        raise GFPGANError(f"Choose two to {MAX_COMPARED} models to compare.")
    results: list[tuple[str, RestorationResult, float]] = []
    for k, key in enumerate(keys):
        progress = job.reporter(part_progress(job.progress, k, len(keys), f"{key} ({k + 1} of {len(keys)})"))
        model_started = time.perf_counter()
        _picture, result, restorer = run_request(job.context, image_path, key, options, detector, progress)
        results.append((restorer.model_name, result, time.perf_counter() - model_started))
    out_dir = output_folder()
    try:
        return compare_strips(results, out_dir)
    except OSError as exc:
        raise could_not_save(exc, out_dir, "the comparison") from None


def estimate(
    ctx: Context, image_path: str | None, model_key: str | None, options: RestoreOptions, detector: str
) -> str:
    """What a visitor can expect before pressing Restore: the faces the run will restore (the engine's
    own plan, with the same options) and, once this server has measured its speed, about how long it
    will take. Never an error: a file that cannot be read (not an image, truncated, above the decode
    limit) is said here, in the summary, as it arrives; anything else the run says.

    It runs outside the queue (at once, as a photo arrives), so its cost is bounded here: it looks at
    a thumbnail (:data:`ESTIMATE_SIDE`; faces are found on it as on the working image, the smallest
    size scaled alike), in the context's own worker (:data:`ESTIMATE_CONCURRENCY` at a time); one that
    has no answer within :data:`ESTIMATE_WAIT_S` says nothing. One worker, not the caller's thread:
    eight estimates of a 32 MP PNG from eight threads kept 630 MB in the threads' malloc arenas."""
    if not image_path:
        return ""
    look = ctx.estimator.submit(_plan_on_a_thumbnail, ctx, image_path, model_key, options, detector)
    try:
        planned = look.result(timeout=ESTIMATE_WAIT_S)
    except concurrent.futures.TimeoutError:
        look.cancel()  # not started yet: never will be
        return ""
    if planned is None:
        return ""
    if isinstance(planned, str):
        return f"{CANNOT_BE_RESTORED} {planned}"
    plan, pixels = planned
    seconds = ctx.costs.estimate(plan.faces_to_restore, pixels)
    ctx.running.planned(image_path, plan.faces_to_restore, pixels)
    what = f"**{plan.count.sentence(planned=True)}**"
    load = ctx.queue_load() if ctx.queue_load else QueueLoad()
    when = wait_in_words(seconds, load, ctx.costs.queue_wait(load, ctx.running, time.perf_counter()))
    notes = "".join(f"\n\n{note}" for note in plan.notes)  # the fallback threshold's, said before the run too
    return f"{what}{when}{ESTIMATE_END}{notes}"


def wait_in_words(run_s: float | None, load: QueueLoad, queue_s: float | None) -> str:
    """' · about 12 s on this server'; with others ahead in the queue, ' · 2 restorations ahead of you
    (about 40 s), then about 12 s for yours: about 52 s'; '' while nothing has been measured."""

    def about(seconds: float) -> str:
        return f"about {max(1, round(seconds))} s"

    if not load.ahead:
        return f" · {about(run_s)} on this server" if run_s is not None else ""
    ahead = f" · {plural(load.ahead, 'restoration')} ahead of you"
    if queue_s is None or run_s is None:
        return ahead
    return f"{ahead} ({about(queue_s)}), then {about(run_s)} for yours: {about(queue_s + run_s)}"


def is_estimate(summary: str) -> bool:
    """Whether a summary is an estimate (said before a run), not a result's."""
    return ESTIMATE_END in summary or summary.startswith(CANNOT_BE_RESTORED)


def _plan_on_a_thumbnail(
    ctx: Context, image_path: str, model_key: str | None, options: RestoreOptions, detector: str
) -> tuple[RestorePlan, int] | str | None:
    """(the engine's plan made on a thumbnail, the output's pixels at full size); what is wrong with the
    file, in one line; or None (nothing to say before the run)."""
    try:
        thumb = read_thumbnail(image_path, ctx.limits.max_decode_pixels, ESTIMATE_SIDE)
        (w, h), scale = working_size(thumb.source_size or thumb.size, options)
        ratio = thumb.size[0] / w  # the thumbnail's size against the working image's
        look = replace(options, min_face_size=options.min_face_size * ratio, max_input_pixels=None, upscale=1)
        plan = pick_restorer(ctx, model_key, detector)[1].plan(thumb, look)
    except ImageError as exc:  # the file itself: said now
        return as_sentence(str(exc).removeprefix(f"{Path(image_path).name}: "))
    except GFPGANError:  # the options or the model: the run says it
        return None
    except Exception:  # never an error for the visitor: the run will say what is wrong
        log.exception("the estimate failed")
        return None
    ow, oh = output_size((w, h), scale)
    return plan, ow * oh


class ExampleResults:
    """The page's examples restored once with the default settings, in the background after start-up,
    so that clicking an example shows its restoration at once. ``kept`` is every file that must
    outlive the cache's cleaning (the examples and their results)."""

    def __init__(self) -> None:
        self._pages: dict[str, PageResult] = {}
        self.kept = KeptPaths()  # read by sweeps in other threads while fill adds to it

    def get(self, path: str | None) -> PageResult | None:
        return self._pages.get(path or "")

    def fill(self, ctx: Context, paths: Sequence[str]) -> None:
        model_key = ctx.service.default_model()[0]
        d = DEFAULTS
        options = restore_options(
            ctx.limits, d.upscale, d.weight, d.only_center_face, d.upsample_background, d.detection_threshold, False
        )
        for path in paths if model_key else []:
            started = time.perf_counter()
            try:
                page, result, restorer = restore_photo(ctx, path, model_key, options, "auto")
            except GFPGANError as exc:
                log.warning(f"example {Path(path).name} was not restored in advance: {exc}")
                continue
            page.summary = (
                "**Example, restored in advance with the default settings** (press Restore to run it with yours)"
                "\n\n" + write_summary(result, restorer, seconds=time.perf_counter() - started)
            )
            self.kept.update(page.files())
            self._pages[path] = page
        log.info(f"{len(self._pages)} of {len(paths)} examples restored in advance")
