"""A bounded disk for a public server: what visitors upload and receive is kept only so long, and
only so much of it.

Gradio's own timer deletes the files it tracks once they are older than an age; it has no bound on
their total size, so a burst of requests (about 4 MB each) could fill the disk before any of them
ages out. :class:`DiskBudget` adds that bound: over budget, the oldest files go first, except files
a request is using right now, files written in the last moments (an upload about to be processed, a
result about to be fetched) and files that must stay (the page's examples).

It deletes only what the app itself wrote: the files under ``folders`` (folders that only the app
writes into, such as its results folder) and the files ``records`` lists (the paths Gradio
recorded as received or written for this app). Never a whole shared folder: Gradio's default cache
(``/tmp/gradio``) is shared by every Gradio program and gradio_client on the machine, and sweeping
it once deleted 707 files (297 MB) that other programs had written.

Front-end code: the engine never imports it. It knows files, not Gradio.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)


class KeptPaths:
    """Paths one thread adds to while others read them (the examples restored in the background while
    requests sweep the disk, and Gradio's cache timer reads them too). Every reader iterates an
    immutable snapshot: with a plain set, a sweep reading it while the examples' thread grew it raised
    "Set changed size during iteration" and failed the request that swept (an MCP restore, CI of
    bcc37a5). Not a ``set`` subclass on purpose: ``set.update(other_set)`` reads a set's table directly,
    bypassing ``__iter__``."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self._paths: frozenset[str] = frozenset(paths)
        self._lock = threading.Lock()

    def update(self, paths: Iterable[str]) -> None:
        added = frozenset(paths)
        with self._lock:  # writers serialised; readers never wait: the reference swap is atomic
            self._paths = self._paths | added

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def __len__(self) -> int:
        return len(self._paths)


class DiskBudget:
    """Keep the app's own files within ``max_bytes`` and younger than ``max_age_s``.

    Args:
        max_bytes: the most the app's files may hold together.
        max_age_s: older files are deleted even within the budget.
        folders: folders only the app writes into; everything below them is the app's.
        records: returns the app's other files (paths), read at every sweep.
        protect_recent_s: files younger than this are never deleted (about to be read or fetched).
    """

    def __init__(
        self,
        max_bytes: int,
        max_age_s: float,
        *,
        folders: Iterable[str | os.PathLike] = (),
        records: Callable[[], Iterable[str]] | None = None,
        protect_recent_s: float = 30.0,
    ) -> None:
        self.folders = [Path(f).resolve() for f in folders]
        self.records = records or tuple
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.protect_recent_s = protect_recent_s
        self.keep: Iterable[str] = KeptPaths()  # never deleted (the page's examples)
        self._in_use: dict[str, int] = {}
        self._lock = threading.Lock()
        self._held = 0  # bytes the app's files held at the last sweep
        self._admitted = 0  # bytes of uploads let in since then

    def admit(self, size: int) -> bool:
        """Whether an upload of ``size`` bytes fits the budget now; if it does, it is counted until the
        next sweep. Checked before an upload is accepted, without a walk of the disk: within a burst the
        uploads are too recent for any sweep to delete, so the budget is kept only by refusing."""
        with self._lock:
            if self._held + self._admitted + max(size, 0) > self.max_bytes:
                return False
            self._admitted += max(size, 0)
            return True

    @contextlib.contextmanager
    def in_use(self, paths: Iterable[str | os.PathLike | None]) -> Iterator[None]:
        """Files a request reads or writes while the block runs: never deleted meanwhile."""
        names = [os.path.realpath(p) for p in paths if p]
        with self._lock:
            for n in names:
                self._in_use[n] = self._in_use.get(n, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for n in names:
                    self._in_use[n] -= 1
                    if not self._in_use[n]:
                        del self._in_use[n]

    def _own_paths(self) -> set[Path]:
        paths = {Path(folder) / name for root in self.folders for folder, _, names in os.walk(root) for name in names}
        for _ in range(3):  # the record may be a set another thread adds to while it is read
            try:
                return paths | {Path(p) for p in list(self.records())}
            except RuntimeError:
                continue
        return paths

    def _files(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in self._own_paths():
            try:
                info = path.lstat()
            except OSError:
                continue
            found.append((info.st_mtime, info.st_size, path))
        return sorted(found)  # oldest first

    def sweep(self, now: float | None = None) -> tuple[int, int]:
        """Delete what is too old, then the oldest until within budget; returns (files, bytes) deleted."""
        now = time.time() if now is None else now
        with self._lock:
            admitted_before = self._admitted  # uploads let in after this are not in the listing below
        files = self._files()
        total = sum(size for _, size, _ in files)
        with self._lock:
            kept = {os.path.realpath(k) for k in self.keep}
            protected = set(self._in_use) | kept
        deleted = freed = 0
        for mtime, size, path in files:
            age = now - mtime
            if age < self.protect_recent_s or (age <= self.max_age_s and total <= self.max_bytes):
                continue  # nothing to do for this file: spare the path lookup below (a sweep follows each request)
            if os.path.realpath(path) in protected:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                deleted, freed, total = deleted + 1, freed + size, total - size
                self._remove_own_empty_folder(path.parent)
        for root in self.folders:
            self._remove_empty_folders(root)
        kept_bytes = sum(size for _, size, path in files if os.path.realpath(path) in kept) if kept else 0
        with self._lock:  # the examples and their results are the app's own, not visitors' files
            self._held, self._admitted = total - kept_bytes, self._admitted - admitted_before
        if deleted:
            log.info(f"disk budget: deleted {deleted} files ({freed / 1e6:.1f} MB); {total / 1e6:.1f} MB kept")
        return deleted, freed

    def _remove_own_empty_folder(self, folder: Path) -> None:
        """A recorded file's folder once it is empty (Gradio gives every upload a folder of its own)."""
        if folder.resolve() not in self.folders:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only succeeds when empty

    @staticmethod
    def _remove_empty_folders(root: Path) -> None:
        for folder, _, _ in os.walk(root, topdown=False):
            with contextlib.suppress(OSError):
                if Path(folder) != root and not os.listdir(folder):
                    os.rmdir(folder)

    def start(self, every_s: float = 30.0) -> threading.Thread:
        """Sweep on a timer (a daemon thread), so nothing outlives its promise on an idle server."""

        def loop() -> None:
            while True:
                time.sleep(every_s)
                try:
                    self.sweep()
                except Exception:  # a sweep must never take the server down
                    log.exception("disk budget sweep failed")

        thread = threading.Thread(target=loop, name="disk-budget", daemon=True)
        thread.start()
        return thread
