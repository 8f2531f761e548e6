"""Writing one source's records in batches: new rows inserted, changed rows rewritten with their
child rows, unchanged rows only touched; renames followed; papers and repositories upserted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from ..records import (
    REPO_VOLATILE_FIELDS, VOLATILE_FIELDS, ModelRecord, PaperRecord, PaperResultsRecord, RepoRecord,
)
from ..textsafe import display, visible
from .entities import refresh_entities
from .facets import settle_paper_datasets
from .evidence import link_by_evidence
from .rows import (
    _BOOL_COLUMNS, _C_PR_RAW, _KEEP_KNOWN, _VOLATILE_INDEXES, MODEL_COLUMNS, PAPER_COLUMNS, REPO_COLUMNS,
    SPEED_COLUMNS, PreparedModel, _cap, _chunks, _digest, _values, cap_text, prepare_model,
)

if TYPE_CHECKING:
    from .catalog import Catalog


# ---------------------------------------------------------------------- the writer

# a model's child tables: (their columns as PreparedModel's rows hold them, their primary key, the
# PreparedModel field of those rows)
CHILD_TABLES = {
    "model_datasets": (("model_id", "dataset_id", "role", "raw", "source"), ("model_id", "dataset_id"), "datasets"),
    "metrics": (("model_id", "dataset_id", "dataset_raw", "metric", "metric_raw", "value", "source", "origin"),
                ("model_id", "source", "dataset_raw", "metric_raw"), "metrics"),
    "model_papers": (("model_id", "paper_id", "raw", "source"), ("model_id", "paper_id"), "papers"),
    "model_relations": (("model_id", "relation", "related_id", "raw", "source"),
                        ("model_id", "relation", "related_id"), "relations"),
    "model_repos": (("model_id", "repo_id", "raw", "source"), ("model_id", "repo_id"), "repos"),
    "model_speed": (("model_id", "source", *SPEED_COLUMNS), ("model_id", "source", "raw", "kind", "img_size"), "speeds"),
    "model_files": (("model_id", "url", "sha256", "source"), ("model_id", "url"), "files"),
}


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


_INSERT = (
    f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}, record_hash, first_seen, last_seen, changed_at) "
    f"VALUES ({', '.join('?' * (len(MODEL_COLUMNS) + 4))})"
)


_UPDATE = (
    "UPDATE models SET "
    + ", ".join(f"{c} = ?" for c in MODEL_COLUMNS[1:])
    + ", record_hash = ?, last_seen = ?, changed_at = ?, removed_at = NULL WHERE id = ?"
)


_ENTITY_AT, _OPEN_AT, _LOADABLE_AT = (MODEL_COLUMNS.index(c) for c in ("entity_id", "is_open", "loadable"))


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
        self._results: dict[str, PaperResultsRecord] = {}
        self._result_keys: set[str] = set()  # the papers whose results this run wrote
        self._delta = [0, 0, 0]  # live models, open, loadable: what source_counts has not been told yet

    def add(self, rec: ModelRecord | PreparedModel | PaperRecord | RepoRecord | PaperResultsRecord) -> None:
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
        elif isinstance(rec, PaperResultsRecord):
            self._results[rec.id] = rec
        else:
            raise TypeError(f"cannot write a {type(rec).__name__}")
        if len(self._batch) + len(self._papers) + len(self._repos) + len(self._results) >= self.batch_size:
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
        if self._results:
            results, self._results = self._results, {}
            self._write_results(list(results.values()))
        if not self._batch:
            return
        batch, self._batch = self._batch, {}
        existing = {}
        for chunk in _chunks(list(batch), 900):
            existing.update(
                (r[0], (r[1], r[2], r[3], r[4], r[5])) for r in self.conn.execute(
                    f"SELECT id, record_hash, removed_at, entity_id, is_open, loadable FROM models "
                    f"WHERE id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            )
        entities = set()  # the entities whose rows this batch adds, rewrites, renames or brings back
        inserts, updates, touched, added, changed = [], [], [], [], []
        for rec_id, rec in batch.items():
            values, h = rec.values, rec.digest
            old = existing.get(rec_id)
            if old is None:
                inserts.append((*values, h, self.now, self.now, self.now))
                added.append(rec)
                self.counts.new += 1
                entities.add(values[_ENTITY_AT])
                self._live(1, values[_OPEN_AT], values[_LOADABLE_AT])
            elif old[0] != h or old[1] is not None:
                updates.append((*values[1:], h, self.now, self.now, rec_id))
                changed.append(rec)
                self.counts.updated += 1
                entities.update((values[_ENTITY_AT], old[2]))
                if old[1] is None:  # it was live: its old flags go, the new ones come
                    self._live(-1, old[3], old[4])
                self._live(1, values[_OPEN_AT], values[_LOADABLE_AT])
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
            entities.update(self._follow_renames([r for r in added if r.source_uid]))
        if added or changed:
            self._write_children(added, changed)
            # the same weights named by rows of several sources are one entity (store/evidence.py)
            entities.update(link_by_evidence(c, [r.id for r in added + changed], self.now))
        refresh_entities(c, entities)
        self._save_counts()

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

    def _live(self, sign: int, is_open, loadable) -> None:
        """A live row comes (+1) or goes (-1), with its flags, for source_counts."""
        self._delta[0] += sign
        self._delta[1] += sign * (is_open == 1)
        self._delta[2] += sign * (loadable == 1)

    def _save_counts(self) -> None:
        if not any(self._delta):
            return
        self.conn.execute("INSERT OR IGNORE INTO source_counts (source) VALUES (?)", (self.source,))
        self.conn.execute("UPDATE source_counts SET models = models + ?, open = open + ?, loadable = loadable + ? "
                          "WHERE source = ?", (*self._delta, self.source))
        self._delta = [0, 0, 0]

    def _write_results(self, records: list[PaperResultsRecord]) -> None:
        """A paper's leaderboard results and code links from this source: replaced whole."""
        c = self.conn
        keys = [r.id for r in records]
        known = set()
        for chunk in _chunks(keys, 900):
            marks = ", ".join("?" * len(chunk))
            known.update(r[0] for r in c.execute(
                f"SELECT paper_key FROM paper_results WHERE source = ? AND paper_key IN ({marks}) "
                f"UNION SELECT paper_id FROM paper_repos WHERE source = ? AND paper_id IN ({marks})",
                (self.source, *chunk, self.source, *chunk)))
        for r in records:
            if r.id in known:
                self.counts.updated += 1
            else:
                self.counts.new += 1
        self._result_keys.update(keys)
        c.executemany("DELETE FROM paper_results WHERE paper_key = ? AND source = ?", [(k, self.source) for k in keys])
        papers = [r for r in records if r.paper_id]
        c.executemany("DELETE FROM paper_repos WHERE paper_id = ? AND source = ?",
                      [(r.paper_id, self.source) for r in papers])
        self._paper_stubs(r.paper_id for r in papers)
        # the archive's title and page until (and after) arXiv's own metadata is read
        c.executemany("UPDATE papers SET title = coalesce(title, ?), pwc_url = ? WHERE id = ?",
                      [(cap_text(display(r.title), _C_TITLE) if r.title else None, cap_text(r.paper_url, _C_PWC_URL),
                        r.paper_id) for r in papers])
        rows = []
        for r in records:
            for x in r.results:
                rows.append((
                    cap_text(r.id, _C_RES["paper_key"]), r.paper_id, cap_text(display(x.task), _C_RES["task"]),
                    cap_text(visible(x.dataset_raw), _C_RES["dataset_raw"]), x.dataset_id,
                    cap_text(visible(x.metric_raw), _C_RES["metric_raw"]), cap_text(x.metric, _C_RES["metric"]),
                    cap_text(visible(x.model_name), _C_RES["model_name"]),
                    cap_text(model_key(x.model_name), _C_RES["model_key"]), x.value,
                    cap_text(x.value_raw and visible(x.value_raw), _C_RES["value_raw"]),
                    None if x.extra_data is None else int(x.extra_data),
                    cap_text(x.paper_date, _C_RES["paper_date"]), cap_text(r.origin, _C_RES["origin"]), self.source))
        c.executemany("INSERT OR IGNORE INTO datasets (id, name, aliases, curated) VALUES (?, ?, '[]', 0)",
                      dict.fromkeys((row[4], row[3]) for row in rows if row[4]))
        c.executemany(
            "INSERT OR REPLACE INTO paper_results (paper_key, paper_id, task, dataset_raw, dataset_id, metric_raw, "
            "metric, model_name, model_key, value, value_raw, extra_data, paper_date, origin, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        links = [(r.paper_id, x) for r in papers for x in r.code]
        self._repo_stubs(x.repo_id for _, x in links)
        c.executemany(
            "INSERT OR REPLACE INTO paper_repos (paper_id, repo_id, raw, source, official, framework) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(pid, x.repo_id, cap_text(x.raw, _C_PR_RAW), self.source, None if x.official is None else int(x.official),
              cap_text(x.framework and display(x.framework), _C_FRAMEWORK)) for pid, x in links])

    def _remove_results(self) -> int:
        """After a full listing: this source's results and code links of papers it no longer lists."""
        c = self.conn
        if not self._result_keys and c.execute(
                "SELECT 1 FROM paper_results WHERE source = ? UNION ALL SELECT 1 FROM paper_repos WHERE source = ? "
                "AND official IS NOT NULL LIMIT 1", (self.source, self.source)).fetchone() is None:
            return 0
        c.execute("CREATE TEMP TABLE IF NOT EXISTS _listed (paper_key TEXT PRIMARY KEY)")
        c.execute("DELETE FROM _listed")
        c.executemany("INSERT OR IGNORE INTO _listed VALUES (?)", [(k,) for k in self._result_keys])
        gone = [r[0] for r in c.execute(
            "SELECT paper_key FROM paper_results WHERE source = ? AND paper_key NOT IN (SELECT paper_key FROM _listed) "
            "UNION SELECT paper_id FROM paper_repos WHERE source = ? AND paper_id NOT IN (SELECT paper_key FROM _listed)",
            (self.source, self.source))]
        c.executemany("DELETE FROM paper_results WHERE paper_key = ? AND source = ?", [(k, self.source) for k in gone])
        c.executemany("DELETE FROM paper_repos WHERE paper_id = ? AND source = ?", [(k, self.source) for k in gone])
        c.execute("DELETE FROM _listed")
        return len(gone)

    def _follow_renames(self, records: list[PreparedModel]) -> set[str]:
        """New ids carrying the source_uid of an existing row: that row's id was renamed. Returns
        the entities of the rows it marked removed."""
        c = self.conn
        by_uid = {r.source_uid: r.id for r in records}
        uids = list(by_uid)
        entities = set()
        for i in range(0, len(uids), 900):
            chunk = uids[i:i + 900]
            moved = c.execute(
                f"SELECT id, source_uid, entity_id, is_open, loadable FROM models WHERE source = ? "
                f"AND +removed_at IS NULL "  # + : by uid
                f"AND source_uid IN ({', '.join('?' * len(chunk))})", (self.source, *chunk)).fetchall()
            for old, uid, entity, was_open, was_loadable in moved:
                new = by_uid[uid]
                if old == new:
                    continue
                c.execute("INSERT OR REPLACE INTO model_aliases (alias, model_id, source, seen_at) VALUES (?, ?, ?, ?)",
                          (old, new, self.source, self.now))
                c.execute("UPDATE model_aliases SET model_id = ? WHERE model_id = ?", (new, old))
                c.execute("UPDATE models SET removed_at = ?, changed_at = ? WHERE id = ?", (self.now, self.now, old))
                entities.add(entity)
                self._live(-1, was_open, was_loadable)
                self.counts.renamed += 1
        # an id that comes back after being an alias is a model again
        c.executemany("DELETE FROM model_aliases WHERE alias = ?", [(r.id,) for r in records])
        return entities

    def _write_children(self, added: list[PreparedModel], changed: list[PreparedModel]) -> None:
        """Child rows of new records; of a changed record, the rows that changed: those it no
        longer has are deleted, those it gains inserted, those it keeps left alone. A new commit
        on the Hub changes a model's sha but rarely its datasets, papers or metrics, and every
        child row deleted and written again moved the counts the store keeps, through their
        triggers, twice for nothing (a night of 100,000 such changes on 1M models: 71 s)."""
        c = self.conn
        records = added + changed
        # datasets the alias table does not know (Hub dataset repos) get a row of their own
        # a stub's name is the raw spelling: shown as a label on every page that links it, so prose
        c.executemany("INSERT OR IGNORE INTO datasets (id, name, aliases, curated) VALUES (?, ?, '[]', 0)",
                      dict.fromkeys((d[1], display(d[3])) for r in records for d in r.datasets))
        c.executemany("INSERT OR IGNORE INTO datasets (id, name, aliases, curated) VALUES (?, ?, '[]', 0)",
                      dict.fromkeys((i, display(name)) for r in records for i, name in r.metric_datasets))
        self._paper_stubs(p[1] for r in records for p in r.papers)
        self._repo_stubs(x[1] for r in records for x in r.repos)
        for table, (columns, key, attr) in CHILD_TABLES.items():
            rows = [row for r in added for row in getattr(r, attr)]
            if changed:
                kept = self._child_rows(table, columns, [r.id for r in changed])
                wanted = [row for r in changed for row in getattr(r, attr)]
                have = set(wanted)
                at = [columns.index(k) for k in key]
                gone = [tuple(row[i] for i in at) for row in kept if row not in have]
                where = " AND ".join(f"{k} = ?" for k in key)
                c.executemany(f"DELETE FROM {table} WHERE {where}", gone)
                rows += [row for row in wanted if row not in kept]
            c.executemany(f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) "
                          f"VALUES ({', '.join('?' * len(columns))})", rows)

    def _child_rows(self, table: str, columns: tuple, model_ids: list[str]) -> set[tuple]:
        """The rows this source's models already have in a child table."""
        out: set[tuple] = set()
        for chunk in _chunks(model_ids, 500):
            out.update(tuple(r) for r in self.conn.execute(
                f"SELECT {', '.join(columns)} FROM {table} WHERE model_id IN ({', '.join('?' * len(chunk))}) "
                f"AND +source = ?", [*chunk, self.source]))  # + : by model
        return out

    def finish(self, *, removed_since: str | None) -> WriteCounts:
        """Flush; then, when the source has listed everything it has since `removed_since` (a
        catalog timestamp), mark its rows not seen since then as removed."""
        self.flush()
        if removed_since is not None:
            gone, n, n_open, n_loadable = [], 0, 0, 0
            for entity, rows, opened, loads in self.conn.execute(
                    "SELECT entity_id, count(*), sum(is_open = 1), sum(loadable = 1) FROM models "
                    "WHERE source = ? AND removed_at IS NULL AND last_seen < ? GROUP BY entity_id",
                    (self.source, removed_since)):
                gone.append(entity)
                n, n_open, n_loadable = n + rows, n_open + opened, n_loadable + loads
            self._delta[0] -= n
            self._delta[1] -= n_open
            self._delta[2] -= n_loadable
            cur = self.conn.execute(
                "UPDATE models SET removed_at = ?, changed_at = ? WHERE source = ? AND removed_at IS NULL "
                "AND last_seen < ?",
                (self.now, self.now, self.source, removed_since),
            )
            refresh_entities(self.conn, gone)
            self._save_counts()
            self.counts.removed = cur.rowcount + self._remove_results()
        settle_paper_datasets(self.conn)  # once a night per source: a popular paper is counted once
        return self.counts


def model_key(name: str) -> str:
    """A leaderboard's model name as a key to match catalog names on: lower-case letters and digits
    ("EfficientNet-B7" -> "efficientnetb7"; timm's "efficientnet_b7" gives the same)."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


_C_RES = {col: _cap("paper_results", col) for col in (
    "paper_key", "task", "dataset_raw", "metric_raw", "metric", "model_name", "model_key", "value_raw", "paper_date",
    "origin")}
_C_TITLE, _C_PWC_URL = _cap("papers", "title"), _cap("papers", "pwc_url")
_C_FRAMEWORK = _cap("paper_repos", "framework")
