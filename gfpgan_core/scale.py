"""Archives at scale: a folder or bucket of photos restored on a Ray cluster, resumable, with a manifest.

Ray Data's batch-inference shape. The driver lists the source and leaves out what a manifest says is
done; small read tasks fetch each file's bytes; an actor pool, each actor holding one
:class:`~gfpgan_core.pipeline.Restorer` built once, decodes (the engine's own safe decoder), restores,
encodes and writes each result under its final name atomically; one manifest row per input comes back
to the driver, which saves the rows as they arrive. A bad file is a row with its one-line error,
never a failed job.

Ray is an optional dependency (``pip install "gfpgan-core[scale]"``): it is imported when a job
starts, never with this module. Sources and destinations are local folders or any URI pyarrow's
filesystems open (``s3://``, ``gs://``, ``abfs://``, ``hdfs://``); their credentials are the cloud's own.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any, cast

import numpy as np

from .errors import GFPGANError, InputNotFoundError, OptionsError, first_line, plural
from .images import IMAGE_EXTENSIONS, MAX_FILE_BYTES, check_suffix, encode, output_extension, output_stems
from .options import RestoreOptions
from .pipeline import RestorerSpec
from .results import RestorationResult

OUTPUT_FOLDER = "restored_imgs"  # as the folder CLI names it
MANIFEST = "manifest.jsonl"
MANIFEST_PARTS = "manifest.parts"  # rows saved while a job runs, merged into MANIFEST at its end
ROW_FIELDS = ("source", "output", "bytes", "faces_found", "faces_restored", "seconds", "model", "error")
BLOCK_IMAGES = 64  # inputs per block of the job's dataset, at most (more blocks for small jobs)
READ_CPUS = 0.25  # a read task's share: reading waits on storage, not on a core
SAVE_EVERY_S = 10.0  # the driver saves the rows it has at least this often (a killed job loses less)


@dataclass(frozen=True)
class ScaleJob:
    """What to restore, where to, and with what: the folder CLI's options, plus the pool's shape."""

    source: str  # a folder, or a URI pyarrow understands (s3://bucket/prefix)
    destination: str  # the same; results go under OUTPUT_FOLDER, the manifest beside it
    # what each actor builds: a model every worker can read, weights in a cache they share (pre-fetched:
    # docs/scale.md); device "auto" is the GPU Ray gives the actor, if any
    restorer: RestorerSpec
    options: RestoreOptions = field(default_factory=RestoreOptions)
    ext: str = "auto"  # the output format: the input's own, or png, jpg, webp, ...
    suffix: str = ""
    resume: bool = True  # skip inputs whose output and manifest row exist
    actors: int | None = None  # None: as many as the cluster holds (resource_plan)
    gpus_per_actor: float | None = None  # None: 1 on a cluster with GPUs, else 0
    images_per_call: int = 4  # images an actor takes at a time

    def __post_init__(self) -> None:
        """What can be checked before a cluster is asked for anything (the actors check the model; the
        RestorerSpec its choices)."""
        check_suffix(self.suffix)  # it only ever names a file inside the destination
        if self.images_per_call < 1:
            raise OptionsError(f"images_per_call must be at least 1, not {self.images_per_call}.")


@dataclass(frozen=True)
class ResourcePlan:
    """How the actor pool is sized so that reading and writing always have room to run.

    Ray Data's read tasks ask for a CPU each by default: an actor pool holding every CPU (two actors of
    one CPU on a 2-core machine) leaves none for them and the job stalls before its first image. The
    pool takes what is left after a reserve; torch in each actor gets the threads of its share.
    """

    actors: int
    cpus_per_actor: float
    gpus_per_actor: float
    threads: int  # torch threads in each actor
    reserved_cpus: float  # left for the read tasks and the driver


def resource_plan(
    cluster_cpus: float, cluster_gpus: float = 0.0, actors: int | None = None, gpus_per_actor: float | None = None
) -> ResourcePlan:
    """The pool for a cluster of this many CPUs and GPUs (``ray.cluster_resources()``).

    Raises:
        OptionsError: more actors than the cluster's GPUs or CPUs can hold.
    """
    if cluster_cpus < 1:
        raise OptionsError(f"The cluster has {cluster_cpus:g} CPUs: at least one is needed.")
    reserved = max(0.5, 0.1 * cluster_cpus)  # reading and writing wait on storage: a small share does
    usable = cluster_cpus - reserved
    gpus = (1.0 if cluster_gpus >= 1 else 0.0) if gpus_per_actor is None else float(gpus_per_actor)
    if gpus < 0 or (gpus > 0 and gpus > cluster_gpus):
        raise OptionsError(f"{gpus:g} GPUs per actor, but the cluster has {cluster_gpus:g}.")
    if actors is None:  # GPUs: one actor per GPU's share; CPUs only: about four threads each
        actors = int(cluster_gpus // gpus) if gpus > 0 else max(1, int(usable // 4))
    if actors < 1:
        raise OptionsError(f"At least one actor is needed, not {actors}.")
    if gpus > 0 and actors * gpus > cluster_gpus + 1e-9:
        raise OptionsError(f"{actors} actors of {gpus:g} GPUs do not fit the cluster's {cluster_gpus:g} GPUs.")
    cpus = usable / actors
    if gpus > 0:
        cpus = min(cpus, 8.0)  # decoding, alignment and paste-back beside the GPU; more sits idle
    if cpus < 0.1:
        raise OptionsError(f"{actors} actors do not fit {cluster_cpus:g} CPUs (each needs at least a tenth of one).")
    return ResourcePlan(actors, cpus, gpus, max(1, math.ceil(cpus)), reserved)


@dataclass(frozen=True)
class ScaleReport:
    """How a job went: the counts of its final line, and the manifest that holds a row per input."""

    total: int
    restored: int
    skipped: int  # done by an earlier run (resume)
    failed: int
    seconds: float
    manifest: str

    @property
    def images_per_second(self) -> float:
        done = self.restored + self.failed
        return done / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"{plural(self.total, 'image')}: {self.restored} restored, {self.skipped} skipped (done before), "
            f"{self.failed} failed, in {self.seconds:.1f} s ({self.images_per_second:.2f} images/s); "
            f"manifest: {self.manifest}"
        )


# ---------------------------------------------------------------------------------------------- storage
def _filesystem(uri: str) -> tuple[Any, str]:
    """(a pyarrow filesystem, the path on it) for a local path or a URI."""
    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), os.path.abspath(uri)
    try:
        return fs.FileSystem.from_uri(uri)
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError; a missing bucket an OSError
        raise InputNotFoundError(f"Cannot open {uri}: {first_line(exc)}.") from None


@functools.lru_cache(maxsize=8)
def _cached_filesystem(uri: str) -> tuple[Any, str]:
    """One filesystem per URI in each worker process (its connections are reused)."""
    return _filesystem(uri)


def _join(root: str, relative: str) -> str:
    return f"{root.rstrip('/')}/{relative}" if relative else root


def write_atomically(filesystem: Any, path: str, data: bytes) -> None:
    """A file that appears whole or not at all: on a local disk a hidden temporary file renamed; an
    object store shows an object only once its upload completes."""
    from pyarrow import fs

    parent = path.rsplit("/", 1)[0]
    filesystem.create_dir(parent, recursive=True)
    if not isinstance(filesystem, fs.LocalFileSystem):
        with filesystem.open_output_stream(path) as out:
            out.write(data)
        return
    tmp = f"{parent}/.{path.rsplit('/', 1)[1]}.part"
    try:
        with filesystem.open_output_stream(tmp) as out:
            out.write(data)
        filesystem.move(tmp, path)
    except BaseException:
        if filesystem.get_file_info(tmp).type != fs.FileType.NotFound:
            filesystem.delete_file(tmp)
        raise


def _files_under(filesystem: Any, root: str) -> Iterator[tuple[str, int]]:
    """(path relative to ``root``, size) of every file below it; none when it does not exist."""
    from pyarrow import fs

    info = filesystem.get_file_info(root)
    if info.type == fs.FileType.File:
        yield "", info.size
        return
    if info.type != fs.FileType.Directory:
        return
    for entry in filesystem.get_file_info(fs.FileSelector(root, recursive=True)):
        if entry.type == fs.FileType.File:
            yield entry.path[len(root.rstrip("/")) + 1 :], entry.size


@dataclass(frozen=True)
class Input:
    source: str  # the file's path on the source filesystem
    relative: str  # below the source folder (its name, for a single file): the manifest's "source"
    output: str  # the result's path on the destination filesystem
    output_relative: str  # below the destination: the manifest's "output"
    size: int


def list_inputs(job: ScaleJob) -> list[Input]:
    """Every image below the source (recursively, sorted; hidden files and the destination left out),
    each with the output it will have: the folder CLI's names, the source's sub-folders kept.

    Raises:
        InputNotFoundError: the source does not exist or holds no image.
    """
    src_fs, src_root = _filesystem(job.source)
    dst_fs, dst_root = _filesystem(job.destination)
    same_store = type(src_fs) is type(dst_fs)
    found: list[tuple[PurePosixPath, str, int]] = []
    for relative, size in _files_under(src_fs, src_root):
        path = PurePosixPath(relative or src_root.rsplit("/", 1)[-1])  # a single file: its name
        full = _join(src_root, relative)
        if any(part.startswith(".") for part in path.parts) or path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if same_store and (full + "/").startswith(dst_root.rstrip("/") + "/"):
            continue  # an earlier run's outputs, when the destination is inside the source
        found.append((path, full, size))
    if not found:
        raise InputNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {job.source}.")
    found.sort()
    stems = output_stems([path for path, _, _ in found])
    inputs = []
    for path, full, size in found:
        name = PurePosixPath(OUTPUT_FOLDER) / path.parent / f"{stems[path]}{job.suffix}"
        output = f"{name}.{output_extension(path.suffix, job.ext)}"
        inputs.append(Input(full, str(path), _join(dst_root, output), output, size))
    return inputs


# --------------------------------------------------------------------------------------------- manifest
class Manifest:
    """One JSON line per input, beside the results. While a job runs its rows go to small part files
    (an object store cannot append); the job's end merges them into ``manifest.jsonl``, the last row of
    each source winning (a failure retried and restored reads as restored)."""

    def __init__(self, destination: str) -> None:
        self.filesystem, root = _filesystem(destination)
        self.path = _join(root, MANIFEST)
        self.parts = _join(root, MANIFEST_PARTS)
        self.uri = _join(destination.rstrip("/"), MANIFEST)
        self._saved = 0

    def rows(self) -> dict[str, dict[str, Any]]:
        """Every row saved so far, the last for each source."""
        from pyarrow import fs

        latest: dict[str, dict[str, Any]] = {}
        paths = [self.path] if self.filesystem.get_file_info(self.path).type == fs.FileType.File else []
        paths += sorted(_join(self.parts, rel) for rel, _ in _files_under(self.filesystem, self.parts))
        for path in paths:
            with self.filesystem.open_input_stream(path) as f:
                for line in f.read().decode("utf-8").splitlines():
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by a crash of some other writer: the input is redone
                    if isinstance(row, dict) and isinstance(row.get("source"), str):
                        latest[row["source"]] = row
        return latest

    def save(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            name = f"part-{time.time_ns()}-{os.getpid()}-{self._saved:06d}.jsonl"
            self._saved += 1
            write_atomically(self.filesystem, _join(self.parts, name), _jsonl(rows))

    def merge(self) -> None:
        """All rows into manifest.jsonl (one per source, sorted), then the parts removed."""
        from pyarrow import fs

        rows = self.rows()
        write_atomically(self.filesystem, self.path, _jsonl([rows[s] for s in sorted(rows)]))
        if self.filesystem.get_file_info(self.parts).type == fs.FileType.Directory:
            self.filesystem.delete_dir(self.parts)


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode("utf-8")


def pending_inputs(inputs: list[Input], done_rows: dict[str, dict[str, Any]], destination: str) -> list[Input]:
    """The inputs still to restore: those without a manifest row saying restored, or whose output is gone
    (one listing of the results, not a request per file)."""
    dst_fs, dst_root = _filesystem(destination)
    outputs = {f"{OUTPUT_FOLDER}/{rel}" for rel, _ in _files_under(dst_fs, _join(dst_root, OUTPUT_FOLDER))}

    def done(item: Input) -> bool:
        row = done_rows.get(item.relative)
        return row is not None and row.get("error") is None and item.output_relative in outputs

    return [item for item in inputs if not done(item)]


# ------------------------------------------------------------------------------------------ the workers
def read_files(batch: dict[str, np.ndarray], source: str) -> dict[str, Any]:
    """A read task: each input's bytes (empty, with the reason, when it cannot be read; "" when it can:
    a column of nothing but nulls reaches the next stage as NaN)."""
    filesystem, _ = _cached_filesystem(source)
    data: list[bytes] = []
    errors: list[str] = []
    for path, size in zip(batch["source"], batch["size"], strict=True):
        if int(size) > MAX_FILE_BYTES:
            data.append(b"")
            errors.append(f"{int(size) / 1e6:.0f} MB, above the limit of {MAX_FILE_BYTES / 1e6:.0f} MB.")
            continue
        try:
            with filesystem.open_input_stream(str(path)) as f:
                data.append(f.read())
            errors.append("")
        except OSError as exc:
            data.append(b"")
            errors.append(f"Cannot read it: {first_line(exc)}.")
    return {**batch, "data": data, "read_error": errors}


class RestoreActor:
    """An actor of the pool: builds its Restorer once, then restores what the read tasks bring."""

    def __init__(self, job: ScaleJob, threads: int) -> None:
        import cv2
        import torch

        # the actor's share of the machine, for every thread pool in it: torch (and the ONNX runtimes,
        # which take torch's count) and OpenCV's (detection, resizing, paste-back), which else takes
        # every core and two actors on two cores fight over both
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        self.job = job
        self.restorer = job.restorer.build()
        self.model = self.restorer.describe()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        """The batch's images restored together (their faces share the model's batches), each written;
        a manifest row for each."""
        columns = ("relative", "output", "output_relative", "size", "data", "read_error")
        items = list(zip(*(batch[c] for c in columns), strict=True))
        readable = [item for item in items if not item[5]]
        results = iter(self.restorer.restore_many([bytes(item[4]) for item in readable], self.job.options))
        rows = [
            self.row(relative, output, output_relative, size, str(error) if error else next(results))
            for relative, output, output_relative, size, _, error in items
        ]
        return {name: [row[name] for row in rows] for name in ROW_FIELDS}

    def row(
        self, relative: str, output: str, output_relative: str, size: int, outcome: RestorationResult | Exception | str
    ) -> dict[str, Any]:
        """One image's result written, and its manifest row (with its error, if any)."""
        row: dict[str, Any] = dict(source=str(relative), output=str(output_relative), bytes=int(size), error="")
        row.update(model=self.model, faces_found=0, faces_restored=0, seconds=0.0)
        if isinstance(outcome, (str, Exception)):  # unreadable, or not restored: a row says why, the job goes on
            row["error"] = outcome if isinstance(outcome, str) else first_line(outcome)
            return row
        started = time.perf_counter()
        try:
            filesystem, _ = _cached_filesystem(self.job.destination)
            write_atomically(filesystem, str(output), encode(outcome.picture, str(output).rsplit(".", 1)[-1]))
        except GFPGANError as exc:
            row["error"] = first_line(exc)
            return row
        except OSError as exc:  # the destination refused the write
            row["error"] = f"Cannot write the result: {first_line(exc)}."
            return row
        # the image's own time: its stages (the shared batches counted by its faces) and its writing
        own = sum(t for stage, t in outcome.timings.items() if stage != "total")
        count = outcome.face_count
        row.update(faces_found=count.found, faces_restored=count.restored)
        row["seconds"] = round(own + time.perf_counter() - started, 3)
        return row


