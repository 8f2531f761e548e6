"""`modelcat check`: a sound catalog passes; each kind of damage is found, named, and makes the
command exit 1, without the check changing anything."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.errors import CatalogError
from indexer.store import Catalog


def run(db, *args):
    return CliRunner().invoke(cli, ["check", "--db", str(db), *args])


def results(db) -> dict:
    with Catalog.open(db, readonly=True, create=False) as cat:
        return {r.name: r for r in cat.check()}


def test_a_sound_catalog_passes(catalog_copy):
    before = hashlib.sha256(catalog_copy.read_bytes()).hexdigest()
    r = run(catalog_copy)
    assert r.exit_code == 0, r.output
    assert "19 of 19 checks passed" in r.output
    assert all(x.ok for x in results(catalog_copy).values())
    assert hashlib.sha256(catalog_copy.read_bytes()).hexdigest() == before  # read-only
    assert run(catalog_copy, "--quick").exit_code == 0


DAMAGE = {
    "foreign keys": "INSERT INTO metrics (model_id, dataset_raw, metric, metric_raw, value, source) "
                    "VALUES ('timm:nope', 'x', 'top1', 'x', 1, 'timm')",
    "children have a model": "INSERT INTO model_datasets (model_id, dataset_id, role, source) "
                             "VALUES ('timm:gone', 'imagenet-1k', 'train', 'timm')",
    "links have their target": "INSERT INTO model_papers (model_id, paper_id, source) "
                               "VALUES ('timm:resnet18.a1_in1k', 'arxiv:0000.00000', 'timm')",
    "ids name their source": "UPDATE models SET source = 'hf' WHERE id = 'timm:resnet18.a1_in1k'",
    "open follows the license family": "UPDATE models SET is_open = 0 WHERE id = 'timm:resnet18.a1_in1k'",
    "loadable rows have a backend": "UPDATE models SET load_backend = NULL WHERE id = 'timm:resnet18.a1_in1k'",
    "timestamps in order": "UPDATE models SET first_seen = '2999-01-01' WHERE id = 'timm:resnet18.a1_in1k'",
    "sizes and counts are sane": "UPDATE models SET size_bytes = -1 WHERE id = 'timm:resnet18.a1_in1k'",
    "one open run per source": "INSERT INTO runs (source, started_at, status) VALUES ('timm', 'a', 'running'), "
                               "('timm', 'b', 'running')",
    # a hand edit with the counting triggers dropped
    "facet counts follow the models": "UPDATE facet_counts SET n = n + 1 WHERE key = (SELECT max(key) FROM facet_counts)",
    "full-text models": "DELETE FROM models_fts_docsize WHERE id = (SELECT rowid FROM models LIMIT 1)",
    # what a first Hub import killed midway leaves (tests/test_first_load.py makes the real thing)
    "indexes": "INSERT INTO deferred_indexes (name, sql, source, deferred_at) "
               "SELECT name, sql, 'hf', 'a' FROM sqlite_master WHERE name = 'idx_models_library'",
}


@pytest.mark.parametrize("check", list(DAMAGE))
def test_each_kind_of_damage_is_found(catalog_copy, check):
    con = sqlite3.connect(catalog_copy)
    con.execute("PRAGMA foreign_keys = OFF")  # as a buggy writer or a hand edit would
    con.execute(DAMAGE[check])
    con.commit()
    con.close()
    found = results(catalog_copy)
    assert not found[check].ok and found[check].examples, check
    r = run(catalog_copy)
    assert r.exit_code == 1 and check in r.output
    out = json.loads(run(catalog_copy, "--json").stdout)
    assert {x["name"] for x in out if not x["ok"]} >= {check}


def test_a_damaged_file_is_reported(catalog_copy):
    data = bytearray(catalog_copy.read_bytes())
    page = 4096
    middle = len(data) // page // 2 * page
    data[middle:middle + page] = b"\xff" * page  # a page in the middle of the file overwritten with garbage
    catalog_copy.write_bytes(bytes(data))
    try:
        found = results(catalog_copy)
    except CatalogError as e:  # so broken that it cannot even be opened: also a clear error
        assert "malformed" in str(e) or "not a database" in str(e)
        return
    assert not all(r.ok for r in found.values())
    assert run(catalog_copy).exit_code == 1


def test_a_catalog_that_misses_migrations_says_the_next_refresh_applies_them(tmp_path):
    """A refresh killed while it created (or upgraded) the catalog leaves its first migrations
    applied, each one a transaction. check names the missing ones and the fix, rather than failing
    its invariants on tables that do not exist yet; the next refresh applies them."""
    db = tmp_path / "catalog.db"
    partial = Catalog(sqlite3.connect(db, isolation_level=None), db, readonly=False)
    assert partial.migrate(upto="0002_fts") == ["0001_initial", "0002_fts"]  # then the kill
    partial.close()
    found = results(db)
    assert not found["migrations"].ok and found["migrations"].problems >= 5
    assert "the next `modelcat refresh` applies it" in found["migrations"].examples[0]
    assert not any("could not run" in e for r in found.values() for e in r.examples)
    r = run(db)
    assert r.exit_code == 1 and "migrations" in r.output
    Catalog.open(db).close()  # what a refresh does first
    assert all(x.ok for x in results(db).values())


def test_repair_rebuilds_the_counts_the_pages_read(catalog_copy):
    """`modelcat check --repair`, which the counts checks name as the fix: the counts are rebuilt
    from the models and every check passes; the models themselves are untouched."""
    con = sqlite3.connect(catalog_copy)
    models = con.execute("SELECT * FROM models ORDER BY id").fetchall()
    con.execute("UPDATE facet_counts SET n = n + 1 WHERE key = (SELECT max(key) FROM facet_counts)")
    con.execute("UPDATE entity_facet_counts SET n = n + 5 WHERE key = (SELECT min(key) FROM entity_facet_counts)")
    con.execute("UPDATE source_counts SET models = models + 3")
    con.commit()
    bad = {name for name, r in results(catalog_copy).items() if not r.ok}
    assert bad == {"facet counts follow the models", "source counts follow the models"}, bad
    assert "check --repair" in " ".join(results(catalog_copy)["facet counts follow the models"].examples)
    assert any(e.startswith("distinct models ") for e in results(catalog_copy)["facet counts follow the models"].examples)
    r = run(catalog_copy, "--repair")
    assert r.exit_code == 0, r.output
    assert "rebuilt: facet counts, entities and their counts, source counts" in r.output
    assert all(x.ok for x in results(catalog_copy).values())
    assert sqlite3.connect(catalog_copy).execute("SELECT * FROM models ORDER BY id").fetchall() == models
