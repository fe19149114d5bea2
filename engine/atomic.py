"""Files written whole or not at all: a temporary file next to the target, renamed over it at
the end (``os.replace``), removed when the writing fails. A temporary file left by a process
that was killed (``kill -9``) names that process; the next write to the same target removes
it once that process is gone. Targets that are not regular files (``/dev/null``, a pipe) are
written directly."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import IO, Any

__all__ = ["AtomicFile", "remove_stale_temps", "temp_prefix"]


def temp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary files of `target` whose writing process has ended."""
    removed: list[Path] = []
    pattern = re.compile(re.escape(f".{target.name}.") + r"(\d+)\.[^.]+\.tmp")
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m is None or _alive(int(m.group(1))):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _special(path: Path) -> bool:
    """An existing target that is not a regular file (a device, a pipe): written in place."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    return not stat.S_ISREG(mode)


class AtomicFile:
    """``with AtomicFile(path, "wb") as fh: ...`` — `path` holds the new content only after the
    block ends without an exception; before that it is untouched (or absent)."""

    def __init__(
        self, path: str | os.PathLike[str], mode: str = "wb", *, fsync: bool = False, encoding: str | None = None, buffering: int = -1, private: bool = False
    ):
        self.target = Path(os.path.realpath(path))
        self.mode, self.fsync, self.encoding, self.buffering = mode, fsync, encoding, buffering
        self.private = private  # keep the temporary file's 0600 (else: as open() would create it)
        self.tmp: str | None = None
        self.fh: IO[Any] | None = None

    def open(self) -> IO[Any]:
        if _special(self.target):
            self.fh = open(self.target, self.mode, encoding=self.encoding, buffering=self.buffering)
            return self.fh
        remove_stale_temps(self.target)
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=temp_prefix(self.target), suffix=".tmp", dir=str(self.target.parent))
        except OSError as exc:  # name the file the user gave, not the temporary one
            raise OSError(exc.errno, exc.strerror, str(self.target)) from None
        self.fh = os.fdopen(fd, self.mode, encoding=self.encoding, buffering=self.buffering)
        return self.fh

    def commit(self) -> None:
        assert self.fh is not None
        try:
            self.fh.flush()
            if self.fsync and self.tmp is not None:
                os.fsync(self.fh.fileno())
        finally:
            self.fh.close()
        if self.tmp is not None:
            if not self.private:
                os.chmod(self.tmp, 0o666 & ~_umask())
            os.replace(self.tmp, self.target)
            self.tmp = None

    def discard(self) -> None:
        if self.fh is not None and not self.fh.closed:
            self.fh.close()
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None

    def __enter__(self) -> IO[Any]:
        return self.open()

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
