"""ZIP archives in and out: a bundle of photos read without unpacking it onto disk, and results
bundled into one download.

Reading trusts nothing in the archive: entry names are used only as labels (never as paths),
sizes declared in the directory are checked before reading and each read is capped as well
(a declared size can lie), encrypted and non-image entries are passed over.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType

from .errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 10
    max_file_bytes: int = 64_000_000
    max_total_bytes: int = 256_000_000  # uncompressed: a small ZIP may unpack to gigabytes


@dataclass(frozen=True)
class ArchiveEntry:
    """One image in an archive: its file name (a label) and a reader (read when its turn comes, so
    one unreadable entry fails alone)."""

    name: str
    read: Callable[[], bytes]


def is_zip(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == ".zip"


def _is_image_entry(info: zipfile.ZipInfo) -> bool:
    parts = PurePosixPath(info.filename).parts
    hidden = any((p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts)
    return not info.is_dir() and not hidden and info.filename.lower().endswith(IMAGE_SUFFIXES)


def image_entries(path: str | os.PathLike, limits: ArchiveLimits = ArchiveLimits()) -> list[ArchiveEntry]:
    """The images in the ZIP at ``path``, in archive order.

    Raises:
        ImageError: not a readable ZIP, no images in it, more than ``limits.max_files`` images, or
            more than ``limits.max_total_bytes`` once unpacked.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ImageError(f"{Path(path).name} is not a readable ZIP archive.") from None
    with archive:
        infos = [i for i in archive.infolist() if _is_image_entry(i)]
    if not infos:
        raise ImageError(f"{Path(path).name} holds no images ({', '.join(s[1:] for s in IMAGE_SUFFIXES)}).")
    if len(infos) > limits.max_files:
        raise ImageError(f"{Path(path).name} holds {len(infos)} images; at most {limits.max_files} at once.")
    if sum(i.file_size for i in infos) > limits.max_total_bytes:
        raise ImageError(f"{Path(path).name} unpacks to more than {limits.max_total_bytes // 1_000_000} MB.")

    def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
        def read() -> bytes:
            name = PurePosixPath(info.filename).name
            if info.flag_bits & 0x1:
                raise ImageError(f"{name} is encrypted in the archive.")
            if info.file_size > limits.max_file_bytes:
                raise ImageError(f"{name} is larger than {limits.max_file_bytes // 1_000_000} MB.")
            try:
                with zipfile.ZipFile(path) as archive, archive.open(info) as f:
                    data = f.read(limits.max_file_bytes + 1)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:  # zlib errors are zipfile.error
                raise ImageError(f"{name} could not be read from the archive ({type(exc).__name__}).") from None
            if len(data) > limits.max_file_bytes:  # its declared size was a lie
                raise ImageError(f"{name} is larger than {limits.max_file_bytes // 1_000_000} MB.")
            return data

        return read

    return [ArchiveEntry(PurePosixPath(i.filename).name, reader(i)) for i in infos]


class ResultArchive:
    """A ZIP being written: entries are stored (the images inside are compressed already), names kept
    unique; the file appears only when complete, and nothing is left behind on failure."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._part = self.path.with_name(f".{self.path.name}.part")
        self._names: set[str] = set()
        self.count = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._zip = zipfile.ZipFile(self._part, "w", zipfile.ZIP_STORED)

    def add(self, name: str, data: bytes) -> str:
        """Store ``data`` as ``name`` (``name_2``, ``name_3``... when taken); the name used."""
        stem, dot, suffix = name.rpartition(".")
        if not dot:
            stem, suffix = name, ""
        unique, n = name, 1
        while unique in self._names:
            n += 1
            unique = f"{stem}_{n}{dot}{suffix}"
        self._names.add(unique)
        self._zip.writestr(unique, data)
        self.count += 1
        return unique

    def __enter__(self) -> ResultArchive:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._zip.close()
            if exc_type is None:
                os.replace(self._part, self.path)
        finally:
            self._part.unlink(missing_ok=True)
