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
    # entries of any kind, checked on the archive's end record before its listing is read: a 22 MB ZIP
    # of 265,000 empty entries took 3 s to list, every time it was named
    max_entries: int = 1000
    max_listing_bytes: int = 1_000_000  # the central directory's size (about 1 KB an entry at most)


@dataclass(frozen=True)
class ArchiveContents:
    """The images of an archive, and every other entry passed over with why (folders aside)."""

    images: list[ArchiveEntry]
    skipped: list[str]  # "name (why)"


@dataclass(frozen=True)
class ArchiveEntry:
    """One image in an archive: its file name (a label) and a reader (read when its turn comes, so
    one unreadable entry fails alone)."""

    name: str
    read: Callable[[], bytes]


def is_zip(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == ".zip"


def _why_not_an_image(info: zipfile.ZipInfo) -> str | None:
    """Why an entry is passed over ("hidden", "not an image"), or None for an image."""
    parts = PurePosixPath(info.filename).parts
    if any((p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts):
        return "hidden"
    if not info.filename.lower().endswith(IMAGE_SUFFIXES):
        return "not an image"
    return None


END_RECORD = b"PK\x05\x06"
ZIP64_LOCATOR = b"PK\x06\x07"


def listing_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(entries, bytes of the central directory) from a ZIP's end record, read from the file's last
    64 KB without reading the listing itself (what :class:`zipfile.ZipFile` reads whole on opening);
    None if no end record is found."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 65_557))  # the end record (22 bytes) and a comment of at most 64 KB
        tail = f.read()
        at = tail.rfind(END_RECORD)
        if at < 0 or len(tail) - at < 22:
            return None
        entries = int.from_bytes(tail[at + 10 : at + 12], "little")
        listing = int.from_bytes(tail[at + 12 : at + 16], "little")
        locator = at - 20
        if locator >= 0 and tail[locator : locator + 4] == ZIP64_LOCATOR:  # ZIP64: the counts are elsewhere
            f.seek(int.from_bytes(tail[locator + 8 : locator + 16], "little"))
            record = f.read(56)
            if len(record) == 56:
                entries = max(entries, int.from_bytes(record[32:40], "little"))
                listing = max(listing, int.from_bytes(record[40:48], "little"))
        return entries, listing


def image_entries(path: str | os.PathLike, limits: ArchiveLimits = ArchiveLimits()) -> ArchiveContents:
    """The images in the ZIP at ``path``, in archive order, and the entries passed over.

    Raises:
        ImageError: not a readable ZIP, more than ``limits.max_entries`` entries (checked before the
            listing is read), no images in it, more than ``limits.max_files`` images, or more than
            ``limits.max_total_bytes`` once unpacked.
    """
    name = Path(path).name
    try:
        counts = listing_size(path)
        if counts is None:
            raise zipfile.BadZipFile
        entries, listing = counts
        if entries > limits.max_entries or listing > limits.max_listing_bytes:
            raise ImageError(f"{name} lists {entries} entries; at most {limits.max_entries} are read.")
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ImageError(f"{name} is not a readable ZIP archive.") from None
    with archive:
        listed = [i for i in archive.infolist() if not i.is_dir()]
    skipped = [f"{i.filename} ({why})" for i in listed if (why := _why_not_an_image(i))]
    infos = [i for i in listed if _why_not_an_image(i) is None]
    if not infos:
        raise ImageError(f"{name} holds no images ({', '.join(s[1:] for s in IMAGE_SUFFIXES)}).")
    if len(infos) > limits.max_files:
        raise ImageError(f"{name} holds {len(infos)} images; at most {limits.max_files} at once.")
    if sum(i.file_size for i in infos) > limits.max_total_bytes:
        raise ImageError(f"{name} unpacks to more than {limits.max_total_bytes // 1_000_000} MB.")

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

    return ArchiveContents([ArchiveEntry(PurePosixPath(i.filename).name, reader(i)) for i in infos], skipped)


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