# ---------------------------------------------------------------------------------------------- the job
def restore_dataset(job: ScaleJob, address: str | None = None, log: Any = None) -> ScaleReport:
    """Restore every image below ``job.source`` into ``job.destination`` on a Ray cluster.

    Args:
        job: what to restore and how.
        address: a running cluster's address ("auto": the one this machine belongs to); None starts
            a local Ray with this machine's CPUs (and GPUs) for the job and stops it after.
        log: called with one line at a time (the plan, then progress); None: silent.

    Returns:
        The counts, the time and the manifest's URI. Failed images are rows of the manifest, not errors.

    Raises:
        InputNotFoundError: no source or no image in it. OptionsError: a pool that does not fit.
    """
    import logging

    import ray

    say = log or (lambda _line: None)
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its per-second progress: ours is every few s
    started = time.perf_counter()
    inputs = list_inputs(job)
    manifest = Manifest(job.destination)
    done_rows = manifest.rows() if job.resume else {}
    pending = pending_inputs(inputs, done_rows, job.destination) if job.resume else inputs
    skipped = len(inputs) - len(pending)
    restored = failed = 0
    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=address, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        if pending:
            resources = ray.cluster_resources()
            plan = resource_plan(resources.get("CPU", 0.0), resources.get("GPU", 0.0), job.actors, job.gpus_per_actor)
            say(
                f"{plural(len(pending), 'image')} to restore ({skipped} done before) with "
                f"{plural(plan.actors, 'actor')} of {plan.cpus_per_actor:.2g} CPU and {plan.gpus_per_actor:g} GPU, "
                f"{plan.reserved_cpus:.2g} CPU kept for reading and writing"
            )
            rows: list[dict[str, Any]] = []
            last_save = time.monotonic()
            for batch in _results(_dataset(job, pending, plan)):
                for values in zip(*(batch[name] for name in ROW_FIELDS), strict=True):
                    row = {name: _plain(value) for name, value in zip(ROW_FIELDS, values, strict=True)}
                    row["error"] = row["error"] or None  # "" inside the pipeline (see read_files)
                    row["options"] = _options_record(job.options)
                    rows.append(row)
                    failed += row["error"] is not None
                    restored += row["error"] is None
                if time.monotonic() - last_save >= SAVE_EVERY_S:
                    manifest.save(rows)
                    rows, last_save = [], time.monotonic()
                    say(f"{restored + failed} of {len(pending)} done ({failed} failed)")
            manifest.save(rows)
        manifest.merge()
    finally:
        if started_ray:
            ray.shutdown()
    report = ScaleReport(len(inputs), restored, skipped, failed, time.perf_counter() - started, manifest.uri)
    say(report.line())
    return report


