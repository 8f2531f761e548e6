"""Local faults while a refresh writes the catalog: a full disk, a file that cannot be written, an
I/O error, no memory. They get the care network faults get: the write stops at once, nothing
committed is lost, the run row says what happened, and the user reads one line naming the
fault, where, and the fix.

    local_fault(path, exc) -> LocalFault | None   what an exception means for the catalog at path
    Reserve(path)                                 a few MB held beside the catalog while a refresh
                                                  runs, given back when the disk fills so the
                                                  failure can still be recorded
    check_space(path, needed, what)               refuse a big run at once rather than an hour in
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from .errors import LocalFault

RESERVE_BYTES = 4 << 20  # what recording a failure needs (a runs row, the WAL frames for it), with room
_KEEPS = "the catalog keeps everything committed before the fault (the last page saved)"

# SQLite's primary result codes (extended codes carry them in their low byte)
_FULL, _IOERR, _NOMEM, _READONLY, _CANTOPEN = 13, 10, 7, 8, 14


def free_bytes(path: Path) -> int | None:
    """Free bytes on the filesystem holding `path` (its folder when it does not exist yet)."""
    path = Path(path)
    try:
        return shutil.disk_usage(path if path.is_dir() else (path.parent if str(path.parent) else Path("."))).free
    except OSError:
        return None


def _mb(n: int | None) -> str:
    return "an unknown amount" if n is None else f"{n / 1e6:,.1f} MB" if n < 10e9 else f"{n / 1e9:,.1f} GB"


def _kind(exc: BaseException) -> tuple[str, str] | None:
    """(kind, the system's words) of one exception, or None when it is no local fault."""
    if isinstance(exc, MemoryError):
        return "memory", "out of memory"
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(exc)
        if primary == _FULL or "database or disk is full" in text:
            return "full", text
        if primary == _IOERR or "disk I/O error" in text:
            return "io", text
        if primary == _NOMEM or text == "out of memory":
            return "memory", text
        if primary == _READONLY or "readonly database" in text:
            return "readonly", text
        return None
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return "full", exc.strerror or str(exc)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "readonly", exc.strerror or str(exc)
        if exc.errno == errno.EIO:
            return "io", exc.strerror or str(exc)
        if exc.errno == errno.ENOMEM:
            return "memory", exc.strerror or str(exc)
    return None


def local_fault(path: Path, exc: BaseException) -> LocalFault | None:
    """The LocalFault an exception stands for (looking through what caused it), or None. Its
    message is one line: the fault, the catalog it hit, the fix, and what the catalog holds."""
    if isinstance(exc, LocalFault):
        return exc
    seen, e, found = set(), exc, None
    while e is not None and id(e) not in seen and found is None:
        seen.add(id(e))
        found = _kind(e)
        e = e.__cause__ or e.__context__
    if found is None:
        return None
    kind, words = found
    path = Path(path)
    where = path.resolve().parent if path.parent else Path.cwd()
    if kind == "full":
        free = free_bytes(path)
        if free is not None and free > 64e6:  # the disk has room: a limit on the file did this
            msg = (f"SQLite could not grow {path} ({words}) though {_mb(free)} are free on its disk: a quota or "
                   f"a size limit on the file; lift it and run `modelcat refresh` again; {_KEEPS}")
        else:
            msg = (f"the disk holding {path} is full ({_mb(free)} free in {where}): free space and run "
                   f"`modelcat refresh` again; {_KEEPS}")
    elif kind == "readonly":
        msg = (f"cannot write {path} or its folder {where} ({words}): make them writable, or pass --db with "
               f"a writable location; {_KEEPS}")
    elif kind == "io":
        msg = (f"an I/O error writing {path} ({words}): check the disk holding {where} (its free space, "
               f"the kernel log, fsck) and run `modelcat refresh` again; {_KEEPS}")
    else:
        msg = (f"out of memory while writing {path} ({words}): close other programs, or lower the "
               f"source's page_size, and run `modelcat refresh` again; {_KEEPS}")
    fault = LocalFault(msg)
    fault.kind = kind
    return fault


def check_space(path: Path, needed: int, what: str) -> None:
    """Refuse at once when the disk holding the catalog has less free space than `needed`."""
    free = free_bytes(path)
    if free is not None and free < needed:
        fault = LocalFault(
            f"not enough free space for {what}: about {_mb(needed)} needed beside {path}, {_mb(free)} free; "
            "free space, narrow the import (the [hf] authors, libraries, pipeline_tags or min_downloads "
            "settings), or pass --no-space-check to try anyway")
        fault.kind = "space"
        raise fault


class Reserve:
    """`<catalog>.reserve`: up to RESERVE_BYTES of real blocks, held while a refresh runs. When the
    disk fills, release() gives them back so the failure can still be written on the run row;
    the next refresh takes them again. Never more than half of what is free."""

    def __init__(self, db_path: Path):
        self.path = Path(str(db_path) + ".reserve")

    def __enter__(self) -> "Reserve":
        try:
            free = free_bytes(self.path)
            size = min(RESERVE_BYTES, (free or 0) // 2) if not self.path.exists() else self.path.stat().st_size
            if size and not self.path.exists():
                with open(self.path, "wb") as f:
                    f.write(b"\0" * size)  # written, not truncated: a sparse file reserves nothing
        except OSError:
            self.release()
        return self

    def release(self) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass

    def __exit__(self, *exc) -> None:
        self.release()
