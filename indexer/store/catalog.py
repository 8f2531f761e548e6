"""Opening a catalog safely (clear errors before SQLite gets to be cryptic), transactions and
checkpoints, source state and the runs table. `Catalog` gathers the schema, reads and checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Iterator

from ..errors import CatalogError
from .checks import ChecksMixin
from .reads import ReadsMixin
from .rows import utcnow
from .schema import SchemaMixin
from .writer import SourceWriter, WriteCounts


SQLITE_HEADER = b"SQLite format 3\x00"


def check_location(path: Path, create: bool) -> None:
    """Errors that name the fix, before SQLite gets a chance to be cryptic."""
    if path.is_dir():
        raise CatalogError(f"{path} is a directory, not a catalog file: pass --db DIR/catalog.db")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CatalogError(
            f"cannot use {path}: directory {parent} does not exist "
            f"(create it with `mkdir -p {parent}` or pass another --db)"
        )
    if not path.exists():
        if not create:
            raise CatalogError(
                f"no catalog at {path}: run `modelcat refresh` first "
                "(or pass --db / set MODELCAT_DB to the catalog you mean)"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise CatalogError(
                f"cannot create {path}: directory {parent} is not writable "
                "(pass --db with a writable location)"
            )
        return
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_HEADER))
    if head and head != SQLITE_HEADER:
        raise CatalogError(
            f"{path} is not a SQLite database (corrupt, or another kind of file); it was left "
            "untouched: move it aside and run `modelcat refresh` again, or pass another --db"
        )
    if create and not os.access(path, os.W_OK):
        raise CatalogError(f"{path} is read-only: make it writable or pass another --db")


def _connect(path: Path, readonly: bool, immutable: bool = False) -> sqlite3.Connection:
    if readonly:
        mode = "immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None, timeout=30)
    else:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def on_read_only_storage(path: Path) -> bool:
    """True when the catalog's directory cannot be written (a read-only mount or permissions)."""
    return not os.access(path.resolve().parent, os.W_OK)


def _catalog_error(path: Path, e: sqlite3.DatabaseError) -> CatalogError:
    msg = str(e)
    if "not a database" in msg or "malformed" in msg or "encrypted" in msg:
        return CatalogError(
            f"{path} is not a readable SQLite database ({msg}); it was left untouched: move it "
            "aside and run `modelcat refresh` again, or pass another --db"
        )
    if "readonly" in msg or "read-only" in msg or "unable to open" in msg:
        return CatalogError(f"cannot write {path} ({msg}): pass --db with a writable location")
    return CatalogError(f"cannot use {path}: {msg}")


# The WAL beside the catalog while a refresh writes and Datasette reads (issue #32): reset once past
# WAL_RESET_PAGES pages (4 KB each), waiting at most CHECKPOINT_WAIT_MS for the readers of the
# moment; its file cut back to WAL_LIMIT_BYTES after a reset.
# MODELCAT_WAL_RESET_PAGES=0 leaves it to SQLite's own (PASSIVE) checkpoints, as before #32
WAL_RESET_PAGES = int(os.environ.get("MODELCAT_WAL_RESET_PAGES") or 16_384) or None  # 64 MB
CHECKPOINT_WAIT_MS = 5_000
CHECKPOINT_SHORT_WAIT_MS = 200
WAL_LIMIT_BYTES = 64 * 1024 * 1024


