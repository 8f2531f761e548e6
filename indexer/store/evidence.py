"""One entity from evidence (issue #33): rows of several sources that name the same weights file
(model_files: the same URL), or files of the same content (the same sha256: a Hub repository and
its mirror), are one entity, whatever their ids say. A link is made from evidence
only, never from a name, and recorded with it (entity_merges: the entity folded, the one it was
folded into, the evidence and its value), so every later write of a row of the folded entity lands
in the one it joined, and a page can say why two ids are one model.

Which entity a group keeps (a stated rule, data in schema/entities.yml): the entity
of the row whose source comes first in that list (the weights' publisher before those that list
them again: torchvision before timm, timm before the Hub), then the smallest id.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Iterable

from .rows import _chunks

EVIDENCE_FILE = "same weights file"
EVIDENCE_HASH = "same weights hash"


@functools.lru_cache(maxsize=1)
def entity_precedence() -> dict[str, int]:
    from ..normalize.tables import load_table

    order = load_table("entities").get("entity_precedence") or []
    return {source: i for i, source in enumerate(order)}


def _rank(source: str, ident: str) -> tuple:
    order = entity_precedence()
    return (order.get(source, len(order)), ident)


def link_by_evidence(conn: sqlite3.Connection, model_ids: Iterable[str], now: str) -> set[str]:
    """After these rows were written: keep each in the entity its own was merged into, then merge
    the entities of live rows that name one file. The entities that gained or lost rows."""
    ids = sorted(set(model_ids))
    touched: set[str] = set()
    if not ids or not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'entity_merges'").fetchone():
        return touched  # a catalog from before migration 0023
    for chunk in _chunks(ids, 500):
        marks = ", ".join("?" * len(chunk))
        for old, new in conn.execute(
                f"SELECT m.entity_id, g.merged_into FROM models m JOIN entity_merges g ON g.entity_id = m.entity_id "
                f"WHERE m.id IN ({marks})", chunk).fetchall():
            touched.update((old, new))
        conn.execute(f"UPDATE models SET entity_id = (SELECT merged_into FROM entity_merges g "
                     f"WHERE g.entity_id = models.entity_id) WHERE id IN ({marks}) "
                     f"AND entity_id IN (SELECT entity_id FROM entity_merges)", chunk)
    urls, digests = set(), set()
    for chunk in _chunks(ids, 500):
        for url, digest in conn.execute(
                f"SELECT url, sha256 FROM model_files WHERE model_id IN ({', '.join('?' * len(chunk))})", chunk):
            urls.add(url)
            if digest:
                digests.add(digest)
    # the same URL, then the same content (the Hub's LFS sha256 of a weight file: a mirror or a
    # re-upload of the same bytes; a fine-tune's differ)
    for evidence, column, values in ((EVIDENCE_FILE, "url", urls), (EVIDENCE_HASH, "sha256", digests)):
        for value in sorted(values):
            members = conn.execute(
                "SELECT m.id, m.source, m.entity_id FROM model_files f CROSS JOIN models m ON m.id = f.model_id "
                f"WHERE f.{column} = ? AND m.removed_at IS NULL", (value,)).fetchall()
            entities = {e for _, _, e in members}
            if len(entities) < 2:
                continue
            keep = min(members, key=lambda r: _rank(r[1], r[0]))[2]
            for gone in sorted(entities - {keep}):
                _merge(conn, gone, keep, evidence, value, now)
                touched.update((gone, keep))
    return touched


def _merge(conn: sqlite3.Connection, gone: str, keep: str, evidence: str, value: str, now: str) -> None:
    """Fold entity `gone` into `keep`: its rows move, and so do the entities folded into it before."""
    conn.execute("INSERT OR REPLACE INTO entity_merges (entity_id, merged_into, evidence, value, found_at) "
                 "VALUES (?, ?, ?, ?, ?)", (gone, keep, evidence, value, now))
    conn.execute("UPDATE entity_merges SET merged_into = ? WHERE merged_into = ?", (keep, gone))
    conn.execute("DELETE FROM entity_merges WHERE entity_id = ?", (keep,))  # keep is an entity again
    conn.execute("UPDATE models SET entity_id = ? WHERE entity_id = ?", (keep, gone))
