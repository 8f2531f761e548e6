"""A big source's first load defers the catalog's secondary indexes and builds them at its end
(store.defer_indexes / restore_indexes, refresh.run_source); a load that does not finish never
leaves the catalog without them past the next refresh."""

from __future__ import annotations

import sqlite3

import pytest

from indexer.refresh import refresh
from indexer.sources.base import Checkpoint
from indexer.store import Catalog

from conftest import ListSource


def indexes(db) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx%'")}
    finally:
        conn.close()


class PagedSource(ListSource):
    """Pages of raws with a Checkpoint after each; `observe(page)` runs after each checkpoint, with
    the catalog as a reader sees it then; `interrupt_after` raises KeyboardInterrupt (a Ctrl-C, or
    what a kill leaves: committed pages) after that many pages."""

    bulk_first_load = True

    def __init__(self, name, pages, *, observe=None, interrupt_after=None, fail_after_pages=None):
        super().__init__(name, [r for p in pages for r in p])
        self.pages, self.observe = pages, observe
        self.interrupt_after, self.fail_after_pages = interrupt_after, fail_after_pages

    def fetch(self, ctx):
        done = ctx.state.get("pages", 0)
        for i, page in enumerate(self.pages[done:], start=done):
            yield from page
            yield Checkpoint({"pages": i + 1})
            if self.observe:
                self.observe(i)
            if self.interrupt_after == i + 1:
                raise KeyboardInterrupt
            if self.fail_after_pages == i + 1:
                raise ConnectionError("connection reset by peer (injected)")
        ctx.state["pages"] = 0


def pages(n_pages=3, per_page=5):
    return [[{"name": f"m{p}-{i}", "task": "image-classification", "size_bytes": 1000 * i,
              "datasets": ["imagenet-1k"], "tags": ["x"]} for i in range(per_page)] for p in range(n_pages)]


@pytest.fixture
def source(list_source):
    return lambda name, pages, **kw: list_source(name, pages, cls=PagedSource, **kw)


@pytest.fixture
def all_indexes(tmp_path) -> set[str]:
    with Catalog.open(tmp_path / "fresh.db"):
        pass
    found = indexes(tmp_path / "fresh.db")
    assert "idx_models_task_size" in found and "idx_model_datasets_dataset" in found
    return found