class Catalog(SchemaMixin, ReadsMixin, ChecksMixin):
    """An open catalog. `Catalog.open(path)` is the way in; use it as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool):
        self.conn = conn
        self.path = path
        self.readonly = readonly

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        *,
        create: bool = True,
        readonly: bool = False,
        migrations_dir: Path | None = None,
    ) -> "Catalog":
        """Open (and create, migrate, shape) a catalog. Read-only opens change nothing."""
        path = Path(path)
        check_location(path, create=create and not readonly)
        conn = None
        try:
            try:
                conn = _connect(path, readonly)
                cat = cls(conn, path, readonly)
                cat._configure()
                cat._check_ours(migrations_dir)
            except sqlite3.OperationalError as e:
                if not (readonly and "unable to open" in str(e) and on_read_only_storage(path)):
                    raise
                # A WAL catalog on read-only storage cannot make its -shm file; nobody can be
                # writing it there either, so read it as immutable.
                conn.close()
                conn = _connect(path, readonly, immutable=True)
                cat = cls(conn, path, readonly)
                cat._configure()
                cat._check_ours(migrations_dir)
            if not readonly:
                cat.migrate(migrations_dir)
                cat.ensure_shape()
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()
            raise _catalog_error(path, e) from e
        return cat

    def _configure(self) -> None:
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA busy_timeout = 30000")
        if not self.readonly:
            # WAL: Datasette keeps reading while a refresh writes; a source's changes appear together.
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            # 64 MB of page cache (SQLite's default is 2 MB): a Hub-size catalog's indexes are
            # written at random places; without it most of a big write re-reads pages
            self.conn.execute("PRAGMA cache_size = -65536")
            # after a checkpoint has reset the WAL, its file is cut back to this size (without it,
            # the file keeps the size of its biggest moment)
            self.conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (including KeyboardInterrupt)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite may have rolled back on its own (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, or
            # a COMMIT that failed): the fault that did it is the error to report, not "cannot
            # rollback - no transaction is active"
            if self.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def checkpoint(self) -> None:
        """Inside transaction(): make everything so far durable and visible, and go on. A failed
        COMMIT raises (the write stops there): the transaction is gone, committed or rolled back
        whole, and nothing may be written outside it."""
        self.require_transaction()
        self.conn.execute("COMMIT")
        self.wal_checkpoint()
        self.conn.execute("BEGIN IMMEDIATE")

    def wal_checkpoint(self) -> tuple[int, int, int] | None:
        """Between two commits of a long write: keep the WAL small while readers come and go.

        SQLite's own checkpoints (after each commit past 1,000 pages) are PASSIVE: with Datasette
        reading all day, some reader always holds a snapshot, the WAL is never reset, and a first
        Hub import grew it to 7x the catalog (issue #32). Here, once the WAL is past
        WAL_RESET_PAGES, a RESTART checkpoint waits for the readers of the moment (at most
        CHECKPOINT_SHORT_WAIT_MS; CHECKPOINT_WAIT_MS once the WAL is 4x past its mark) and resets
        it, so the next commit writes from its start; journal_size_limit then cuts the file back.
        A reader still busy at the deadline only delays the reset to a later commit. Returns
        SQLite's (busy, WAL pages, pages checkpointed), or None when the WAL was small."""
        if self.readonly or self.conn.in_transaction:
            return None
        busy, log, done = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if WAL_RESET_PAGES is None or log < WAL_RESET_PAGES:
            return busy, log, done
        # a short wait while the WAL is merely past its mark; the whole wait once it is 4x past it
        # (a reset then matters more than the writer's pace)
        wait = CHECKPOINT_WAIT_MS if log >= 4 * WAL_RESET_PAGES else CHECKPOINT_SHORT_WAIT_MS
        self.conn.execute(f"PRAGMA busy_timeout = {wait}")
        try:
            # RESTART: every frame copied back, then a wait for the readers still in the WAL (new
            # readers meanwhile read the database file alone), then the WAL starts over
            result = self.conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        finally:
            self.conn.execute("PRAGMA busy_timeout = 30000")
        return tuple(result)

    def require_transaction(self) -> None:
        """Refuse to write on once the transaction a refresh writes in is gone (SQLite rolls back
        on its own after some errors; a statement after that would commit by itself: a cursor
        saved without the rows it stands for)."""
        if not self.conn.in_transaction:
            raise sqlite3.OperationalError("the refresh's transaction was rolled back by SQLite; writing stopped")

    # ------------------------------------------------------------------ source state
    def load_state(self, source: str) -> dict:
        row = self.conn.execute("SELECT state FROM source_state WHERE source = ?", (source,)).fetchone()
        return json.loads(row[0]) if row else {}

    def save_state(self, source: str, state: dict) -> None:
        """Inside transaction(): a source's position is saved only with the rows it stands for."""
        self.require_transaction()
        self.conn.execute(
            "INSERT INTO source_state (source, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (source, json.dumps(state, sort_keys=True), utcnow()),
        )

    # ------------------------------------------------------------------ runs
    def start_run(self, source: str, source_version: str | None = None) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (source, started_at, status, source_version) VALUES (?, ?, 'running', ?)",
            (source, utcnow(), source_version),
        )
        return cur.lastrowid

    def finish_run(self, run_id: int, status: str, counts: "WriteCounts | None" = None,
                   *, error: str | None = None, seconds: float | None = None,
                   source_version: str | None = None, details: dict | None = None) -> None:
        c = counts or WriteCounts()
        self.conn.execute(
            "UPDATE runs SET finished_at = ?, status = ?, seen = ?, new = ?, updated = ?, "
            "unchanged = ?, removed = ?, skipped = ?, seconds = ?, error = ?, details = ?, "
            "source_version = coalesce(?, source_version) WHERE id = ?",
            (utcnow(), status, c.seen, c.new, c.updated, c.unchanged, c.removed, c.skipped,
             seconds, error, json.dumps(details) if details else None, source_version, run_id),
        )

    def mark_interrupted_runs(self) -> int:
        """Runs left 'running' by a refresh that died (the caller holds the refresh lock)."""
        cur = self.conn.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ?, "
            "error = coalesce(error, 'the refresh process ended before this source finished') "
            "WHERE status = 'running'",
            (utcnow(),),
        )
        return cur.rowcount

    # ------------------------------------------------------------------ writing records
    def writer(self, source: str, *, now: str | None = None, batch_size: int = 500) -> "SourceWriter":
        return SourceWriter(self, source, now or utcnow(), batch_size)