def _results(dataset: Any) -> Iterator[dict[str, np.ndarray]]:
    """The rows' batches as they come; a failure of the job itself (an actor that cannot build its
    Restorer: a model not on the worker, say) as one line instead of Ray's nested tracebacks."""
    import ray.exceptions

    try:
        yield from dataset.iter_batches(batch_size=None, batch_format="numpy")
    except ray.exceptions.RayError as exc:
        raise GFPGANError(f"The job stopped: {_root_cause(str(exc))}") from None


def _root_cause(report: str) -> str:
    """The innermost ``SomeError: message`` line of a Ray error report (its own headline otherwise)."""
    causes = [line.split(": ", 1)[1] for line in report.splitlines() if re.match(r"^[\w.]+(Error|Exception): ", line)]
    return causes[-1].strip() if causes else report.strip().split("\n", 1)[0]


def _dataset(job: ScaleJob, pending: list[Input], plan: ResourcePlan) -> Any:
    import ray.data

    rows = [asdict(item) for item in pending]
    # enough blocks for every actor to have work and to balance (a block is what a task takes), few
    # enough that a million paths are not a million tasks
    blocks = max(1, min(len(rows), max(plan.actors * 4, math.ceil(len(rows) / BLOCK_IMAGES))))
    per_call = max(1, min(job.images_per_call, math.ceil(len(rows) / plan.actors)))  # a short job: every actor
    return (
        ray.data.from_items(rows, override_num_blocks=blocks)
        .map_batches(cast(Any, read_files), batch_size=per_call, num_cpus=READ_CPUS, fn_kwargs={"source": job.source})
        .map_batches(
            RestoreActor,
            batch_size=per_call,
            compute=ray.data.ActorPoolStrategy(size=plan.actors),
            num_cpus=plan.cpus_per_actor,
            num_gpus=plan.gpus_per_actor or None,
            fn_constructor_kwargs={"job": job, "threads": plan.threads},
        )
    )


def _plain(value: Any) -> Any:
    """A numpy scalar from a batch as the JSON value it stands for."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _options_record(options: RestoreOptions) -> dict[str, Any]:
    return {k: v for k, v in asdict(options).items() if isinstance(v, (str, int, float, bool, type(None)))}
