"""The catalog's schema: migrations (schema/migrations), views (schema/views.sql), and the
secondary indexes (and the facet-count triggers) a source's first load defers and rebuilds.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import sqlite3
from pathlib import Path
from typing import Iterator

from ..errors import CatalogError
from ..normalize.dataset import dataset_table
from ..paths import data_file, schema_dir
from .facets import DEFERRED_NAME as FACETS_DEFERRED
from .facets import TRIGGERS as FACET_TRIGGERS
from .facets import rebuild_facet_counts
from .rows import utcnow


def _backfill_loadable(conn: sqlite3.Connection) -> None:
    """0005: the loadability of the rows already in the catalog (new rows get it when written)."""
    from ..normalize.loadable import loadability

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
    from ..normalize.testmodel import is_test_model

    rows = conn.execute("SELECT id, source, name, author, architecture FROM models").fetchall()
    conn.executemany("UPDATE models SET is_test = 1 WHERE id = ?", [
        (ident,) for ident, source, name, author, arch in rows
        if is_test_model(source, name=name, author=author, architecture=arch, id=ident)])


def _backfill_entities(conn: sqlite3.Connection) -> None:
    """0015: the entities of the rows already in the catalog (the writer keeps them from then on)."""
    from .entities import rebuild_entities

    rebuild_entities(conn)


# Python steps that run right after a migration's SQL, in its transaction.
def _backfill_paper_datasets(conn: sqlite3.Connection) -> None:
    """0027: the papers' counts per dataset from the rows already in the catalog."""
    from .facets import rebuild_paper_datasets

    rebuild_paper_datasets(conn)


_BACKFILLS = {"0005_loadable": _backfill_loadable, "0010_test_models": _backfill_is_test,
              "0015_entities": _backfill_entities, "0027_paper_dataset_counts": _backfill_paper_datasets}


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


# A first load defers the secondary indexes of these tables, except the ones the writer reads
# (renames are found through idx_models_source_uid).
_LOAD_TABLES = ("models", "model_datasets", "metrics", "model_papers", "model_relations", "model_repos")


_WRITER_INDEXES = frozenset({"idx_models_source_uid"})


def _strip_sql_comments(statement: str) -> str:
    lines = [ln for ln in statement.strip().splitlines() if not ln.strip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";").strip()


class SchemaMixin:
    """The catalog's schema: migrations, views, the shape of tables and indexes, and the indexes a first load defers."""

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
            # each migration's pages leave the WAL before the next (a new catalog's 26 migrations,
            # then its first page of models, passed the WAL's cap in one stretch while readers read)
            wal_checkpoint = getattr(self, "wal_checkpoint", None)
            if wal_checkpoint is not None:
                wal_checkpoint()
        return applied

    def ensure_shape(self) -> None:
        """Safe to run every time: views match schema/views.sql, datasets match datasets.yml."""
        wanted = {}
        for statement in _statements(data_file("views.sql").read_text(encoding="utf-8")):
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
            "AND name LIKE 'idx\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY rowid").fetchall()  # as created
        now = utcnow()
        dropped = []
        for name, sql in found:
            if name in _WRITER_INDEXES:
                continue
            self.conn.execute("INSERT OR REPLACE INTO deferred_indexes (name, sql, source, deferred_at) "
                              "VALUES (?, ?, ?, ?)", (name, sql, source, now))
            self.conn.execute(f"DROP INDEX [{name}]")
            dropped.append(name)
        # the triggers that keep facet_counts: one row per model each; the counts are rebuilt at the end
        triggers = self.conn.execute(
            f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({', '.join('?' * len(FACET_TRIGGERS))}) "
            "ORDER BY name", FACET_TRIGGERS).fetchall()
        if triggers:
            self.conn.execute("INSERT OR REPLACE INTO deferred_indexes (name, sql, source, deferred_at) VALUES (?, ?, ?, ?)",
                              (FACETS_DEFERRED, ";\n".join(sql for sql, in triggers) + ";\n", source, now))
            for name in FACET_TRIGGERS:
                self.conn.execute(f"DROP TRIGGER IF EXISTS [{name}]")
            dropped.append(FACETS_DEFERRED)
        return dropped

    def restore_indexes(self, *, commit_each: bool = False) -> list[str]:
        """Inside transaction(): build the indexes a first load deferred, one sort each. With
        `commit_each`, each index is committed on its own (with its line in deferred_indexes), so
        the WAL can be checkpointed between them instead of holding every index of a Hub-size
        catalog at once."""
        from .entities import rebuild_entities

        # in the order they were created: SQLite's planner, without statistics, takes the index created
        # last among ones that look alike (migration 0019 orders them on purpose)
        rows = self.conn.execute("SELECT name, sql FROM deferred_indexes ORDER BY rowid").fetchall()
        for name, sql in rows:
            if name == FACETS_DEFERRED:  # the counts from the rows, then the triggers that keep them
                rebuild_facet_counts(self.conn)
                for statement in _statements(sql):
                    self.conn.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))
            else:
                self.conn.execute(sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
            if name == "idx_models_entity":  # the writer left the entities to this moment
                # committed a slice at a time where each index is: in one transaction the index
                # and every entity were the first load's largest (342 MB of WAL at 1M models,
                # over the writer's cap); its line stays until the last slice, so a load killed
                # meanwhile rebuilds them whole next time, and the pages count the rows till then
                rebuild_entities(self.conn, between=self.checkpoint if commit_each else None)
            self.conn.execute("DELETE FROM deferred_indexes WHERE name = ?", (name,))
            if commit_each:
                self.checkpoint()
        return [name for name, _ in rows]
