"""Reading the catalog: a model, paper or repository with its links; what a source already holds
(lookup); the questions sources ask of it (papers and repositories to fetch).
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from typing import TYPE_CHECKING
from urllib.parse import unquote

from ..errors import NotFound
from ..ids import id_kind, id_table
from .rows import SPEED_COLUMNS, _JSON_COLUMNS, _chunks

if TYPE_CHECKING:
    from .catalog import Catalog


def _like_escape(text: str) -> str:
    """Text matched literally by LIKE ... ESCAPE '\\' (an id's `_` is not a wildcard)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


PAPER_RESULTS_SHOWN = 200  # `show` lists at most this many leaderboard results of a model's papers, or a paper's


def _decoded(row: sqlite3.Row) -> dict:
    """A row as a dict, its JSON columns decoded."""
    out = dict(row)
    for col in _JSON_COLUMNS:
        if out.get(col) is not None:
            out[col] = json.loads(out[col])
    return out


class CatalogView:
    """What a source may ask of the catalog while it fetches: read-only questions, no SQL."""

    def __init__(self, catalog: Catalog, source: str):
        self._catalog, self._source = catalog, source
        self._hashes_held: bool | None = None  # whether the source's rows held any file hash when first asked
        self._named: dict[str, set[str]] | None = None

    def lookup(self, ids: list[str]) -> dict[str, dict]:
        return self._catalog.lookup(self._source, ids)

    def papers_to_fetch(self, stale_days: float, limit: int | None = None) -> list[str]:
        return self._catalog.papers_to_fetch(stale_days, limit)

    def repos_to_fetch(self, stale_days: float, limit: int | None = None) -> list[str]:
        return self._catalog.repos_to_fetch(stale_days, limit)

    def hubconf_repos(self) -> list[str]:
        return self._catalog.hubconf_repos()

    def weight_hashes(self, ids: list[str], read_before: bool = False) -> dict[str, dict]:
        """The hashes held before this run, and the commits whose files were read (a source
        carries them to its next records): none to look up, page after page, in a catalog that
        held none when the run began (a first import), unless the source says it read some
        (`read_before`: files read that held no hash leave no row in model_files)."""
        if self._hashes_held is None:
            self._hashes_held = self._catalog.holds_hashes(self._source)
        return self._catalog.weight_hashes(self._source, ids) if self._hashes_held or read_before else {}

    def same_size_peers(self, counts: list[int]) -> dict[int, list[dict]]:
        return self._catalog.same_size_peers(self._source, counts)

    def hashed_names_elsewhere(self) -> dict[str, set[str]]:
        """{a model name's last part, lower-case: the entities}: live rows of the other sources
        that hold a weight file's content hash (an NGC model's files), read once a run."""
        if self._named is None:
            self._named = self._catalog.hashed_names(except_source=self._source)
        return self._named

    def rows_named(self, names: list[str]) -> list[dict]:
        return self._catalog.rows_named(self._source, names)

    def files_unread(self, limit: int) -> list[str]:
        return self._catalog.files_unread(self._source, limit)


class ReadsMixin:
    """Reading the catalog: a row with its links, what a source already holds, and the questions sources ask."""

    def lookup(self, source: str, ids: list[str]) -> dict[str, dict]:
        """What the catalog holds for these ids of one source: sha, updated_at, removed_at."""
        out = {}
        for chunk in _chunks(list(ids), 900):
            for r in self.conn.execute(
                f"SELECT id, sha, updated_at, removed_at FROM models WHERE +source = ? "  # + : by id
                f"AND id IN ({', '.join('?' * len(chunk))})", (source, *chunk)):
                out[r[0]] = {"sha": r[1], "updated_at": r[2], "removed_at": r[3]}
        return out

    def weight_hashes(self, source: str, ids: list[str]) -> dict[str, dict]:
        """{id: {"sha": its commit, "entity": its entity, "siblings": [{"rfilename", "lfs": {"sha256"}}],
        "read": whether its files were read at that commit}} for these rows of a source that hold
        weight files with a content hash (the Hub's LFS sha256, read at that commit), or whose
        files were read at their commit and held none (extra's "files_read"): a source carries
        them to the next record of the same commit, and asks for neither again."""
        out: dict[str, dict] = {}
        for chunk in _chunks(list(ids), 900):
            for mid, sha, entity, read in self.conn.execute(
                    "SELECT id, sha, entity_id, json_extract(extra, '$.files_read') FROM models "
                    f"WHERE id IN ({', '.join('?' * len(chunk))}) AND source = ? AND extra LIKE '%files_read%'",
                    (*chunk, source)):
                if read is not None and read == sha:
                    out[mid] = {"sha": sha, "entity": entity, "siblings": [], "read": True}
            for mid, sha, entity, url, digest in self.conn.execute(
                    "SELECT m.id, m.sha, m.entity_id, f.url, f.sha256 FROM model_files f CROSS JOIN models m "
                    f"ON m.id = f.model_id WHERE f.model_id IN ({', '.join('?' * len(chunk))}) "
                    "AND f.sha256 IS NOT NULL AND m.source = ? ORDER BY f.model_id, f.url", (*chunk, source)):
                name = unquote(url.split("/resolve/", 1)[1].split("/", 1)[1]) if "/resolve/" in url else url
                held = out.setdefault(mid, {"sha": sha, "entity": entity, "siblings": [], "read": False})
                held["siblings"].append({"rfilename": name, "lfs": {"sha256": digest}})
        return out

    def holds_hashes(self, source: str) -> bool:
        """Whether any row of the source holds a weight file's content hash."""
        return self.conn.execute("SELECT 1 FROM model_files WHERE sha256 IS NOT NULL AND source = ? LIMIT 1",
                                 (source,)).fetchone() is not None

    def same_size_peers(self, source: str, counts: list[int]) -> dict[int, list[dict]]:
        """{parameter count: [{id, entity, library, task_raw, hashed}]}: the live rows of a source
        with one of these exact counts (whether each holds a weight file's hash, or had its files
        read at its commit). Nothing while a
        first load has deferred the index that finds them (a scan of every row per page)."""
        if self.conn.execute("SELECT 1 FROM deferred_indexes WHERE name = 'idx_models_params_m'").fetchone() \
                or not self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'idx_models_params_m'").fetchone():
            return {}
        out: dict[int, list[dict]] = {}
        wanted = sorted({int(n) for n in counts if isinstance(n, int) and n > 0})
        for chunk in _chunks(wanted, 400):
            marks = ", ".join("?" * len(chunk))
            rounded = sorted({round(n / 1e6, 2) for n in chunk})
            for mid, n, entity, library, task_raw, hashed in self.conn.execute(
                    "SELECT id, num_params, entity_id, library, task_raw, EXISTS (SELECT 1 FROM model_files f "
                    "WHERE f.model_id = models.id AND f.sha256 IS NOT NULL) "
                    "OR (extra LIKE '%files_read%' AND json_extract(extra, '$.files_read') IS sha) "
                    "FROM models INDEXED BY idx_models_params_m "
                    f"WHERE round(num_params / 1e6, 2) IN ({', '.join('?' * len(rounded))}) AND removed_at IS NULL "
                    f"AND num_params IN ({marks}) AND source = ?", (*rounded, *chunk, source)):
                out.setdefault(n, []).append({"id": mid, "entity": entity, "library": library,
                                              "task_raw": task_raw, "hashed": bool(hashed)})
        return out

    def hashed_names(self, except_source: str) -> dict[str, set[str]]:
        """{the last part of a row's name, lower-case: its entities} for the live rows of the other
        sources that hold a weight file's content hash (a Kaggle handle also as <model>-<variation>:
        google/gemma/transformers/2b, the Hub's google/gemma-2b). Names only choose where a hash
        request is spent; the bytes make the link."""
        out: dict[str, set[str]] = {}
        for name, entity in self.conn.execute(
                "SELECT DISTINCT m.name, m.entity_id FROM model_files f CROSS JOIN models m ON m.id = f.model_id "
                "WHERE f.sha256 IS NOT NULL AND f.source != ? AND m.removed_at IS NULL", (except_source,)):
            parts = name.strip("/").lower().split("/") if isinstance(name, str) else []
            if parts and parts[-1]:
                out.setdefault(parts[-1], set()).add(entity)
            if len(parts) == 4:  # a Kaggle handle, owner/model/framework/variation: its Hub copies
                out.setdefault(f"{parts[1]}-{parts[3]}", set()).add(entity)  # are often <model>-<variation>
        return out

    def rows_for_hashes(self, source: str, task: str | None = None):
        """(id, name, entity, parameters, library, task_raw, hashed) for each live row of a source
        (of one task, else every task), those of the same parameter count together (no count first):
        what `modelcat hashes` measures the hash-candidate rules on, streamed. hashed: holds a
        weight file's hash, or had its files read at its commit."""
        yield from self.conn.execute(
            "SELECT id, name, entity_id, num_params, library, task_raw, EXISTS (SELECT 1 FROM model_files f "
            "WHERE f.model_id = models.id AND f.sha256 IS NOT NULL) "
            "OR (extra LIKE '%files_read%' AND json_extract(extra, '$.files_read') IS sha) "
            # a task's rows by the task's index (+source: not the source's, every Hub row)
            "FROM models WHERE " + ("+source = ? AND task = ?" if task else "source = ?") + " AND removed_at IS NULL"
            + " ORDER BY num_params, library, task_raw", (source, task) if task else (source,))

    def entities_joined_by(self, evidence: str) -> set[str]:
        """The entities a link of this evidence ("same weights hash") joined another into."""
        return {r[0] for r in self.conn.execute(
            "SELECT DISTINCT merged_into FROM entity_merges WHERE evidence = ?", (evidence,))}

    def files_unread(self, source: str, limit: int) -> list[str]:
        """Ids of live rows of a source with a revision (`sha`) whose files were not read at it
        (extra's files_read), oldest written first: what a source's spare requests read next."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM models WHERE source = ? AND removed_at IS NULL AND sha IS NOT NULL "
            "AND (extra IS NULL OR json_extract(extra, '$.files_read') IS NOT sha) "
            "ORDER BY changed_at, id LIMIT ?", (source, max(0, int(limit))))]

    def rows_named(self, source: str, names: list[str]) -> list[dict]:
        """[{id, sha, entity, hashed}]: the live rows of a source (names owner/repo, as the Hub's)
        whose repository name, lower-case, is one of these; hashed: holds a weight file's hash or
        had its files read at its commit. One pass over the source's rows."""
        wanted = sorted({n.lower() for n in names if n})
        out: list[dict] = []
        for chunk in _chunks(wanted, 400):
            for mid, sha, entity, hashed in self.conn.execute(
                    "SELECT id, sha, entity_id, EXISTS (SELECT 1 FROM model_files f WHERE f.model_id = models.id "
                    "AND f.sha256 IS NOT NULL) OR (extra LIKE '%files_read%' AND json_extract(extra, '$.files_read') IS sha) "
                    "FROM models WHERE source = ? AND removed_at IS NULL "
                    f"AND lower(substr(name, instr(name, '/') + 1)) IN ({', '.join('?' * len(chunk))}) ORDER BY id",
                    (source, *chunk)):
                out.append({"id": mid, "sha": sha, "entity": entity, "hashed": bool(hashed)})
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

    # ------------------------------------------------------------------ any id
    def find(self, catalog_id: str) -> tuple[str, dict | None]:
        """(kind, row) for any catalog id: a model (an old, renamed id answers with what it became),
        a paper or a repository, with its links; the row is None when the catalog lacks it."""
        kind = id_kind(catalog_id)
        get = {"paper": self.get_paper, "repository": self.get_repo}.get(kind, self.get_model)
        return kind, get(catalog_id)

    def require(self, catalog_id: str) -> tuple[str, dict]:
        """find(), or NotFound naming up to five similar ids (or how to find one)."""
        kind, row = self.find(catalog_id)
        if row is None:
            close = self.similar_ids(catalog_id)
            hint = f" (similar: {', '.join(close)})" if close else (
                " (`modelcat search` finds ids)" if kind == "model" else "")
            raise NotFound(f"no {kind} {catalog_id!r} in the catalog{hint}")
        return kind, row

    def similar_ids(self, catalog_id: str, limit: int = 5) -> list[str]:
        """Ids of the same kind that contain what follows the prefix (3 characters or more; live
        models only), in order."""
        needle = catalog_id.split(":", 1)[-1]
        if len(needle) < 3:
            return []
        table = id_table(catalog_id)
        live = " AND removed_at IS NULL" if table == "models" else ""
        pattern = f"%{_like_escape(needle)}%"
        return [r[0] for r in self.conn.execute(
            f"SELECT id FROM {table} WHERE id LIKE ? ESCAPE '\\'{live} ORDER BY id LIMIT ?", (pattern, limit))]

    def hub_entrypoints(self, full_name: str) -> list[str]:
        """The live PyTorch Hub entrypoint rows of a GitHub repository (owner/name)."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM models WHERE source = 'torchhub' AND removed_at IS NULL AND id LIKE ? ESCAPE '\\' "
            "ORDER BY id", (f"torchhub:{_like_escape(full_name)}:%",))]

    def latest_runs(self) -> dict[str, dict]:
        """{source: its latest run row}."""
        return {r["source"]: dict(r) for r in self.conn.execute("SELECT * FROM latest_runs")}

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
        # what the papers it cites report on leaderboards: its own architecture's results first
        out["paper_results"] = [dict(r) for r in self.conn.execute(
            "SELECT paper_id, model_name, same_name, task, dataset_id, dataset_raw, metric, metric_raw, value, "
            "value_raw, extra_data, source FROM model_paper_results WHERE model_id = ? "
            f"ORDER BY same_name DESC, paper_id, task, dataset_raw, model_name, metric_raw LIMIT {PAPER_RESULTS_SHOWN}",
            (model_id,))]
        out["same_entity"] = [r[0] for r in self.conn.execute(
            "SELECT id FROM models WHERE entity_id = ? AND id != ? AND removed_at IS NULL ORDER BY id",
            (out["entity_id"], model_id))]
        # what each source says of the same weights (license above all: one file, two licenses is a
        # finding), and the evidence that made them one (store/evidence.py)
        out["same_weights"] = [dict(r) for r in self.conn.execute(
            "SELECT id, source, license, license_family, size_bytes, imagenet_top1, license_raw, task, num_params, "
            "size_is_estimate, dataset_ids FROM models "
            "WHERE entity_id = ? AND id != ? AND removed_at IS NULL ORDER BY id", (out["entity_id"], model_id))]
        try:
            out["entity_evidence"] = [dict(r) for r in self.conn.execute(
                "SELECT entity_id, evidence, value FROM entity_merges WHERE merged_into = ? ORDER BY entity_id",
                (out["entity_id"],))]
        except sqlite3.OperationalError:  # a catalog from before migration 0023
            out["entity_evidence"] = []
        out["aliases"] = [r[0] for r in self.conn.execute(
            "SELECT alias FROM model_aliases WHERE model_id = ? ORDER BY alias", (model_id,))]
        return out

    def get_paper(self, paper_id: str) -> dict | None:
        """A paper ("arxiv:<id>", a version suffix ignored) with the live models that name it and
        the code it names."""
        from ..normalize import arxiv_ids

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
            "SELECT r.id, r.full_name, r.stars, r.url, max(pr.official) AS official, max(pr.framework) AS framework "
            "FROM paper_repos pr JOIN repos r ON r.id = pr.repo_id WHERE pr.paper_id = ? GROUP BY r.id ORDER BY r.id",
            (out["id"],))]
        out["results"] = [dict(r) for r in self.conn.execute(
            "SELECT task, dataset_id, dataset_raw, model_name, metric, metric_raw, value, value_raw, extra_data, "
            "paper_date, source, origin FROM paper_results WHERE paper_id = ? "
            f"ORDER BY task, dataset_raw, model_name, metric_raw LIMIT {PAPER_RESULTS_SHOWN}", (out["id"],))]
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

    def counts(self) -> dict[str, int]:
        """Row counts of the catalog's tables (models: rows still listed by their source)."""
        out = {}
        for table in ("models", "datasets", "model_datasets", "metrics", "papers", "model_papers",
                      "model_relations", "model_aliases", "repos", "model_repos", "paper_repos", "runs", "model_speed"):
            out[table] = self.conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
        out["models_removed"] = self.conn.execute(
            "SELECT count(*) FROM models WHERE removed_at IS NOT NULL").fetchone()[0]
        return out
