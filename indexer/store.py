"""The catalog database: opening it safely, migrations, views, upserts, run history, locking.

This module is the only one that writes SQL. Sources hand it `ModelRecord`s; it never knows
where they came from.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import operator
import os
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .errors import CatalogError, RefreshLocked
from .normalize.dataset import dataset_table
from .normalize.values import integer, number
from .paths import schema_dir
from .records import REPO_VOLATILE_FIELDS, VOLATILE_FIELDS, ModelRecord, PaperRecord, RepoRecord
from .textsafe import display, visible

SQLITE_HEADER = b"SQLite format 3\x00"

# models columns a record fills, in ModelRecord field order
MODEL_COLUMNS = (
    "id", "source", "name", "author", "task", "task_raw", "library",
    "license", "license_raw", "license_family", "is_open",
    "num_params", "size_bytes", "size_is_estimate", "url", "description", "tags",
    "created_at", "updated_at",
    "architecture", "weights", "hf_hub_id", "input_size", "mean", "std", "crop_pct",
    "interpolation", "num_classes", "classifier", "first_conv", "source_version", "extra",
    "entity_id", "source_uid", "license_name", "downloads", "likes", "gated", "private", "disabled",
    "sha", "repo_bytes", "loadable", "load_backend", "load_note", "is_test",
)  # fmt: skip
_JSON_COLUMNS = frozenset({"tags", "input_size", "mean", "std", "extra", "authors", "categories", "topics"})
PAPER_COLUMNS = (
    "id", "arxiv_id", "title", "authors", "abstract", "published", "updated", "categories",
    "primary_category", "doi", "pdf_url", "url", "version", "comment", "journal_ref", "missing",
)  # fmt: skip
REPO_COLUMNS = (
    "id", "full_name", "owner", "name", "description", "url", "homepage", "stars", "forks",
    "open_issues", "license", "license_raw", "license_family", "is_open", "topics", "language",
    "created_at", "pushed_at", "archived", "fork", "default_branch", "has_hubconf", "missing", "source",
)  # fmt: skip
# columns a source may not know (None) while another source does: a None keeps the stored value
_KEEP_KNOWN = {"repos": ("has_hubconf",)}
_BOOL_COLUMNS = frozenset({"is_open", "loadable", "size_is_estimate", "private", "disabled", "missing", "archived", "fork",
                           "has_hubconf", "is_test"})


_last_stamp = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
_stamp_lock = threading.Lock()


def utcnow() -> str:
    """Catalog timestamps: UTC, ISO 8601, milliseconds, strictly increasing within the process.

    Removal compares a row's last_seen with the start of the listing that missed it, so two
    writers in one millisecond must still get different, ordered stamps.
    """
    global _last_stamp
    with _stamp_lock:
        now = _dt.datetime.now(_dt.timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # whole milliseconds
        if now <= _last_stamp:
            now = _last_stamp + _dt.timedelta(milliseconds=1)
        _last_stamp = now
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _backfill_loadable(conn: sqlite3.Connection) -> None:
    """0005: the loadability of the rows already in the catalog (new rows get it when written)."""
    from .normalize.loadable import loadability

    rows = conn.execute("SELECT id, source, library, tags, gated FROM models").fetchall()
    updates = []
    for ident, source, library, tags, gated in rows:
        try:
            tags = json.loads(tags) if tags else []
        except ValueError:
            tags = []
        found = loadability(source, library, tags if isinstance(tags, list) else [], gated)
        updates.append((int(found.loadable), found.backend, found.note, ident))
    conn.executemany("UPDATE models SET loadable = ?, load_backend = ?, load_note = ? WHERE id = ?", updates)


def _backfill_is_test(conn: sqlite3.Connection) -> None:
    """0010: flag the test models already in the catalog (new rows get it when written)."""
    from .normalize.testmodel import is_test_model

    rows = conn.execute("SELECT id, source, name, author, architecture FROM models").fetchall()
    conn.executemany("UPDATE models SET is_test = 1 WHERE id = ?", [
        (ident,) for ident, source, name, author, arch in rows
        if is_test_model(source, name=name, author=author, architecture=arch, id=ident)])


# Python steps that run right after a migration's SQL, in its transaction.
_BACKFILLS = {"0005_loadable": _backfill_loadable, "0010_test_models": _backfill_is_test}


def _migration_files(directory: Path | None = None) -> list[Path]:
    if directory is None:
        return _installed_migration_files()
    return sorted(p for p in directory.glob("*.sql") if re.match(r"\d{4}_", p.name))


@functools.lru_cache(maxsize=1)
def _installed_migration_files() -> list[Path]:
    """The package's own migrations: they do not change while it runs (every open checks them)."""
    return _migration_files(schema_dir() / "migrations")


def _migrations(directory: Path | None = None) -> list[tuple[str, str]]:
    return [(p.stem, p.read_text(encoding="utf-8")) for p in _migration_files(directory)]


