"""A published copy of the catalog for Datasette to serve while refreshes write the catalog itself
(issue #32): serving the file a refresh writes kept readers on the WAL (it grew to 9x the catalog,
since checkpoints cannot pass a reader's snapshot) and gave them a catalog whose indexes a first
import had dropped (the seed question timed out). `modelcat refresh --publish` copies the catalog
after each source that changed it, `modelcat publish` whenever asked; `modelcat serve --published`
serves the copy read-only (immutable) and moves to each new one as it lands.

A copy is one consistent snapshot (SQLite's online backup, in one step: a reader of the WAL
catalog, so the writer is never blocked), written beside the target under a temporary name,
switched to rollback-journal mode (one file, nothing to write beside it), synced, then renamed over
the target: a server never opens half a copy. It costs the catalog's size in disk once more (twice
while a copy is being made, the old one still served) and the time to copy the file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import CatalogError
from .localfault import check_space

PUBLISHED_DIR = "published"


@dataclass
class Published:
    path: Path
    bytes: int
    seconds: float


def published_path(db_path: str | Path) -> Path:
    """Where a catalog's published copy goes: `published/<its name>` beside it (the same file name,
    so Datasette's URLs, /catalog/..., stay the same)."""
    db_path = Path(db_path)
    return db_path.parent / PUBLISHED_DIR / db_path.name


def publish(db_path: str | Path, to: str | Path | None = None) -> Published:
    """Copy the catalog at `db_path` to `to` (default: published_path) as one consistent snapshot,
    replacing the previous copy atomically."""
    from .store import Catalog

    db_path = Path(db_path)
    target = Path(to) if to is not None else published_path(db_path)
    if target.resolve() == db_path.resolve():
        raise CatalogError(f"cannot publish {db_path} onto itself: pass --to with another path")
    with Catalog.open(db_path, readonly=True, create=False) as cat:
        cat.require_current()  # a server refuses an old schema: say it here, not there
        size = cat.conn.execute("PRAGMA page_count").fetchone()[0] * cat.conn.execute("PRAGMA page_size").fetchone()[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    check_space(target.parent / ".", size + size // 20, f"a published copy of {db_path}")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    t0 = time.perf_counter()
    try:
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # pages=-1: every page under one read snapshot
            dst.execute("PRAGMA journal_mode = DELETE")  # one file: servable immutable, read-only
        finally:
            dst.close()
            src.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        with contextlib.suppress(OSError):  # the rename itself, on filesystems that sync folders
            fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return Published(target, target.stat().st_size, round(time.perf_counter() - t0, 3))


def changed_anything(result) -> bool:
    """A source's run that wrote something readers would see."""
    c = result.counts
    return result.status == "ok" and (c.new or c.updated or c.removed or c.renamed) > 0