def test_first_load_builds_indexes_at_its_end(tmp_path, source, all_indexes, commit_each_page):
    db = tmp_path / "c.db"
    seen = []
    source("big", pages(), observe=lambda i: seen.append(indexes(db)))
    [r] = refresh(db, ["big"])
    assert r.status == "ok" and r.counts.new == 15
    # readers saw the pages without the deferred indexes (but with the one the writer reads) ...
    assert all("idx_models_task_size" not in s and "idx_models_source_uid" in s for s in seen)
    # ... and the catalog has every index at the end, and nothing noted as deferred
    assert indexes(db) == all_indexes
    with Catalog.open(db) as cat:
        assert cat.deferred_indexes() == {}
        assert all(c.ok for c in cat.check())
        # the indexes are real: the seed question's plan uses its index
        plan = " ".join(r[3] for r in cat.conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM models WHERE task = 'image-classification' ORDER BY size_bytes"))
        assert "idx_models_task_size" in plan


def test_later_runs_write_with_every_index(tmp_path, source, all_indexes):
    db = tmp_path / "c.db"
    seen = []
    src = source("big", pages(), observe=lambda i: seen.append(indexes(db)))
    refresh(db, ["big"])
    seen.clear()
    src.pages = pages(4)
    [r] = refresh(db, ["big"])
    assert r.status == "ok" and r.counts.new == 5
    assert seen and all(s == all_indexes for s in seen)


def test_interrupted_first_load_goes_on_as_one(tmp_path, source, all_indexes, commit_each_page):
    db = tmp_path / "c.db"
    src = source("big", pages(), interrupt_after=1)
    with pytest.raises(KeyboardInterrupt):
        refresh(db, ["big"])
    # what an interrupted (or killed) load leaves: its committed page, the indexes noted
    with Catalog.open(db) as cat:
        assert cat.counts()["models"] == 5
        deferred = cat.deferred_indexes()
        assert "idx_models_task_size" in deferred and set(deferred.values()) == {"big"}
        problems = {c.name: c for c in cat.check() if not c.ok}
        assert set(problems) == {"indexes"}
        assert "the next `modelcat refresh` builds it" in problems["indexes"].examples[0]
    seen = []
    src.interrupt_after, src.observe = None, lambda i: seen.append(indexes(db))
    [r] = refresh(db, ["big"])
    assert r.status == "ok" and r.counts.new == 10  # resumed at page 2
    assert seen and all("idx_models_task_size" not in s for s in seen)  # still a first load
    assert indexes(db) == all_indexes
    with Catalog.open(db) as cat:
        assert all(c.ok for c in cat.check()) and cat.counts()["models"] == 15


def test_another_source_rebuilds_what_an_unfinished_load_left(tmp_path, source, list_source, all_indexes, commit_each_page):
    db = tmp_path / "c.db"
    source("big", pages(), interrupt_after=1)
    with pytest.raises(KeyboardInterrupt):
        refresh(db, ["big"])
    assert indexes(db) != all_indexes
    list_source("small", [{"name": "a", "task": "image-classification"}])
    [r] = refresh(db, ["small"])
    assert r.status == "ok"
    assert indexes(db) == all_indexes
    with Catalog.open(db) as cat:
        assert cat.deferred_indexes() == {} and all(c.ok for c in cat.check())


def test_failed_first_load_keeps_its_pages_and_gets_its_indexes_back(tmp_path, source, all_indexes, commit_each_page):
    db = tmp_path / "c.db"
    source("big", pages(), fail_after_pages=2)
    [r] = refresh(db, ["big"])
    assert r.status == "failed" and "connection reset" in r.error
    assert indexes(db) == all_indexes
    with Catalog.open(db) as cat:
        assert cat.counts()["models"] == 10 and cat.deferred_indexes() == {} and all(c.ok for c in cat.check())


def test_failure_before_the_first_page_rolls_the_drop_back(tmp_path, source, all_indexes):
    db = tmp_path / "c.db"
    src = source("big", pages())

    def boom(ctx):  # fails before its first page: the drop is rolled back with the transaction
        raise ConnectionError("no route to host (injected)")
        yield

    src.fetch = boom
    [r] = refresh(db, ["big"])
    assert r.status == "failed"
    assert indexes(db) == all_indexes


def test_an_unfinished_load_survives_the_migration_that_redefines_indexes(tmp_path, all_indexes):
    """Migration 0009 replaces some indexes (facets, issue 8). In a catalog that a killed first load
    left with those indexes dropped, the migration builds the new ones, keeps the note of the
    others, and the next refresh rebuilds those: nothing fails, nothing stays missing."""
    import shutil

    from indexer.paths import schema_dir

    old = tmp_path / "migrations"
    old.mkdir()
    for f in sorted((schema_dir() / "migrations").glob("*.sql")):
        if f.name < "0009":
            shutil.copy(f, old / f.name)
    db = tmp_path / "c.db"
    with Catalog.open(db, migrations_dir=old) as cat, cat.transaction():
        cat.defer_indexes("hf")
    assert "idx_models_library" not in indexes(db)
    with Catalog.open(db) as cat:  # migrates to 0009 and on
        left = set(cat.deferred_indexes())
        assert "idx_models_task_size" in left and "idx_models_library" not in left
        assert "idx_models_library" in indexes(db) and "idx_models_license" in indexes(db)
        with cat.transaction():
            cat.restore_indexes()
        assert not cat.deferred_indexes()
        assert all(r.ok for r in cat.check(quick=True)), [r for r in cat.check(quick=True) if not r.ok]
    assert indexes(db) == all_indexes