def _statements(script: str) -> Iterator[str]:
    """Split a SQL script into statements (trigger bodies keep their inner semicolons)."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf
            buf = ""
    if buf.strip() and not buf.strip().startswith("--"):
        # complete_statement() is False for trailing comments only; anything else is a typo
        if any(not ln.strip().startswith("--") for ln in buf.strip().splitlines() if ln.strip()):
            raise ValueError(f"unterminated SQL statement: {buf.strip()[:80]}")


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


class Catalog:
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

    def _check_ours(self, migrations_dir: Path | None) -> None:
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            if self.readonly:
                raise CatalogError(f"{self.path} is empty: run `modelcat refresh` first")
            return
        if "_migrations" not in tables:
            raise CatalogError(
                f"{self.path} is a SQLite database but not a modelcat catalog "
                "(no _migrations table); it was left untouched: pass another --db"
            )
        known = {p.stem for p in _migration_files(migrations_dir)}  # names only: opening stays cheap
        applied = {r[0] for r in self.conn.execute("SELECT name FROM _migrations")}
        newer = sorted(applied - known)
        if newer:
            raise CatalogError(
                f"{self.path} was written by a newer modelcat (migrations {', '.join(newer)} are "
                "unknown here): upgrade modelcat (pip install -U modelcat) to use it"
            )

    def pending_migrations(self) -> list[str]:
        """This modelcat's migrations the catalog has not applied yet."""
        return sorted({p.stem for p in _migration_files(None)} - set(self.applied_migrations()))

    def require_current(self) -> None:
        """Fail clearly on a catalog an older modelcat wrote (a read-only open does not upgrade it):
        its queries would ask for columns it does not have yet."""
        pending = self.pending_migrations()
        if pending:
            raise CatalogError(
                f"{self.path} was written by an older modelcat (migrations {', '.join(pending)} are not applied "
                f"yet): run `modelcat refresh --db {self.path}` once, which upgrades it first"
            )

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ schema
    def applied_migrations(self) -> list[str]:
        with contextlib.suppress(sqlite3.OperationalError):
            return [r[0] for r in self.conn.execute("SELECT name FROM _migrations ORDER BY name")]
        return []

    def migrate(self, migrations_dir: Path | None = None, *, upto: str | None = None) -> list[str]:
        """Apply the migrations not applied yet, each in its own transaction. Returns their names."""
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = set(self.applied_migrations())
        applied = []
        for name, script in _migrations(migrations_dir):
            if upto is not None and name > upto:
                break
            if name in done:
                continue
            with self.transaction():
                for statement in _statements(script):
                    self.conn.execute(statement)
                if name in _BACKFILLS:
                    _BACKFILLS[name](self.conn)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, utcnow()))
            applied.append(name)
        return applied

    def ensure_shape(self) -> None:
        """Safe to run every time: views match schema/views.sql, datasets match datasets.yml."""
        wanted = {}
        for statement in _statements((schema_dir() / "views.sql").read_text(encoding="utf-8")):
            m = re.search(r"CREATE\s+VIEW\s+(\w+)", statement, re.I)
            if m:
                wanted[m.group(1)] = _strip_sql_comments(statement)
        have = {
            r["name"]: r["sql"]
            for r in self.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'")
        }
        rows = [
            (ident, e.get("name") or ident, e.get("kind"), e.get("url"), json.dumps(e.get("aliases") or []))
            for ident, e in dataset_table().items()
        ]
        current = {tuple(r) for r in self.conn.execute("SELECT id, name, kind, url, aliases FROM datasets")}
        stale_views = [n for n, sql in wanted.items() if have.get(n) != sql]
        if not stale_views and set(rows) <= current:
            return
        with self.transaction():
            for name in stale_views:
                self.conn.execute(f"DROP VIEW IF EXISTS [{name}]")
                self.conn.execute(wanted[name])
            self.conn.executemany(
                "INSERT INTO datasets (id, name, kind, url, aliases, curated) VALUES (?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
                "url = excluded.url, aliases = excluded.aliases, curated = 1",
                rows,
            )

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
        self.conn.execute("BEGIN IMMEDIATE")

    def require_transaction(self) -> None:
        """Refuse to write on once the transaction a refresh writes in is gone (SQLite rolls back
        on its own after some errors; a statement after that would commit by itself: a cursor
        saved without the rows it stands for)."""
        if not self.conn.in_transaction:
            raise sqlite3.OperationalError("the refresh's transaction was rolled back by SQLite; writing stopped")

    # ------------------------------------------------------------------ first loads
    def has_rows(self, source: str) -> bool:
        return self.conn.execute("SELECT 1 FROM models WHERE source = ? LIMIT 1", (source,)).fetchone() is not None

    def deferred_indexes(self) -> dict[str, str]:
        """{index name: the source whose first load dropped it}: empty unless a load is under way
        or was killed midway."""
        return dict(self.conn.execute("SELECT name, source FROM deferred_indexes"))

    def defer_indexes(self, source: str) -> list[str]:
        """Inside transaction(), before a source's first full load: drop the secondary indexes of
        the model tables that the writer does not read, noting them so they can be rebuilt (by
        restore_indexes, or by the next refresh if this one is killed). Readers see the rows
        without those indexes until the load ends: correct answers, slower facets."""
        tables = ", ".join(f"'{t}'" for t in _LOAD_TABLES)
        found = self.conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({tables}) "
            "AND name LIKE 'idx\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY name").fetchall()
        now = utcnow()
        dropped = []
        for name, sql in found:
            if name in _WRITER_INDEXES:
                continue
            self.conn.execute("INSERT OR REPLACE INTO deferred_indexes (name, sql, source, deferred_at) "
                              "VALUES (?, ?, ?, ?)", (name, sql, source, now))
            self.conn.execute(f"DROP INDEX [{name}]")
            dropped.append(name)
        return dropped

    def restore_indexes(self) -> list[str]:
        """Inside transaction(): build the indexes a first load deferred, one sort each."""
        rows = self.conn.execute("SELECT name, sql FROM deferred_indexes ORDER BY name").fetchall()
        for name, sql in rows:
            self.conn.execute(sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
            self.conn.execute("DELETE FROM deferred_indexes WHERE name = ?", (name,))
        return [name for name, _ in rows]

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

    def lookup(self, source: str, ids: list[str]) -> dict[str, dict]:
        """What the catalog holds for these ids of one source: sha, updated_at, removed_at."""
        out = {}
        for chunk in _chunks(list(ids), 900):
            for r in self.conn.execute(
                f"SELECT id, sha, updated_at, removed_at FROM models WHERE +source = ? "  # + : by id
                f"AND id IN ({', '.join('?' * len(chunk))})", (source, *chunk)):
                out[r[0]] = {"sha": r[1], "updated_at": r[2], "removed_at": r[3]}
        return out

    def papers_to_fetch(self, stale_days: float, limit: int | None = None) -> list[str]:
        """arXiv ids of papers never read, or read more than stale_days ago; never-read first."""
        return self._to_fetch("papers", "arxiv_id", stale_days, limit)

    def repos_to_fetch(self, stale_days: float, limit: int | None = None) -> list[str]:
        """Full names of repositories a link names and no source has read yet, or read more than
        stale_days ago; never-read first."""
        return self._to_fetch("repos", "full_name", stale_days, limit)

    def _to_fetch(self, table: str, column: str, stale_days: float, limit: int | None) -> list[str]:
        cutoff = (_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=stale_days)).strftime("%Y-%m-%dT%H:%M:%S")
        return [r[0] for r in self.conn.execute(
            f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND (fetched_at IS NULL OR fetched_at < ?) "
            "ORDER BY fetched_at IS NOT NULL, fetched_at, id LIMIT ?", (cutoff, -1 if limit is None else limit))]

    def hubconf_repos(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT full_name FROM repos WHERE has_hubconf = 1 AND coalesce(missing, 0) = 0 ORDER BY id")]

    def view(self, source: str) -> "CatalogView":
        return CatalogView(self, source)

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

    # ------------------------------------------------------------------ reading
    def resolve_id(self, model_id: str) -> str | None:
        """The id itself when its row is live; else what an alias (an old, renamed id) points to;
        else the id of a removed row; else None."""
        row = self.conn.execute("SELECT removed_at FROM models WHERE id = ?", (model_id,)).fetchone()
        if row is not None and row[0] is None:
            return model_id
        alias = self.conn.execute("SELECT model_id FROM model_aliases WHERE alias = ?", (model_id,)).fetchone()
        if alias:
            return alias[0]
        return model_id if row is not None else None

    def get_model(self, model_id: str) -> dict | None:
        """A model row with its datasets, metrics, papers, code repositories, relations and the other ids of its
        entity; an old (renamed) id answers with the row it now names."""
        resolved = self.resolve_id(model_id)
        if resolved is None:
            return None
        row = self.conn.execute("SELECT * FROM models WHERE id = ?", (resolved,)).fetchone()
        out = _decoded(row)
        if resolved != model_id:
            out["requested_id"] = model_id
        model_id = resolved
        out["datasets"] = [dict(r) for r in self.conn.execute(
            "SELECT dataset_id, role, raw FROM model_datasets WHERE model_id = ? ORDER BY dataset_id",
            (model_id,))]
        out["metrics"] = [dict(r) for r in self.conn.execute(
            "SELECT dataset_id, dataset_raw, metric, metric_raw, value, source, origin FROM metrics "
            "WHERE model_id = ? ORDER BY dataset_raw, metric_raw", (model_id,))]
        out["speeds"] = [dict(r) for r in self.conn.execute(
            f"SELECT {', '.join(SPEED_COLUMNS)}, source FROM model_speed WHERE model_id = ? "
            "ORDER BY kind, device, samples_per_sec DESC, raw", (model_id,))]
        out["papers"] = [dict(r) for r in self.conn.execute(
            "SELECT p.id, p.title, p.url FROM model_papers mp JOIN papers p ON p.id = mp.paper_id "
            "WHERE mp.model_id = ? ORDER BY p.id", (model_id,))]
        out["repos"] = [dict(r) for r in self.conn.execute(
            "SELECT r.id, r.full_name, r.stars, r.license, r.url, r.has_hubconf FROM model_repos mr "
            "JOIN repos r ON r.id = mr.repo_id WHERE mr.model_id = ? ORDER BY r.id", (model_id,))]
        out["relations"] = [dict(r) for r in self.conn.execute(
            "SELECT relation, related_id FROM model_relations WHERE model_id = ? ORDER BY relation, related_id",
            (model_id,))]
        out["same_entity"] = [r[0] for r in self.conn.execute(
            "SELECT id FROM models WHERE entity_id = ? AND id != ? AND removed_at IS NULL ORDER BY id",
            (out["entity_id"], model_id))]
        out["aliases"] = [r[0] for r in self.conn.execute(
            "SELECT alias FROM model_aliases WHERE model_id = ? ORDER BY alias", (model_id,))]
        return out

    def get_paper(self, paper_id: str) -> dict | None:
        """A paper ("arxiv:<id>", a version suffix ignored) with the live models that name it and
        the code it names."""
        from .normalize import arxiv_ids

        found = arxiv_ids(paper_id, bare=False)
        row = self.conn.execute("SELECT * FROM papers WHERE id = ?",
                                (f"arxiv:{found[0]}" if found else paper_id,)).fetchone()
        if row is None:
            return None
        out = _decoded(row)
        out["models"] = [dict(r) for r in self.conn.execute(
            "SELECT m.id, m.task, m.entity_id FROM model_papers mp JOIN models m ON m.id = mp.model_id "
            "WHERE mp.paper_id = ? AND m.removed_at IS NULL ORDER BY m.id", (out["id"],))]
        out["code"] = [dict(r) for r in self.conn.execute(
            "SELECT DISTINCT r.id, r.full_name, r.stars, r.url FROM paper_repos pr JOIN repos r ON r.id = pr.repo_id "
            "WHERE pr.paper_id = ? ORDER BY r.id", (out["id"],))]
        return out

    def get_repo(self, repo_id: str) -> dict | None:
        """A repository ("github:<owner>/<name>", any case) with the live models and the papers
        that link to it."""
        row = self.conn.execute("SELECT * FROM repos WHERE id = ?", (repo_id.lower(),)).fetchone()
        if row is None:
            return None
        out = _decoded(row)
        out["models"] = [dict(r) for r in self.conn.execute(
            "SELECT m.id, m.task, m.entity_id FROM model_repos mr JOIN models m ON m.id = mr.model_id "
            "WHERE mr.repo_id = ? AND m.removed_at IS NULL ORDER BY m.id", (out["id"],))]
        out["papers"] = [dict(r) for r in self.conn.execute(
            "SELECT DISTINCT p.id, p.title, p.url FROM paper_repos pr JOIN papers p ON p.id = pr.paper_id "
            "WHERE pr.repo_id = ? ORDER BY p.id", (out["id"],))]
        return out

    def check(self, *, quick: bool = False) -> list["CheckResult"]:
        """`modelcat check`: SQLite's integrity and foreign-key checks, the full-text indexes, and the
        catalog's own invariants. Read-only; each result names what is wrong, with examples.
        quick: SQLite's quick_check (no index-content comparison: minutes faster on a large catalog)."""
        results = []

        def add(name: str, what: str, find) -> None:
            try:
                bad = list(find())
            except sqlite3.DatabaseError as e:  # damage bad enough to stop the query: a problem too
                bad = [f"the check could not run: {e}"]
            results.append(CheckResult(name, what, len(bad), [str(b) for b in bad[:5]]))

        def rows(sql: str) -> list:
            return [r[0] for r in self.conn.execute(sql)]

        pragma = "quick_check" if quick else "integrity_check"
        add("integrity", f"SQLite's {pragma}: pages, indexes and constraints",
            lambda: [r for r in rows(f"PRAGMA {pragma}") if r != "ok"])
        add("foreign keys", "every reference points at an existing row (PRAGMA foreign_key_check)",
            lambda: [f"{t} row {rowid} -> {parent}" for t, rowid, parent, _ in
                     self.conn.execute("PRAGMA foreign_key_check")])
        tables = set(rows("SELECT name FROM sqlite_master WHERE type = 'table'"))
        for fts, content in (("models_fts", "models"), ("papers_fts", "papers"), ("repos_fts", "repos")):
            if f"{fts}_docsize" not in tables:
                continue
            add(f"full-text {content}", f"{fts} indexes exactly the rows of {content}", lambda fts=fts, content=content: (
                [f"{content} rowid {r} not indexed" for r in rows(
                    f"SELECT rowid FROM [{content}] EXCEPT SELECT id FROM [{fts}_docsize] LIMIT 100")]
                + [f"{fts} indexes rowid {r}, which {content} lacks" for r in rows(
                    f"SELECT id FROM [{fts}_docsize] EXCEPT SELECT rowid FROM [{content}] LIMIT 100")]))
        if "deferred_indexes" in tables:
            add("indexes", "no index left dropped by a first load that did not finish", lambda: [
                f"{name} (dropped by the first load of {source}: the next `modelcat refresh` builds it)"
                for name, source in self.deferred_indexes().items()])
        pending = self.pending_migrations()
        if pending:  # the invariants are written for the current schema: they wait for it
            add("migrations", "the catalog has every migration of this modelcat (the invariants need them)",
                lambda: [f"{name} not applied yet (a refresh stopped while creating or upgrading the catalog, "
                         "or modelcat was upgraded since): the next `modelcat refresh` applies it"
                         for name in pending])
            return results
        for name, what, sql in _INVARIANTS:
            add(name, what, lambda sql=sql: rows(sql))
        add("cell sizes", "no text cell is over its cap (schema/caps.yml)", self._cells_over_caps)
        add("saved positions", "a source's saved position is not ahead of the rows it stands for "
            "(the models a sweep kept since it began are rows)", self._positions_ahead)
        return results

    def _cells_over_caps(self) -> list[str]:
        """Cells longer than schema/caps.yml allows (written by an older modelcat, or by hand):
        one full scan of each capped table."""
        out = []
        for table, cols in _caps()[0].items():
            keys = "rowid" if table != "datasets" else "id"
            over = " OR ".join(f"length([{c}]) > {n}" for c, n in cols.items())
            sel = ", ".join(f"length([{c}]) > {n}" for c, n in cols.items())
            for row in self.conn.execute(f"SELECT {keys}, {sel} FROM [{table}] WHERE {over} LIMIT 20"):
                names = [c for c, hit in zip(cols, row[1:]) if hit]
                out.append(f"{table} {keys} {row[0]}: {', '.join(names)} over the cap "
                           f"({', '.join(str(cols[c]) for c in names)}); the next refresh that reads it cuts it")
        return out

    def _positions_ahead(self) -> list[str]:
        """Sources whose sweep state (under way: `sweep`, or the last one: `last_sweep`) counts more
        models kept since it began than the catalog holds rows of that source seen since then. A
        few may be skipped records; a page or more means rows that were never committed."""
        out = []
        for source, raw in self.conn.execute("SELECT source, state FROM source_state ORDER BY source"):
            try:
                state = json.loads(raw)
            except (TypeError, ValueError):
                continue
            for key in ("sweep", "last_sweep"):
                sweep = state.get(key) if isinstance(state, dict) else None
                if not isinstance(sweep, dict) or not isinstance(sweep.get("kept"), int) or not sweep.get("started"):
                    continue
                rows = self.conn.execute("SELECT count(*) FROM models WHERE source = ? AND last_seen >= ?",
                                         (source, sweep["started"])).fetchone()[0]
                missing = sweep["kept"] - rows
                if missing > max(20, sweep["kept"] // 50):
                    out.append(f"{source}: its {'unfinished ' if key == 'sweep' else ''}{sweep.get('kind', '')} sweep "
                               f"since {sweep['started']} kept {sweep['kept']:,} models, the catalog holds "
                               f"{rows:,} of them: run `modelcat refresh --source {source} --full` to read them again")
        return out

    def counts(self) -> dict[str, int]:
        """Row counts of the catalog's tables (models: rows still listed by their source)."""
        out = {}
        for table in ("models", "datasets", "model_datasets", "metrics", "papers", "model_papers",
                      "model_relations", "model_aliases", "repos", "model_repos", "paper_repos", "runs", "model_speed"):
            out[table] = self.conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
        out["models_removed"] = self.conn.execute(
            "SELECT count(*) FROM models WHERE removed_at IS NOT NULL").fetchone()[0]
        return out


@dataclass
class CheckResult:
    name: str
    what: str  # what holds when it passes
    problems: int
    examples: list[str]

    @property
    def ok(self) -> bool:
        return self.problems == 0


# A first load defers the secondary indexes of these tables, except the ones the writer reads
# (renames are found through idx_models_source_uid).
_LOAD_TABLES = ("models", "model_datasets", "metrics", "model_papers", "model_relations", "model_repos")
_WRITER_INDEXES = frozenset({"idx_models_source_uid"})

# The catalog's own invariants: each query lists (up to 100) offenders.
_INVARIANTS = [
    ("children have a model", "every dataset link, metric, paper link, code link and relation belongs to a model",
     "SELECT 'model_datasets: ' || model_id FROM model_datasets WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'metrics: ' || model_id FROM metrics WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_papers: ' || model_id FROM model_papers WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_repos: ' || model_id FROM model_repos WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_relations: ' || model_id FROM model_relations "
     "WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_speed: ' || model_id FROM model_speed WHERE model_id NOT IN (SELECT id FROM models) "
     "LIMIT 100"),
    ("links have their target", "every dataset, paper and repository a link names exists",
     "SELECT 'model_datasets -> ' || dataset_id FROM model_datasets WHERE dataset_id NOT IN (SELECT id FROM datasets) "
     "UNION ALL SELECT 'metrics -> ' || dataset_id FROM metrics "
     "WHERE dataset_id IS NOT NULL AND dataset_id NOT IN (SELECT id FROM datasets) "
     "UNION ALL SELECT 'model_papers -> ' || paper_id FROM model_papers WHERE paper_id NOT IN (SELECT id FROM papers) "
     "UNION ALL SELECT 'model_repos -> ' || repo_id FROM model_repos WHERE repo_id NOT IN (SELECT id FROM repos) "
     "UNION ALL SELECT 'paper_repos -> ' || paper_id FROM paper_repos WHERE paper_id NOT IN (SELECT id FROM papers) "
     "UNION ALL SELECT 'paper_repos -> ' || repo_id FROM paper_repos WHERE repo_id NOT IN (SELECT id FROM repos) "
     "UNION ALL SELECT 'model_aliases -> ' || model_id FROM model_aliases WHERE model_id NOT IN (SELECT id FROM models) "
     "LIMIT 100"),
    ("ids name their source", "a model's id starts with its source's scheme (timm:, hf:, ...)",
     "SELECT id FROM models WHERE substr(id, 1, length(source) + 1) != source || ':' LIMIT 100"),
    ("open follows the license family", "is_open = 1 exactly when the license family is permissive or copyleft",
     "SELECT id FROM models WHERE is_open != (license_family IN ('permissive', 'copyleft')) "
     "UNION ALL SELECT id FROM repos WHERE is_open != (license_family IN ('permissive', 'copyleft')) LIMIT 100"),
    ("loadable rows have a backend", "loadable = 1 names its loader backend; loadable = 0 says why",
     "SELECT id FROM models WHERE (loadable = 1 AND load_backend IS NULL) "
     "OR (loadable = 0 AND (load_note IS NULL OR load_note = '')) LIMIT 100"),
    ("timestamps in order", "first seen <= last seen and changed; a removal after the first sighting",
     "SELECT id FROM models WHERE first_seen > last_seen OR first_seen > changed_at "
     "OR (removed_at IS NOT NULL AND removed_at < first_seen) LIMIT 100"),
    ("sizes and counts are sane", "no negative size, parameter count or class count",
     "SELECT id FROM models WHERE size_bytes < 0 OR num_params < 0 OR num_classes < 0 OR downloads < 0 LIMIT 100"),
    ("one open run per source", "at most one refresh per source is marked running",
     "SELECT source FROM runs WHERE status = 'running' GROUP BY source HAVING count(*) > 1 LIMIT 100"),
]


def _connect(path: Path, readonly: bool, immutable: bool = False) -> sqlite3.Connection:
    if readonly:
        mode = "immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None, timeout=30)
    else:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _decoded(row: sqlite3.Row) -> dict:
    """A row as a dict, its JSON columns decoded."""
    out = dict(row)
    for col in _JSON_COLUMNS:
        if out.get(col) is not None:
            out[col] = json.loads(out[col])
    return out


def on_read_only_storage(path: Path) -> bool:
    """True when the catalog's directory cannot be written (a read-only mount or permissions)."""
    return not os.access(path.resolve().parent, os.W_OK)


class CatalogView:
    """What a source may ask of the catalog while it fetches: read-only questions, no SQL."""

    def __init__(self, catalog: Catalog, source: str):
        self._catalog, self._source = catalog, source

    def lookup(self, ids: list[str]) -> dict[str, dict]:
        return self._catalog.lookup(self._source, ids)

    def papers_to_fetch(self, stale_days: float, limit: int | None = None) -> list[str]:
        return self._catalog.papers_to_fetch(stale_days, limit)

    def repos_to_fetch(self, stale_days: float, limit: int | None = None) -> list[str]:
        return self._catalog.repos_to_fetch(stale_days, limit)

    def hubconf_repos(self) -> list[str]:
        return self._catalog.hubconf_repos()


def _strip_sql_comments(statement: str) -> str:
    lines = [ln for ln in statement.strip().splitlines() if not ln.strip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";").strip()


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


# ---------------------------------------------------------------------- the writer
@dataclass
class WriteCounts:
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    renamed: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1


_VOLATILE_INDEXES = tuple(MODEL_COLUMNS.index(c) for c in VOLATILE_FIELDS)  # in VOLATILE_FIELDS order


_INT_COLUMNS = frozenset({"num_params", "size_bytes", "num_classes", "downloads", "likes", "repo_bytes", "stars",
                          "forks", "open_issues", "version"})
_REAL_COLUMNS = frozenset({"crop_pct"})
_INT64 = 2**63


def _int_cell(v):
    v = integer(v)
    return v if v is not None and -_INT64 <= v < _INT64 else None


def _real_cell(v):
    return number(v)


def _text_cell(v):
    """Text SQLite can take: a str that encodes as UTF-8 (lone surrogates replaced), else NULL."""
    if not isinstance(v, str):
        return None
    if v.isascii():  # nearly every value: nothing to check
        return v
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        v = v.encode("utf-8", "replace").decode("utf-8")
    return v


_JSON, _BOOL, _INT, _REAL, _ENTITY, _TEXT = range(6)


# one encoder, built once: json.dumps(v, sort_keys=True, default=str) builds one per call
_encode_json = json.JSONEncoder(sort_keys=True, default=str).encode
_CHILD_LISTS = ("datasets", "metrics", "papers", "relations", "repos")


# ---------------------------------------------------------------------- cell caps (schema/caps.yml)
@functools.lru_cache(maxsize=1)
def _caps() -> tuple[dict[str, dict[str, int]], dict[str, frozenset]]:
    from .normalize.tables import load_table

    table = load_table("caps")
    return ({t: {c: int(n) for c, n in cols.items()} for t, cols in table["caps"].items()},
            {t: frozenset(cols) for t, cols in table["display"].items()})


def cap_text(v, n: int):
    """A text cell within n characters: cut, ending with "…", when it was longer."""
    return v if v is None or type(v) is not str or len(v) <= n else v[: n - 1] + "…"


def _cap(table: str, column: str) -> int:
    return _caps()[0][table][column]


def _shrink_json(v, n: int) -> str:
    """JSON of a list or object that is over its cap: the items (keys) that fit, each string cut to
    a quarter of the cap, then how many were left out; always valid JSON within n characters."""
    part = max(8, n // 4)
    if isinstance(v, dict):
        out: dict = {}
        for i, (k, x) in enumerate(sorted(v.items(), key=lambda kv: str(kv[0]))):
            trial = {**out, str(k)[:part]: cap_text(x, part) if isinstance(x, str) else x,
                     "…": f"{len(v) - i - 1} more"}
            if len(_encode_json(trial)) > n:
                return _encode_json({**out, "…": f"{len(v) - i} more"})
            out[str(k)[:part]] = trial[str(k)[:part]]
        return _encode_json(out)
    items = list(v) if isinstance(v, (list, tuple)) else [str(v)]
    out_l: list = []
    for i, x in enumerate(items):
        x = cap_text(x, part) if isinstance(x, str) else x
        if len(_encode_json(out_l + [x, f"… {len(items) - i - 1} more"])) > n:
            return _encode_json(out_l + [f"… {len(items) - i} more"])
        out_l.append(x)
    return _encode_json(out_l)


_TABLE_OF = {MODEL_COLUMNS: "models", PAPER_COLUMNS: "papers", REPO_COLUMNS: "repos"}


@functools.lru_cache(maxsize=None)
def _plan(columns: tuple, volatile: tuple = ()) -> tuple:
    """How a record of these columns becomes its row, decided once per column list: a C-level
    getter for all the columns, the positions of the text columns (nearly always str or None:
    checked, not converted), the other columns with their kind, and a getter for the digested
    positions (all but the volatile ones)."""
    def kind(col):
        if col in _JSON_COLUMNS:
            return _JSON
        if col in _BOOL_COLUMNS:
            return _BOOL
        if col in _INT_COLUMNS:
            return _INT
        if col in _REAL_COLUMNS:
            return _REAL
        return _ENTITY if col == "entity_id" else _TEXT
    kinds = [kind(c) for c in columns]
    texts = tuple(i for i, k in enumerate(kinds) if k == _TEXT)
    others = tuple((i, k) for i, k in enumerate(kinds) if k != _TEXT)
    content = operator.itemgetter(*(i for i, c in enumerate(columns) if c not in volatile))
    table = _TABLE_OF.get(columns)
    caps = _caps()[0].get(table, {}) if table else {}
    shown = _caps()[1].get(table, frozenset()) if table else frozenset()
    text_caps = tuple((i, caps[c]) for i, c in enumerate(columns) if c in caps and kinds[i] in (_TEXT, _ENTITY))
    json_caps = {i: caps[c] for i, c in enumerate(columns) if c in caps and kinds[i] == _JSON}
    display_at = tuple(i for i, c in enumerate(columns) if c in shown)
    return operator.attrgetter(*columns), texts, others, content, text_caps, json_caps, display_at


def _values(rec, columns=MODEL_COLUMNS) -> list:
    """The row of a record, in `columns` order, as SQLite stores it: JSON columns as sorted JSON
    text (empty lists and dicts as NULL), booleans as 0/1, entity_id defaulting to the record's id.
    A source's wrong type (a list where a number belongs, a number too big for SQLite) is unknown:
    NULL, never a failed batch."""
    getter, texts, others, _, text_caps, json_caps, display_at = _plan(columns)
    values = list(getter(rec))
    for i in texts:
        v = values[i]
        if v is not None and not (type(v) is str and v.isascii()):
            values[i] = _text_cell(v)
    for i, kind in others:
        v = values[i]
        if v is None:
            if kind == _ENTITY:
                values[i] = _text_cell(rec.id)
        elif kind == _JSON:
            values[i] = _encode_json(v) if v not in ([], {}) else None
            n = json_caps.get(i)
            if n is not None and values[i] is not None and len(values[i]) > n:
                values[i] = _shrink_json(v, n)
        elif kind == _BOOL:
            values[i] = int(bool(v))
        elif kind == _INT:
            values[i] = v if type(v) is int and -_INT64 <= v < _INT64 else _int_cell(v)
        elif kind == _REAL:
            values[i] = _real_cell(v)
        else:
            values[i] = _text_cell(v)
    for i in display_at:  # prose from strangers: no control or invisible format characters
        v = values[i]
        if v is not None and not (v.isascii() and v.isprintable()):
            values[i] = display(v)
    for i, n in text_caps:
        v = values[i]
        if v is not None and len(v) > n:
            values[i] = cap_text(v, n)
    return values


def _texts(*values) -> tuple:
    """A child row's text values, as SQLite can take them."""
    for v in values:
        if isinstance(v, str) and not (type(v) is str and v.isascii()):
            return tuple(_text_cell(v) if isinstance(v, str) else v for v in values)
    return values


def _digest(values: list, rec, columns=MODEL_COLUMNS, volatile=VOLATILE_FIELDS) -> str:
    """The record's content: its row without the volatile counters, and its child rows.
    Equal content, equal digest; stored as record_hash so unchanged rows are not rewritten."""
    content = _plan(columns, volatile)[3](values)
    children = [[tuple(x.__dict__.values()) for x in getattr(rec, f) or ()]
                for f in _CHILD_LISTS if hasattr(rec, f)]
    if getattr(rec, "speeds", None):  # only where there are: the digests of every other row stay as they were
        children.append([tuple(x.__dict__.values()) for x in rec.speeds])
    return hashlib.blake2b(repr((list(content), children)).encode(), digest_size=16).hexdigest()


class PreparedModel(tuple):
    """A model record as the writer stores it: its row, its digest and its child rows, built
    without SQL (prepare_model). The Hub's normalize worker (pipeline.py) builds these, so the
    writing process only runs statements; a tuple of plain values also unpickles faster than the
    record it came from (about 4 µs against 7 for a Hub model)."""

    __slots__ = ()
    id = property(operator.itemgetter(0))
    source = property(operator.itemgetter(1))
    source_uid = property(operator.itemgetter(2))
    values = property(operator.itemgetter(3))  # the models row, in MODEL_COLUMNS order
    digest = property(operator.itemgetter(4))
    datasets = property(operator.itemgetter(5))  # model_datasets rows
    metric_datasets = property(operator.itemgetter(6))  # (dataset_id, raw) of the metrics' datasets
    metrics = property(operator.itemgetter(7))  # metrics rows
    papers = property(operator.itemgetter(8))  # model_papers rows
    relations = property(operator.itemgetter(9))  # model_relations rows
    repos = property(operator.itemgetter(10))  # model_repos rows
    speeds = property(operator.itemgetter(11))  # model_speed rows


_C_DS_ID, _C_DS_RAW, _C_NAME = _cap("model_datasets", "dataset_id"), _cap("model_datasets", "raw"), _cap("datasets", "name")
_C_M_DS_RAW, _C_METRIC, _C_METRIC_RAW = _cap("metrics", "dataset_raw"), _cap("metrics", "metric"), _cap("metrics", "metric_raw")
_C_ORIGIN, _C_PAPER_RAW = _cap("metrics", "origin"), _cap("model_papers", "raw")
_C_REL_ID, _C_REL_RAW, _C_REPO_RAW = _cap("model_relations", "related_id"), _cap("model_relations", "raw"), _cap("model_repos", "raw")
_C_PR_RAW = _cap("paper_repos", "raw")


def prepare_model(rec: ModelRecord) -> PreparedModel:
    """The rows a model record becomes (pure: no catalog needed). Its loadability is completed
    if the source left it unset."""
    if rec.loadable is None:
        rec.set_loadability()
    if rec.is_test is None:
        rec.set_is_test()
    values = _values(rec)
    rid, src = rec.id, rec.source
    metrics = [(m, _real_cell(m.value)) for m in rec.metrics]
    c = cap_text
    return PreparedModel((
        rid, src, rec.source_uid, tuple(values), _digest(values, rec),
        tuple(_texts(rid, c(d.dataset_id, _C_DS_ID), d.role, c(d.raw, _C_DS_RAW), src) for d in rec.datasets),
        tuple(_texts(c(m.dataset_id, _C_DS_ID), c(m.dataset_raw, _C_NAME)) for m, _ in metrics if m.dataset_id),
        # a value that is not a finite number is no measurement
        # dataset_raw and metric_raw are part of the key Datasette shows as each row's label: their
        # hidden characters are kept as visible escapes (\u202e), never as themselves
        tuple(_texts(rid, c(m.dataset_id, _C_DS_ID), c(visible(m.dataset_raw), _C_M_DS_RAW), c(m.metric, _C_METRIC),
                     c(visible(m.metric_raw), _C_METRIC_RAW), v, src, c(m.origin and visible(m.origin), _C_ORIGIN))
              for m, v in metrics if v is not None),
        tuple(_texts(rid, p.paper_id, c(p.raw, _C_PAPER_RAW), src) for p in rec.papers),
        tuple(_texts(rid, x.relation, c(x.related_id, _C_REL_ID), c(x.raw, _C_REL_RAW), src) for x in rec.relations),
        tuple(_texts(rid, x.repo_id, c(x.raw, _C_REPO_RAW), src) for x in rec.repos),
        tuple((rid, src, *(_speed_cell(getattr(x, c)) for c in SPEED_COLUMNS)) for x in rec.speeds),
    ))


# model_speed's columns after (model_id, source), as records.Speed names them
SPEED_COLUMNS = ("kind", "raw", "img_size", "device", "precision", "layout", "torch", "compiled", "batch_size",
                 "samples_per_sec", "step_time_ms", "gmacs", "gflops", "macts_m")


def _speed_cell(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return _real_cell(v)
    return v


_INSERT = (
    f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}, record_hash, first_seen, last_seen, changed_at) "
    f"VALUES ({', '.join('?' * (len(MODEL_COLUMNS) + 4))})"
)
_UPDATE = (
    "UPDATE models SET "
    + ", ".join(f"{c} = ?" for c in MODEL_COLUMNS[1:])
    + ", record_hash = ?, last_seen = ?, changed_at = ?, removed_at = NULL WHERE id = ?"
)
_TOUCH = "UPDATE models SET last_seen = ?, " + ", ".join(f"{c} = ?" for c in VOLATILE_FIELDS) + " WHERE id = ?"


class SourceWriter:
    """Writes one source's records in batches.

    Each record's content hash is compared with the stored one: new rows are inserted, changed
    rows rewritten (with their datasets, metrics, paper links and relations), unchanged rows only
    get `last_seen` and their volatile counters. A new id whose `source_uid` an existing row of
    the source already has is a rename: the old id becomes an alias and its row is marked
    removed. `finish(removed_since=...)` marks the source's rows not seen since then as removed.
    The caller owns the transaction.
    """

    def __init__(self, catalog: Catalog, source: str, now: str, batch_size: int):
        self.conn = catalog.conn
        self.source = source
        self.now = now
        self.batch_size = batch_size
        self.counts = WriteCounts()
        self._batch: dict[str, ModelRecord] = {}
        self._papers: dict[str, PaperRecord] = {}
        self._repos: dict[str, RepoRecord] = {}

    def add(self, rec: ModelRecord | PreparedModel | PaperRecord | RepoRecord) -> None:
        if rec.source != self.source:
            raise ValueError(f"record {rec.id!r} is from {rec.source!r}, not {self.source!r}")
        # a repeated id within a batch: the last one wins
        if isinstance(rec, PreparedModel):
            self._batch[rec.id] = rec
        elif isinstance(rec, ModelRecord):
            self._batch[rec.id] = prepare_model(rec)
        elif isinstance(rec, PaperRecord):
            self._papers[rec.id] = rec
        elif isinstance(rec, RepoRecord):
            self._repos[rec.id] = rec
        else:
            raise TypeError(f"cannot write a {type(rec).__name__}")
        if len(self._batch) + len(self._papers) + len(self._repos) >= self.batch_size:
            self.flush()

    def add_all(self, records: Iterable[ModelRecord | PreparedModel]) -> None:
        for rec in records:
            self.add(rec)

    def touch(self, ids: Iterable[str]) -> int:
        """The source confirms these ids still exist, unchanged: only last_seen moves."""
        self.flush()
        rows = [(self.now, i, self.source) for i in ids]
        cur = self.conn.executemany(
            "UPDATE models SET last_seen = ? WHERE id = ? AND source = ? AND removed_at IS NULL", rows)
        self.counts.unchanged += cur.rowcount
        return cur.rowcount

    def flush(self) -> None:
        if self._repos:
            repos, self._repos = self._repos, {}
            changed = self._upsert("repos", REPO_COLUMNS, REPO_VOLATILE_FIELDS, repos, has_seen=True)
            self._write_repo_papers(changed)
        if self._papers:
            papers, self._papers = self._papers, {}
            changed = self._upsert("papers", PAPER_COLUMNS, (), papers, has_seen=False)
            self._write_paper_repos(changed)
        if not self._batch:
            return
        batch, self._batch = self._batch, {}
        existing = {}
        for chunk in _chunks(list(batch), 900):
            existing.update(
                (r[0], (r[1], r[2])) for r in self.conn.execute(
                    f"SELECT id, record_hash, removed_at FROM models WHERE id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            )
        inserts, updates, touched, added, changed = [], [], [], [], []
        for rec_id, rec in batch.items():
            values, h = rec.values, rec.digest
            old = existing.get(rec_id)
            if old is None:
                inserts.append((*values, h, self.now, self.now, self.now))
                added.append(rec)
                self.counts.new += 1
            elif old[0] != h or old[1] is not None:
                updates.append((*values[1:], h, self.now, self.now, rec_id))
                changed.append(rec)
                self.counts.updated += 1
            else:
                touched.append((self.now, *(values[i] for i in _VOLATILE_INDEXES), rec_id))
                self.counts.unchanged += 1
        c = self.conn
        if inserts:
            last = c.execute("SELECT coalesce(max(rowid), 0) FROM models").fetchone()[0]
            c.executemany(_INSERT, inserts)
            # the full-text index of the new rows, in one statement (migration 0006)
            c.execute("INSERT INTO models_fts (rowid, name, description, tags) "
                      "SELECT rowid, name, description, tags FROM models WHERE rowid > ?", (last,))
        c.executemany(_UPDATE, updates)
        c.executemany(_TOUCH, touched)
        if added:
            self._follow_renames([r for r in added if r.source_uid])
        if added or changed:
            self._write_children(added, changed)

    def _upsert(self, table: str, columns: tuple, volatile: tuple, batch: dict, *, has_seen: bool) -> list:
        """Papers and repositories: insert, rewrite when the digest differs (a stub a link made
        has none, and counts as new), else only the bookkeeping and volatile columns."""
        c = self.conn
        existing, known = {}, {}
        keep = _KEEP_KNOWN.get(table, ())
        for chunk in _chunks(list(batch), 900):
            for r in c.execute(f"SELECT id, record_hash{''.join(', ' + k for k in keep)} FROM {table} "
                               f"WHERE id IN ({', '.join('?' * len(chunk))})", chunk):
                existing[r[0]] = r[1]
                known[r[0]] = r[2:]
        for rec_id, values in known.items():  # what a record leaves unknown (None) keeps its known value
            rec = batch[rec_id]
            for col, v in zip(keep, values):
                if getattr(rec, col) is None and v is not None:
                    setattr(rec, col, bool(v) if col in _BOOL_COLUMNS else v)
        seen_cols = ("first_seen", "last_seen", "changed_at", "fetched_at") if has_seen else ("fetched_at",)
        inserts, updates, touched, changed = [], [], [], []
        for rec_id, rec in batch.items():
            values = _values(rec, columns)
            h = _digest(values, rec, columns, volatile)
            if rec_id not in existing:
                inserts.append((*values, h, *([self.now] * len(seen_cols))))
                self.counts.new += 1
                changed.append(rec)
            elif existing[rec_id] != h:
                updates.append((*values[1:], h, *([self.now] * (len(seen_cols) - 1 if has_seen else 1)), rec_id))
                if existing[rec_id] is None:
                    self.counts.new += 1
                else:
                    self.counts.updated += 1
                changed.append(rec)
            else:
                touched.append((self.now, *(values[columns.index(v)] for v in volatile), rec_id))
                self.counts.unchanged += 1
        c.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}, record_hash, {', '.join(seen_cols)}) "
            f"VALUES ({', '.join('?' * (len(columns) + 1 + len(seen_cols)))})", inserts)
        update_seen = seen_cols[1:] if has_seen else seen_cols  # first_seen never changes
        c.executemany(
            f"UPDATE {table} SET {', '.join(f'{col} = ?' for col in columns[1:])}, record_hash = ?, "
            f"{', '.join(f'{col} = ?' for col in update_seen)} WHERE id = ?", updates)
        stamp = "last_seen = ?, fetched_at = ?" if has_seen else "fetched_at = ?"
        c.executemany(
            f"UPDATE {table} SET {stamp}{''.join(f', {v} = ?' for v in volatile)} WHERE id = ?",
            [(t[0], t[0], *t[1:]) if has_seen else t for t in touched])
        return changed

    def _repo_stubs(self, repo_ids) -> None:
        """Rows for repositories a link names ("github:owner/name") before any source has read them."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO repos (id, full_name, owner, name, url, first_seen, last_seen, changed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, i[7:], *i[7:].split("/", 1), f"https://github.com/{i[7:]}", self.now, self.now, self.now)
             for i in repo_ids],
        )

    def _paper_stubs(self, paper_ids) -> None:
        """Rows for papers a link names before the arxiv source has read them."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO papers (id, arxiv_id, url) VALUES (?, ?, ?)",
            [(p, p.split(":", 1)[1], f"https://arxiv.org/abs/{p.split(':', 1)[1]}")
             for p in sorted(set(paper_ids)) if p.startswith("arxiv:")],
        )

    def _write_repo_papers(self, repos: list[RepoRecord]) -> None:
        """The papers a repository names (its README): replaced for the repositories whose papers
        were read this run (`papers` None: not read, the links stay)."""
        read = [r for r in repos if r.papers is not None]
        self.conn.executemany("DELETE FROM paper_repos WHERE repo_id = ? AND source = ?",
                              [(r.id, self.source) for r in read])
        self._paper_stubs(p.paper_id for r in read for p in r.papers)
        self.conn.executemany(
            "INSERT OR REPLACE INTO paper_repos (paper_id, repo_id, raw, source) VALUES (?, ?, ?, ?)",
            [(p.paper_id, r.id, cap_text(p.raw, _C_PR_RAW), self.source) for r in read for p in r.papers])

    def _write_paper_repos(self, papers: list[PaperRecord]) -> None:
        c = self.conn
        c.executemany("DELETE FROM paper_repos WHERE paper_id = ? AND source = ?", [(p.id, self.source) for p in papers])
        links = [(p.id, x) for p in papers for x in p.repos]
        self._repo_stubs(x.repo_id for _, x in links)
        c.executemany("INSERT OR REPLACE INTO paper_repos (paper_id, repo_id, raw, source) VALUES (?, ?, ?, ?)",
                      [(pid, x.repo_id, cap_text(x.raw, _C_PR_RAW), self.source) for pid, x in links])

    def _follow_renames(self, records: list[PreparedModel]) -> None:
        """New ids carrying the source_uid of an existing row: that row's id was renamed."""
        c = self.conn
        by_uid = {r.source_uid: r.id for r in records}
        uids = list(by_uid)
        for i in range(0, len(uids), 900):
            chunk = uids[i:i + 900]
            moved = c.execute(
                f"SELECT id, source_uid FROM models WHERE source = ? AND +removed_at IS NULL "  # + : by uid
                f"AND source_uid IN ({', '.join('?' * len(chunk))})", (self.source, *chunk)).fetchall()
            for old, uid in moved:
                new = by_uid[uid]
                if old == new:
                    continue
                c.execute("INSERT OR REPLACE INTO model_aliases (alias, model_id, source, seen_at) VALUES (?, ?, ?, ?)",
                          (old, new, self.source, self.now))
                c.execute("UPDATE model_aliases SET model_id = ? WHERE model_id = ?", (new, old))
                c.execute("UPDATE models SET removed_at = ?, changed_at = ? WHERE id = ?", (self.now, self.now, old))
                self.counts.renamed += 1
        # an id that comes back after being an alias is a model again
        c.executemany("DELETE FROM model_aliases WHERE alias = ?", [(r.id,) for r in records])

    def _write_children(self, added: list[PreparedModel], changed: list[PreparedModel]) -> None:
        """Child rows of new records, and the replacement of a changed record's child rows."""
        c = self.conn
        keys = [(r.id, self.source) for r in changed]  # new rows have no children to delete
        for table in ("model_datasets", "metrics", "model_papers", "model_relations", "model_repos", "model_speed"):
            c.executemany(f"DELETE FROM {table} WHERE model_id = ? AND +source = ?", keys)  # + : by model
        records = added + changed
        # datasets the alias table does not know (Hub dataset repos) get a row of their own
        # a stub's name is the raw spelling: shown as a label on every page that links it, so prose
        c.executemany("INSERT OR IGNORE INTO datasets (id, name, aliases, curated) VALUES (?, ?, '[]', 0)",
                      dict.fromkeys((d[1], display(d[3])) for r in records for d in r.datasets))
        c.executemany(
            "INSERT OR REPLACE INTO model_datasets (model_id, dataset_id, role, raw, source) VALUES (?, ?, ?, ?, ?)",
            [row for r in records for row in r.datasets])
        c.executemany("INSERT OR IGNORE INTO datasets (id, name, aliases, curated) VALUES (?, ?, '[]', 0)",
                      dict.fromkeys((i, display(name)) for r in records for i, name in r.metric_datasets))
        c.executemany(
            "INSERT OR REPLACE INTO metrics (model_id, dataset_id, dataset_raw, metric, metric_raw, value, source, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [row for r in records for row in r.metrics])
        self._paper_stubs(p[1] for r in records for p in r.papers)
        c.executemany("INSERT OR REPLACE INTO model_papers (model_id, paper_id, raw, source) VALUES (?, ?, ?, ?)",
                      [row for r in records for row in r.papers])
        c.executemany(
            "INSERT OR REPLACE INTO model_relations (model_id, relation, related_id, raw, source) VALUES (?, ?, ?, ?, ?)",
            [row for r in records for row in r.relations])
        self._repo_stubs(x[1] for r in records for x in r.repos)
        c.executemany("INSERT OR REPLACE INTO model_repos (model_id, repo_id, raw, source) VALUES (?, ?, ?, ?)",
                      [row for r in records for row in r.repos])
        c.executemany(f"INSERT OR REPLACE INTO model_speed (model_id, source, {', '.join(SPEED_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * (len(SPEED_COLUMNS) + 2))})",
                      [row for r in records for row in r.speeds])

    def finish(self, *, removed_since: str | None) -> WriteCounts:
        """Flush; then, when the source has listed everything it has since `removed_since` (a
        catalog timestamp), mark its rows not seen since then as removed."""
        self.flush()
        if removed_since is not None:
            cur = self.conn.execute(
                "UPDATE models SET removed_at = ?, changed_at = ? WHERE source = ? AND removed_at IS NULL "
                "AND last_seen < ?",
                (self.now, self.now, self.source, removed_since),
            )
            self.counts.removed = cur.rowcount
        return self.counts


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------------- the refresh lock
@contextlib.contextmanager
def refresh_lock(db_path: Path) -> Iterator[None]:
    """One refresh per catalog at a time. An OS file lock: a crashed holder releases it."""
    lock_path = Path(f"{db_path}.lock")
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, SQLite's own locking still serializes writes
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RefreshLocked(
                f"another refresh (pid {holder}) is writing {db_path}: wait for it to finish, "
                "or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
